"""Activations and softmax, as ``torch.nn.functional``: each one kernel forward and one
kernel backward (dx from dy and the saved input or output, in one pass)."""
from pydl import _C
from pydl.autograd.function import Function
from pydl.autograd.grad_mode import state as grad_state
from pydl.tensor import _wrap

__all__ = ["relu", "relu_", "leaky_relu", "leaky_relu_", "sigmoid", "tanh", "softplus", "gelu", "softmax",
           "log_softmax"]

# Activation codes, in the order of the enum in kernels/common/activation.h.
IDENTITY, RELU, LEAKY_RELU, SIGMOID, TANH, SOFTPLUS, GELU, GELU_TANH = range(8)
_FROM_OUTPUT = (SIGMOID, TANH)  # differentiated from the output; the others from the input


class Activation(Function):
    """y = act(x) with up to two parameters (p0, p1); the backward kernel takes dy and
    the input (or, for sigmoid and tanh, the output)."""

    @staticmethod
    def forward(ctx, x, act, p0, p1):
        y = _C.activation(act, x._a, p0, p1)
        ctx.act, ctx.p0, ctx.p1 = act, p0, p1
        ctx.saved = y if act in _FROM_OUTPUT else x._a
        return _wrap(y)

    @staticmethod
    def backward(ctx, g):
        return _wrap(_C.activation_backward(ctx.act, g._a, ctx.saved, ctx.p0, ctx.p1)), None, None, None


def _in_place(x, act, p0):
    """act(x) written into x, as PyTorch's inplace=True. Where autograd records x it would
    need x's old value, so the result is computed out of place instead (as ``x += y`` does):
    use the returned tensor, as in ``x = F.relu(x, inplace=True)``."""
    if grad_state.enabled and x.requires_grad:
        return Activation.apply(x, act, p0, 0.0)
    x._a.copy_(_C.activation(act, x._a, p0, 0.0))
    return x


def relu(input, inplace=False):
    if inplace:
        return _in_place(input, RELU, 0.0)
    return Activation.apply(input, RELU, 0.0, 0.0)


def relu_(input):
    return relu(input, inplace=True)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    if inplace:
        return _in_place(input, LEAKY_RELU, float(negative_slope))
    return Activation.apply(input, LEAKY_RELU, float(negative_slope), 0.0)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def sigmoid(input):
    return Activation.apply(input, SIGMOID, 0.0, 0.0)


def tanh(input):
    return Activation.apply(input, TANH, 0.0, 0.0)


def softplus(input, beta=1.0, threshold=20.0):
    return Activation.apply(input, SOFTPLUS, float(beta), float(threshold))


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Activation.apply(input, GELU if approximate == "none" else GELU_TANH, 0.0, 0.0)


# ---------------------------------------------------------------------- softmax
class Softmax(Function):
    @staticmethod
    def forward(ctx, x, dim, log):
        y = _C.softmax(x._a, dim, log)
        ctx.y, ctx.dim, ctx.log = y, dim, log
        return _wrap(y)

    @staticmethod
    def backward(ctx, g):
        return _wrap(_C.softmax_backward(ctx.y, g._a, ctx.dim, ctx.log)), None, None


def _softmax_dim(ndim, name):
    """PyTorch's implicit choice when dim is None (deprecated there, kept for porting)."""
    import warnings

    warnings.warn(f"{name}: implicit dimension choice is deprecated; pass dim explicitly", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def _softmax(input, dim, dtype, log, name):
    if dim is None:
        dim = _softmax_dim(input.dim(), name)
    if dtype is not None:
        input = input.to(dtype)
    return Softmax.apply(input, int(dim), log)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _softmax(input, dim, dtype, False, "softmax")


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _softmax(input, dim, dtype, True, "log_softmax")
