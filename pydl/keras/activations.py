"""Activations by name, as keras.activations: get('relu') -> a function of a pydl Tensor."""
import pydl
from pydl.nn import functional as F


def linear(x):
    return x


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return F.relu(x)
    y = pydl.where(x >= threshold, x, (x - threshold) * negative_slope)
    return y if max_value is None else y.clamp(max=max_value)


def sigmoid(x):
    return pydl.sigmoid(x)


def tanh(x):
    return pydl.tanh(x)


def softmax(x, axis=-1):
    return F.softmax(x, dim=axis)


def log_softmax(x, axis=-1):
    return F.log_softmax(x, dim=axis)


def elu(x, alpha=1.0):
    return F.elu(x, alpha)


def selu(x):
    return F.selu(x)


def softplus(x):
    return F.softplus(x)


def softsign(x):
    return F.softsign(x)


def silu(x):
    return F.silu(x)


def gelu(x, approximate=False):
    return F.gelu(x, approximate="tanh" if approximate else "none")


def leaky_relu(x, negative_slope=0.2):  # Keras's default slope (PyTorch's is 0.01)
    return F.leaky_relu(x, negative_slope)


def relu6(x):
    return F.relu6(x)


def hard_sigmoid(x):  # Keras 3: relu6(x + 3) / 6, PyTorch's hardsigmoid
    return F.hardsigmoid(x)


def hard_silu(x):
    return F.hardswish(x)


def mish(x):
    return F.mish(x)


def exponential(x):
    return pydl.exp(x)


swish = silu
hard_swish = hard_silu

_BY_NAME = {f.__name__: f for f in (linear, relu, sigmoid, tanh, softmax, log_softmax, elu, selu, softplus, softsign,
                                    silu, gelu, leaky_relu, relu6, hard_sigmoid, hard_silu, mish, exponential)}
_BY_NAME.update(swish=silu, hard_swish=hard_silu)


def get(identifier):
    """A function from a name ('relu'), a callable (returned as is) or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        try:
            return _BY_NAME[identifier]
        except KeyError:
            raise ValueError(f"pydl.keras.activations: unknown activation '{identifier}'; known: "
                             f"{', '.join(sorted(_BY_NAME))}") from None
    if callable(identifier):
        return identifier
    raise TypeError(f"pydl.keras.activations: expected a name or a callable, got {type(identifier).__name__}")


def serialize(fn):
    return getattr(fn, "__name__", type(fn).__name__)
