"""pydl.keras: Keras's API (Sequential, functional and subclassed models, layers, optimizers, losses,
metrics, callbacks, GradientTape) over pydl.nn / optim / autograd, as Keras 3 runs over PyTorch:
code written for tf.keras ports by replacing `tf.keras` with `pydl.keras` (and `tf.matmul`,
`tf.math.sigmoid` with `pydl.matmul`, `pydl.sigmoid`; `tf.GradientTape` with `pydl.keras.GradientTape`)."""
from pydl.keras import activations, backend, callbacks, initializers, layers, losses, metrics, optimizers, utils
from pydl.keras.layers import Input, Layer, Variable
from pydl.keras.models import Model, Sequential
from pydl.keras.tape import GradientTape
from pydl.keras import models  # noqa: E402

__all__ = ["GradientTape", "Input", "Layer", "Model", "Sequential", "Variable", "activations", "backend",
           "callbacks", "initializers", "layers", "losses", "metrics", "models", "optimizers", "utils"]
