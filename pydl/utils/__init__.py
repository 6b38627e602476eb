"""Training utilities: early stopping and metrics."""
from pydl.utils.training import EarlyStopping, accuracy

__all__ = ["EarlyStopping", "accuracy"]
