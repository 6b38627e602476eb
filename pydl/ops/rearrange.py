"""Ops that move entries around: ``flip``, ``roll``, ``diagonal``, ``diag``, ``diag_embed``, as
PyTorch. Each is an index_select (or, building a matrix, an index_add) with an index made once
on the host, so its gradient goes back through the same positions."""
import numpy as np

from pydl._C import ArgumentError
from pydl.ops.indexing import _index_tensor as _index
from pydl.ops.indexing import index_add, index_select


def _dims(dims, ndim, op):
    dims = [dims] if isinstance(dims, int) else list(dims)
    wrapped = [d + ndim if d < 0 else d for d in dims]
    if any(not 0 <= d < max(ndim, 1) for d in wrapped) or len(set(wrapped)) != len(wrapped):
        raise IndexError(f"{op}: dims {tuple(dims)} are out of range or repeated for a tensor of {ndim} dimension(s)")
    return wrapped


def flip(x, dims):
    for d in _dims(dims, x.dim(), "flip"):
        if x.dim():
            x = index_select(x, d, _index(np.arange(x.shape[d] - 1, -1, -1), x.device))
    return x


def fliplr(x):
    return flip(x, 1)


def flipud(x):
    return flip(x, 0)


def roll(x, shifts, dims=None):
    """Entries shifted by `shifts` along dims, those pushed off the end coming back at the start;
    with dims None, over the flattened tensor."""
    if dims is None:
        return roll(x.reshape(-1), shifts, 0).reshape(x.shape)
    shifts = [shifts] if isinstance(shifts, int) else list(shifts)
    dims = _dims(dims, x.dim(), "roll")
    if len(shifts) != len(dims):
        raise ArgumentError(f"roll: got {len(shifts)} shifts for {len(dims)} dims")
    for s, d in zip(shifts, dims):
        n = x.shape[d]
        if n:
            x = index_select(x, d, _index((np.arange(n) - s) % n, x.device))
    return x


def _diagonal_positions(rows, cols, offset):
    """Flat positions in a (rows, cols) matrix of its diagonal `offset` (above the main one if > 0)."""
    i = np.arange(max(min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols), 0))
    return (i * cols + i + offset) if offset >= 0 else ((i - offset) * cols + i)


def diagonal(x, offset=0, dim1=0, dim2=1):
    """The diagonal of the (dim1, dim2) planes, as the last dim of the result."""
    if x.dim() < 2:
        raise ArgumentError(f"diagonal: expected a tensor of at least 2 dimensions, got {x.dim()}")
    d1, d2 = _dims((dim1, dim2), x.dim(), "diagonal")
    rest = [d for d in range(x.dim()) if d not in (d1, d2)]
    rows, cols = x.shape[d1], x.shape[d2]
    planes = x.permute(*rest, d1, d2).reshape([x.shape[d] for d in rest] + [rows * cols])
    return index_select(planes, -1, _index(_diagonal_positions(rows, cols, offset), x.device))


_take_diagonal = diagonal  # diag's argument is named diagonal, as PyTorch's


def diag_embed(x, offset=0):
    """Matrices (..., n, n) whose diagonal `offset` holds x's last dim (the rest zero)."""
    from pydl.creation import zeros

    n = x.shape[-1] + abs(offset)
    batch = list(x.shape[:-1])
    flat = zeros(*batch, n * n, dtype=x.dtype, device=x.device)
    return index_add(flat, -1, _index(_diagonal_positions(n, n, offset), x.device), x).reshape(batch + [n, n])


def diag(x, diagonal=0):
    """A 1-d x as the diagonal of a square matrix; a 2-d x's diagonal as a 1-d tensor."""
    if x.dim() == 1:
        return diag_embed(x, diagonal)
    if x.dim() == 2:
        return _take_diagonal(x, diagonal)
    raise ArgumentError(f"diag: expected a 1-d or 2-d tensor, got {x.dim()}-d")
