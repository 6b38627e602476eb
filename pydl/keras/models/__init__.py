"""pydl.keras.models: Model (subclassed or functional) and Sequential."""
from pydl.keras.models.model import Model
from pydl.keras.models.sequential import Sequential

__all__ = ["Model", "Sequential"]
