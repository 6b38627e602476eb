"""2-d pooling as ``torch.nn.functional``: ``max_pool2d`` (indices kept for the backward,
optionally returned), ``avg_pool2d`` and ``adaptive_avg_pool2d``, on (N, C, H, W) or
(C, H, W) inputs."""
import numbers

from pydl import _C
from pydl._C import ArgumentError
from pydl._dtype import float64, int32, int64, uint8
from pydl.autograd.function import Function
from pydl.nn.functional.conv import _pair, _tensor
from pydl.tensor import _wrap

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]


def _stride(stride, kernel_size, op):
    """stride=None (or an empty list) means the kernel size, as PyTorch."""
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        return kernel_size
    return _pair(stride, "stride", op)


class MaxPool2d(Function):
    """Values and indices come computed; the gradient goes back to the indices (the window, for
    the CUDA kernel that gathers it)."""

    @staticmethod
    def forward(ctx, x, values, indices, window):
        ctx.indices, ctx.shape, ctx.window = indices, x._a.shape, window
        return _wrap(values)

    @staticmethod
    def backward(ctx, g):
        return _wrap(_C.max_pool2d_backward(g._a, ctx.indices, ctx.shape, *ctx.window)), None, None, None


def max_pool_window(kernel_size, stride, padding, dilation):
    """max_pool2d's (kernel, stride, padding, dilation) as the pairs _C takes."""
    k = _pair(kernel_size, "kernel_size", "max_pool2d")
    return (k, _stride(stride, k, "max_pool2d"), _pair(padding, "padding", "max_pool2d"),
            _pair(dilation, "dilation", "max_pool2d"))


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Window maxima; with return_indices, also their flat positions within each H x W plane."""
    _tensor(input, "input", "max_pool2d")
    window = max_pool_window(kernel_size, stride, padding, dilation)
    if input.dtype in (uint8, int32, int64):  # integers: pooled exactly through float64
        if input.dtype == int64 and input.numel() and input.abs().amax().item() > 2 ** 53:
            raise ArgumentError("max_pool2d: int64 values beyond 2**53 are not supported")
        values, indices = _C.max_pool2d(input._a.astype(float64.code), *window, bool(ceil_mode))
        out = _wrap(values.astype(input.dtype.code))
    else:
        values, indices = _C.max_pool2d(input._a, *window, bool(ceil_mode))
        out = MaxPool2d.apply(input, values, indices, window)
    return (out, _wrap(indices)) if return_indices else out


class AvgPool2d(Function):
    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor):
        ctx.args = (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor)
        ctx.shape = x._a.shape
        return _wrap(_C.avg_pool2d(x._a, *ctx.args))

    @staticmethod
    def backward(ctx, g):
        return (_wrap(_C.avg_pool2d_backward(g._a, ctx.shape, *ctx.args)),) + (None,) * 6


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Window means; padded zeros count in the divisor unless count_include_pad=False."""
    _tensor(input, "input", "avg_pool2d")
    k = _pair(kernel_size, "kernel_size", "avg_pool2d")
    divisor = 0
    if divisor_override is not None:
        if not isinstance(divisor_override, numbers.Integral) or isinstance(divisor_override, bool) \
                or divisor_override <= 0:
            raise ArgumentError(f"avg_pool2d: divisor_override must be a positive int, got {divisor_override!r}")
        divisor = int(divisor_override)
    return AvgPool2d.apply(input, k, _stride(stride, k, "avg_pool2d"), _pair(padding, "padding", "avg_pool2d"),
                           bool(ceil_mode), bool(count_include_pad), divisor)


class AdaptiveAvgPool2d(Function):
    @staticmethod
    def forward(ctx, x, output_size):
        ctx.shape = x._a.shape
        return _wrap(_C.adaptive_avg_pool2d(x._a, output_size))

    @staticmethod
    def backward(ctx, g):
        return _wrap(_C.adaptive_avg_pool2d_backward(g._a, ctx.shape)), None


def adaptive_avg_pool2d(input, output_size):
    """Means over windows that tile the input into output_size (an int or a pair; None keeps that
    input size); output_size 1 is the global average pool."""
    _tensor(input, "input", "adaptive_avg_pool2d")
    shape = input._a.shape
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        output_size = [shape[-2 + i] if s is None and len(shape) >= 2 else s for i, s in enumerate(output_size)]
    return AdaptiveAvgPool2d.apply(input, _pair(output_size, "output_size", "adaptive_avg_pool2d"))
