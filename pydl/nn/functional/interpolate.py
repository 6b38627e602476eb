"""``F.interpolate``: nearest, nearest-exact and (bi/tri)linear resizing of the spatial dims
of (N, C, ...) inputs, with PyTorch's source coordinates.

Each mode is separable, so the spatial dims are resized one after the other, one resampling
pass each: nearest picks one source per output position, linear blends two neighbours with
weights computed once per dim (kernels/common/resample.h). The backward of both adds the
gradient back onto the sources."""
import math
import numbers

import numpy as np

from pydl._C import ArgumentError, DTypeError

__all__ = ["interpolate"]

_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _output_sizes(op, spatial, size, scale_factor):
    if (size is None) == (scale_factor is None):
        raise ArgumentError(f"{op}: give exactly one of size and scale_factor")
    if size is not None:
        sizes = [size] * len(spatial) if isinstance(size, numbers.Integral) else list(size)
        scales = [None] * len(spatial)
    else:
        scales = ([scale_factor] * len(spatial) if isinstance(scale_factor, numbers.Number)
                  else list(scale_factor))
        sizes = [int(math.floor(n * s)) for n, s in zip(spatial, scales)] if len(scales) == len(spatial) else []
    if len(sizes) != len(spatial):
        raise ArgumentError(f"{op}: expected {len(spatial)} output sizes or scale factors for an input with "
                            f"{len(spatial)} spatial dims, got {size if size is not None else scale_factor}")
    if any(n <= 0 for n in sizes):
        raise ArgumentError(f"{op}: output sizes must be positive, got {tuple(sizes)}")
    return sizes, scales


def _scale(in_size, out_size, scale, align_corners):
    """PyTorch's ratio from output to source coordinates (area_pixel_compute_scale)."""
    if align_corners:
        return (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else in_size / out_size


def _nearest_index(in_size, out_size, scale, exact):
    ratio = np.float32(1.0 / scale if scale is not None and scale > 0 else in_size / out_size)
    dst = np.arange(out_size, dtype=np.float32) + np.float32(0.5 if exact else 0.0)
    return np.minimum(np.floor(dst * ratio).astype(np.int64), in_size - 1)  # float32, as PyTorch computes it


def _linear_sources(in_size, out_size, scale, align_corners):
    """The two source positions of each output position, (out_size, 2), and their weights."""
    ratio = _scale(in_size, out_size, scale, align_corners)
    dst = np.arange(out_size, dtype=np.float64)
    src = dst * ratio if align_corners else np.maximum(ratio * (dst + 0.5) - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    far = src - lo
    return np.stack([lo, np.minimum(lo + 1, in_size - 1)], 1), np.stack([1.0 - far, far], 1)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    from pydl.ops.indexing import resample

    op = "interpolate"
    if input.dim() < 3:
        raise ArgumentError(f"{op}: expected an (N, C, ...) input with 1 to 3 spatial dims, got {input.dim()}-d")
    spatial = list(input.shape[2:])
    if mode not in ("nearest", "nearest-exact") and _LINEAR.get(mode) != len(spatial):
        raise ArgumentError(f"{op}: mode {mode!r} does not take a {input.dim()}-d input (nearest, nearest-exact, "
                            f"linear for 3-d, bilinear for 4-d, trilinear for 5-d)")
    if align_corners is not None and mode in ("nearest", "nearest-exact"):
        raise ArgumentError(f"{op}: align_corners is only taken by the linear modes")
    if mode in _LINEAR and not input.dtype.is_floating_point:
        raise DTypeError(f"{op}: {mode} interpolation expects a floating input, got {input.dtype.name}")
    if antialias:
        raise ArgumentError(f"{op}: antialias is not supported")
    sizes, scales = _output_sizes(op, spatial, size, scale_factor)
    if recompute_scale_factor:
        scales = [None] * len(spatial)
    x = input
    # Shrinking dims first, then the last dims first: a pass along the last dim gathers single
    # entries (the others copy whole rows), so it runs while the tensor is smallest.
    for k in sorted(range(len(spatial)), key=lambda k: (sizes[k] >= spatial[k], -k)):
        n_in, n_out, scale, dim = spatial[k], sizes[k], scales[k], 2 + k
        if mode in ("nearest", "nearest-exact"):
            x = resample(x, dim, _nearest_index(n_in, n_out, scale, mode == "nearest-exact"))
        else:
            x = resample(x, dim, *_linear_sources(n_in, n_out, scale, bool(align_corners)))
    return x
