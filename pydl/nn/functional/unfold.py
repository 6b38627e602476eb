"""``F.unfold`` (im2col) and ``F.fold`` (col2im), as PyTorch: the sliding k x k blocks of an
(N, C, H, W) input as the columns of (N, C k k, L), and back, summing where blocks overlap.
Each is one pass over a position table made once on the host: unfold an index_select from the
padded planes, fold an index_add into them, each the other's gradient."""
import numpy as np

from pydl._C import ArgumentError

__all__ = ["unfold", "fold"]


def _tuple(v, n, name, op):
    if isinstance(v, int):
        return (v,) * n
    if isinstance(v, (tuple, list)) and len(v) == n and all(isinstance(e, int) for e in v):
        return tuple(v)
    raise ArgumentError(f"{op}: expected {name} as an int or {n} ints, got {v!r}")


def block_positions(op, size, kernel_size, dilation, padding, stride):
    """The sliding blocks over an n-d plane of `size` (each dim padded on both sides): the padded
    size, the padding, the block grid, and every block entry's position in the flattened padded
    plane, ordered (kernel offset, then block), as PyTorch's unfold orders its columns."""
    n = len(size)
    k, d, p, s = (_tuple(v, n, name, op) for v, name in ((kernel_size, "kernel_size"), (dilation, "dilation"),
                                                        (padding, "padding"), (stride, "stride")))
    if min(k) <= 0 or min(d) <= 0 or min(s) <= 0 or min(p) < 0:
        raise ArgumentError(f"{op}: kernel_size, dilation and stride must be positive and padding non-negative, "
                            f"got {k}, {d}, {s} and {p}")
    padded = [m + 2 * pad for m, pad in zip(size, p)]
    grid = [(m - dd * (kk - 1) - 1) // ss + 1 for m, dd, kk, ss in zip(padded, d, k, s)]
    if min(grid) <= 0:
        raise ArgumentError(f"{op}: a {'x'.join(map(str, k))} kernel (dilation {d}) does not fit the padded size "
                            f"{tuple(padded)}")
    positions = np.zeros([1] * (2 * n), dtype=np.int64)
    for axis in range(n):  # axes (k_0, ..., k_n-1, g_0, ..., g_n-1)
        offsets = np.arange(k[axis]) * d[axis], np.arange(grid[axis]) * s[axis]
        coordinate = offsets[0].reshape([-1 if a == axis else 1 for a in range(2 * n)]) + \
            offsets[1].reshape([-1 if a == n + axis else 1 for a in range(2 * n)])
        positions = positions * padded[axis] + coordinate
    return padded, p, grid, positions.reshape(-1)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    from pydl.nn.functional.padding import pad
    from pydl.ops.indexing import _index_tensor, index_select

    if input.dim() not in (3, 4):
        raise ArgumentError(f"unfold: expected a 3-d or 4-d input, got {input.dim()}-d")
    x = input if input.dim() == 4 else input.unsqueeze(0)
    n, c = x.shape[:2]
    padded, p, grid, positions = block_positions("unfold", x.shape[2:], kernel_size, dilation, padding, stride)
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
    size = _tuple(output_size, 2, "output_size", "fold")
    padded, p, grid, positions = block_positions("fold", size, kernel_size, dilation, padding, stride)
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
