"""Backend switches, as ``torch.backends``: ``pydl.backends.cuda.matmul.allow_tf32``."""
from pydl.backends import cpu, cuda  # noqa: F401
