"""Backend switches, as ``torch.backends``: ``pydl.backends.cuda.matmul.allow_tf32``."""
from pydl.backends import cuda  # noqa: F401
