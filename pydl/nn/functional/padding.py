"""``F.pad``: constant, reflect, replicate and circular padding of the last dims, as PyTorch.

Constant padding writes the input into a tensor of the value (one fill and one copy for all
dims); the other modes pick, along each padded dim, the source of every output position (one
resampling pass, whose backward adds the gradient back onto the sources). A negative pad crops."""
import numpy as np

from pydl import _C
from pydl._C import ArgumentError
from pydl.autograd.function import Function
from pydl.tensor import _wrap

__all__ = ["pad"]


def _source_index(mode, size, before, after):
    """Where each output position of a dim of `size` padded by (before, after) reads from."""
    i = np.arange(-before, size + after, dtype=np.int64)
    if mode == "reflect":
        i = np.abs(i)
        return np.where(i >= size, 2 * (size - 1) - i, i)
    if mode == "replicate":
        return np.clip(i, 0, size - 1)
    return i % size  # circular


def _check_pads(mode, size, before, after, dim):
    if size + min(before, 0) + min(after, 0) < 0:
        raise ArgumentError(f"pad: padding ({before}, {after}) crops more than the {size} entries of dim {dim}")
    if mode == "constant":
        return
    if size == 0:
        raise ArgumentError(f"pad: {mode} padding of dim {dim} needs a non-empty input, got size 0")
    limit = {"reflect": size - 1, "circular": size, "replicate": None}[mode]
    if limit is not None and (before > limit or after > limit):
        raise ArgumentError(f"pad: {mode} padding ({before}, {after}) of dim {dim} must be at most {limit} "
                            f"for a dim of size {size}")


class ConstantPad(Function):
    """x written into a tensor of the value, all padded dims at once (one fill, one copy); the
    gradient is the same window of the incoming one."""

    @staticmethod
    def forward(ctx, x, window, value):
        shape = list(x._a.shape)
        for dim, before, after in window:
            shape[dim] += before + after
        out = _C.full(shape, value, x._a.dtype, x._a.device)
        ctx.window, ctx.shape = window, x._a.shape
        _window(out, window, ctx.shape).copy_(x._a)
        return _wrap(out)

    @staticmethod
    def backward(ctx, g):
        return _wrap(_window(g._a, ctx.window, ctx.shape)), None, None


def _window(a, window, shape):
    for dim, before, _ in window:
        a = a.slice(dim, before, before + shape[dim], 1)
    return a


def _pad_constant(x, pads, value):
    """pads: (dim, before, after) triples; negative ones crop first."""
    from pydl.ops.shape import narrow

    for dim, before, after in pads:
        if before < 0 or after < 0:
            x = narrow(x, dim, -min(before, 0), x.shape[dim] + min(before, 0) + min(after, 0))
    window = [(dim, max(before, 0), max(after, 0)) for dim, before, after in pads if max(before, 0) + max(after, 0)]
    return ConstantPad.apply(x, window, value) if window else x


def pad(input, pad, mode="constant", value=None):
    """Pads input's last len(pad) // 2 dims: pad = (last_before, last_after, prev_before, ...)."""
    from pydl.ops.indexing import resample

    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > input.dim():
        raise ArgumentError(f"pad: expected an even number of pads, at most 2 per dim of the {input.dim()}-d "
                            f"input, got {len(pad)}")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ArgumentError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    if mode != "constant":
        if value:
            raise ArgumentError(f"pad: a value is only taken by constant padding, got {value} for {mode}")
        if len(pad) // 2 > 3 or input.dim() - len(pad) // 2 not in (1, 2):
            raise ArgumentError(f"pad: {mode} padding of {len(pad) // 2} dims takes a {len(pad) // 2 + 1}-d or "
                                f"{len(pad) // 2 + 2}-d input (1 to 3 dims, after a channel dim and an optional "
                                f"batch dim), got {input.dim()}-d")
    pads = [(input.dim() - 1 - k, pad[2 * k], pad[2 * k + 1]) for k in range(len(pad) // 2)]
    for dim, before, after in pads:
        _check_pads(mode, input.shape[dim], before, after, dim)
    if mode == "constant":
        return _pad_constant(input, pads, 0 if value is None else value)
    x = input
    for dim, before, after in pads:
        if before or after:
            x = resample(x, dim, _source_index(mode, x.shape[dim], before, after))
    return x
