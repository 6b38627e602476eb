"""``F.pad``: constant, reflect, replicate and circular padding of the last dims, as PyTorch.

Constant padding concatenates blocks of the value; the other modes pick, along each padded
dim, the source of every output position (one resampling pass, whose backward adds the
gradient back onto the sources). A negative pad crops."""
import numpy as np

from pydl._C import ArgumentError

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


def _pad_constant(x, dim, before, after, value):
    from pydl.creation import full
    from pydl.ops.shape import cat, narrow

    size = x.shape[dim]
    if before < 0 or after < 0:
        x = narrow(x, dim, -min(before, 0), size + min(before, 0) + min(after, 0))
    parts = []
    for n in (before, None, after):
        if n is None:
            parts.append(x)
        elif n > 0:
            shape = list(x.shape)
            shape[dim] = n
            parts.append(full(shape, value, dtype=x.dtype, device=x.device))
    return cat(parts, dim) if len(parts) > 1 else x


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
    x = input
    for k in range(len(pad) // 2):
        dim, before, after = input.dim() - 1 - k, pad[2 * k], pad[2 * k + 1]
        if before == 0 and after == 0:
            continue
        _check_pads(mode, x.shape[dim], before, after, dim)
        if mode == "constant":
            x = _pad_constant(x, dim, before, after, 0 if value is None else value)
            continue
        x = resample(x, dim, _source_index(mode, x.shape[dim], before, after))
    return x
