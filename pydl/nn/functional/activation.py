"""Activations and softmax, as ``torch.nn.functional``. The activations are the pointwise
family (pydl/ops/unary.py): one registry entry each, one kernel forward and one kernel
backward (dx from dy and the saved input or output, in one pass); sigmoid and tanh are the
very functions pydl.sigmoid and pydl.tanh, relu is pydl.relu's op with PyTorch's inplace=."""
from pydl import _C
from pydl._C import ArgumentError
from pydl.autograd.function import Function
from pydl.ops.unary import FUNCTIONS, Relu, in_place, sigmoid, tanh
from pydl.tensor import _wrap

__all__ = ["relu", "relu_", "leaky_relu", "leaky_relu_", "sigmoid", "tanh", "softplus", "gelu", "silu", "softmax",
           "log_softmax", "elu", "selu", "celu", "hardtanh", "relu6", "hardsigmoid", "hardswish", "softsign",
           "logsigmoid", "mish", "prelu"]

U = _C.Unary
LeakyRelu, Softplus, Gelu, GeluTanh = FUNCTIONS[U.LEAKY_RELU], FUNCTIONS[U.SOFTPLUS], FUNCTIONS[U.GELU], \
    FUNCTIONS[U.GELU_TANH]
Silu, Elu, Celu, Hardtanh = FUNCTIONS[U.SILU], FUNCTIONS[U.ELU], FUNCTIONS[U.CELU], FUNCTIONS[U.HARDTANH]
Hardsigmoid, Hardswish, Mish = FUNCTIONS[U.HARDSIGMOID], FUNCTIONS[U.HARDSWISH], FUNCTIONS[U.MISH]
Softsign, Logsigmoid = FUNCTIONS[U.SOFTSIGN], FUNCTIONS[U.LOGSIGMOID]
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def relu(input, inplace=False):
    """pydl.relu, with PyTorch's inplace= (see in_place in pydl/ops/unary.py)."""
    return in_place(Relu, input) if inplace else Relu.apply(input)


def relu_(input):
    return relu(input, inplace=True)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    if inplace:
        return in_place(LeakyRelu, input, float(negative_slope))
    return LeakyRelu.apply(input, float(negative_slope))


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def softplus(input, beta=1.0, threshold=20.0):
    return Softplus.apply(input, float(beta), float(threshold))


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ArgumentError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return (Gelu if approximate == "none" else GeluTanh).apply(input)


def silu(input, inplace=False):
    return in_place(Silu, input) if inplace else Silu.apply(input)


def _apply(fn, input, inplace, *params):
    return in_place(fn, input, *params) if inplace else fn.apply(input, *params)


def elu(input, alpha=1.0, inplace=False):
    return _apply(Elu, input, inplace, float(alpha), 1.0)


def selu(input, inplace=False):
    return _apply(Elu, input, inplace, SELU_ALPHA, SELU_SCALE)


def celu(input, alpha=1.0, inplace=False):
    if alpha == 0:
        raise ArgumentError("celu: alpha must not be 0")
    return _apply(Celu, input, inplace, float(alpha))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ArgumentError(f"hardtanh: min_val {min_val} must not exceed max_val {max_val}")
    return _apply(Hardtanh, input, inplace, float(min_val), float(max_val))


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input, inplace=False):
    return _apply(Hardsigmoid, input, inplace)


def hardswish(input, inplace=False):
    return _apply(Hardswish, input, inplace)


def softsign(input):
    return Softsign.apply(input)


def logsigmoid(input):
    return Logsigmoid.apply(input)


def mish(input, inplace=False):
    return _apply(Mish, input, inplace)


def prelu(input, weight):
    """max(0, x) + weight * min(0, x), weight one slope or one per channel (dim 1)."""
    from pydl.ops.elementwise import where

    if weight.numel() != 1:
        channels = input.shape[1] if input.dim() >= 2 else input.numel() if input.dim() == 1 else 1
        if weight.dim() != 1 or weight.numel() != channels:
            raise ArgumentError(f"prelu: expected one weight or {channels} (one per channel), got shape "
                                f"{tuple(weight.shape)}")
        weight = weight.reshape([channels] + [1] * (input.dim() - 2)) if input.dim() >= 2 else weight
    return where(input > 0, input, weight * input)


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
