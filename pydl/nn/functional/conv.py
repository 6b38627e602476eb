"""``conv2d`` as ``torch.nn.functional.conv2d``: NCHW (or unbatched CHW) input, weight
(C_out, C_in / groups, kH, kW), optional bias; kernels for the forward, the input gradient and
the weight gradient on the CPU and CUDA. ``conv2d_relu`` applies a ReLU in the same pass (on
CUDA in the kernel's write-back)."""
import numbers

from pydl import _C
from pydl._C import ArgumentError
from pydl.autograd.function import Function
from pydl.ops._util import Unary
from pydl.tensor import Tensor, _wrap

__all__ = ["conv2d"]


def _pair(v, name, op):
    """An int or a pair of ints as the [h, w] list _C takes."""
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return [int(v), int(v)]
    if isinstance(v, (tuple, list)) and len(v) == 2 and all(
            isinstance(e, numbers.Integral) and not isinstance(e, bool) for e in v):
        return [int(v[0]), int(v[1])]
    error = ArgumentError if isinstance(v, (tuple, list)) else TypeError
    raise error(f"{op}: expected {name} as an int or a pair of ints, got {v!r}")


def _tensor(x, name, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected {name} to be a Tensor, got {type(x).__name__}")
    return x


def _padding(padding, weight, stride, dilation):
    """[h, w], or [top, left, bottom, right] for padding='same' with an even kernel extent."""
    if isinstance(padding, str):
        if padding == "valid":
            return [0, 0]
        if padding != "same":
            raise ArgumentError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
        if stride != [1, 1]:
            raise ArgumentError("conv2d: padding='same' is not supported for strided convolutions")
        shape = weight._a.shape
        if len(shape) != 4:
            raise ArgumentError(f"conv2d: expected a 4-d weight (C_out, C_in / groups, kH, kW), got shape {shape}")
        total = [d * (k - 1) for d, k in zip(dilation, shape[2:])]
        lo = [t // 2 for t in total]
        hi = [t - a for t, a in zip(total, lo)]
        return lo if lo == hi else lo + hi
    return _pair(padding, "padding", "conv2d")


class Conv2d(Function):
    """Saves only what each requested gradient needs: the weight for the input's, the input
    for the weight's, nothing for the bias's (and the output when a ReLU is fused)."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups, relu):
        need = ctx.needs_input_grad
        ctx.args = (stride, padding, dilation, groups)
        ctx.x = x._a if need[1] else None
        ctx.w = weight._a if need[0] else None
        ctx.x_shape, ctx.w_shape = x._a.shape, weight._a.shape
        out = _C.conv2d(x._a, weight._a, None if bias is None else bias._a, stride, padding, dilation, groups, relu)
        ctx.out = out if relu else None
        return _wrap(out)

    @staticmethod
    def backward(ctx, g):
        g = g._a
        if ctx.out is not None:  # ReLU's backward from its output: y > 0 exactly where the input is
            g = _C.unary_backward(Unary.RELU, g, ctx.out)
        need = ctx.needs_input_grad
        gx = _wrap(_C.conv2d_backward_input(g, ctx.w, ctx.x_shape, *ctx.args)) if need[0] else None
        gw = _wrap(_C.conv2d_backward_weight(g, ctx.x, ctx.w_shape, *ctx.args)) if need[1] else None
        gb = _wrap(_C.conv2d_backward_bias(g)) if need[2] else None
        return gx, gw, gb, None, None, None, None, None


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d cross-correlation, as torch.nn.functional.conv2d (padding: int, pair, 'valid' or 'same')."""
    return _conv2d(input, weight, bias, stride, padding, dilation, groups, False)


def conv2d_relu(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``relu(conv2d(...))`` in one pass (what nn.Sequential fuses Conv2d + ReLU into)."""
    return _conv2d(input, weight, bias, stride, padding, dilation, groups, True)


def _conv2d(input, weight, bias, stride, padding, dilation, groups, relu):
    _tensor(input, "input", "conv2d")
    _tensor(weight, "weight", "conv2d")
    if bias is not None:
        _tensor(bias, "bias", "conv2d")
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool):
        raise TypeError(f"conv2d: expected groups to be an int, got {groups!r}")
    stride = _pair(stride, "stride", "conv2d")
    dilation = _pair(dilation, "dilation", "conv2d")
    padding = _padding(padding, weight, stride, dilation)
    return Conv2d.apply(input, weight, bias, stride, padding, dilation, int(groups), relu)
