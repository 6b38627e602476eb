"""``F.unfold`` (im2col) and ``F.fold`` (col2im), as PyTorch: the sliding k x k blocks of an
(N, C, H, W) input as the columns of (N, C k k, L), and back, summing where blocks overlap.
Each is one pass over a position table made once on the host: unfold an index_select from the
padded planes, fold an index_add into them, each the other's gradient."""
import numpy as np

from pydl._C import ArgumentError
from pydl.nn.functional.conv import _pair

__all__ = ["unfold", "fold"]


def _blocks(op, size, kernel_size, dilation, padding, stride):
    """(padded plane size, positions of every block entry in the flattened padded plane, ordered
    (kernel row, kernel column, block) as PyTorch's columns), and the block grid."""
    k, d, p, s = (_pair(v, name, op) for v, name in ((kernel_size, "kernel_size"), (dilation, "dilation"),
                                                    (padding, "padding"), (stride, "stride")))
    if min(k) <= 0 or min(d) <= 0 or min(s) <= 0 or min(p) < 0:
        raise ArgumentError(f"{op}: kernel_size, dilation and stride must be positive and padding non-negative, "
                            f"got {k}, {d}, {s} and {p}")
    padded = [n + 2 * pad for n, pad in zip(size, p)]
    grid = [(n - dd * (kk - 1) - 1) // ss + 1 for n, dd, kk, ss in zip(padded, d, k, s)]
    if min(grid) <= 0:
        raise ArgumentError(f"{op}: a {k[0]}x{k[1]} kernel (dilation {d}) does not fit the padded size {tuple(padded)}")
    rows = (np.arange(k[0])[:, None, None, None] * d[0] + np.arange(grid[0])[None, None, :, None] * s[0])
    cols = (np.arange(k[1])[None, :, None, None] * d[1] + np.arange(grid[1])[None, None, None, :] * s[1])
    positions = (rows * padded[1] + cols).reshape(-1)
    return padded, p, positions, grid


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    from pydl.nn.functional.padding import pad
    from pydl.ops.indexing import _index_tensor, index_select

    if input.dim() not in (3, 4):
        raise ArgumentError(f"unfold: expected a 3-d or 4-d input, got {input.dim()}-d")
    x = input if input.dim() == 4 else input.unsqueeze(0)
    n, c = x.shape[:2]
    padded, p, positions, grid = _blocks("unfold", x.shape[2:], kernel_size, dilation, padding, stride)
    x = pad(x, (p[1], p[1], p[0], p[0])) if max(p) else x
    picked = index_select(x.reshape(n, c, padded[0] * padded[1]), 2, _index_tensor(positions, x.device))
    out = picked.reshape(n, c * (len(positions) // (grid[0] * grid[1])), grid[0] * grid[1])
    return out if input.dim() == 4 else out.squeeze(0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    from pydl.creation import zeros
    from pydl.ops.indexing import _index_tensor, index_add

    if input.dim() not in (2, 3):
        raise ArgumentError(f"fold: expected a 2-d or 3-d input, got {input.dim()}-d")
    x = input if input.dim() == 3 else input.unsqueeze(0)
    size = _pair(output_size, "output_size", "fold")
    padded, p, positions, grid = _blocks("fold", size, kernel_size, dilation, padding, stride)
    per_block = len(positions) // (grid[0] * grid[1])
    n, ck, blocks = x.shape
    if ck % per_block or blocks != grid[0] * grid[1]:
        raise ArgumentError(f"fold: expected an input of (N, C x {per_block}, {grid[0] * grid[1]}) for these "
                            f"sizes, got {tuple(input.shape)}")
    c = ck // per_block
    planes = zeros(n, c, padded[0] * padded[1], dtype=x.dtype, device=x.device)
    planes = index_add(planes, 2, _index_tensor(positions, x.device), x.reshape(n, c, ck // c * blocks))
    out = planes.reshape(n, c, *padded)[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]
    return out if input.dim() == 3 else out.squeeze(0)
