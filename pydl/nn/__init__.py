"""Neural-network building blocks."""
from pydl.nn import functional  # noqa: F401
