"""Training utilities: early stopping and metrics; ``pydl.utils.data`` is ``pydl.data``."""
from pydl.utils import data  # noqa: F401  (pydl.data under torch.utils.data's name)
from pydl.utils.training import EarlyStopping, accuracy

__all__ = ["EarlyStopping", "accuracy"]
