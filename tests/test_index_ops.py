"""gather / scatter_add / index_select / index_add (torch semantics) and cat / stack /
split / chunk, against numpy references.

These ops only move or add values: float64 results are exact up to the summation order
of repeated indices (rtol=1e-12, atol=1e-12); float32 results within rtol=1e-6, atol=1e-6.
"""
import numpy as np
import pytest
from conftest import assert_close

import pydl

DTYPES = {"float64": (np.float64, 1e-12, 1e-12), "float32": (np.float32, 1e-6, 1e-6)}


def T(a, device):
    return pydl.tensor(np.asarray(a), device=device)


def I(a, device):  # an int64 index tensor
    return pydl.tensor(np.asarray(a, dtype=np.int64), device=device)


def ref_gather(x, dim, idx):
    """torch.gather: out[i][j][k] = x[i][idx[i][j][k]][k] (dim 1), idx may be smaller than x elsewhere."""
    dim %= x.ndim
    out = np.empty(idx.shape, dtype=x.dtype)
    for pos in np.ndindex(*idx.shape):
        src = list(pos)
        src[dim] = idx[pos]
        out[pos] = x[tuple(src)]
    return out


def ref_scatter_add(x, dim, idx, src):
    dim %= x.ndim
    out = x.astype(np.float64).copy()
    for pos in np.ndindex(*idx.shape):
        dst = list(pos)
        dst[dim] = idx[pos]
        out[tuple(dst)] += src[pos]
    return out


def ref_index_add(x, dim, idx, src, alpha=1.0):
    dim %= x.ndim
    out = x.astype(np.float64).copy()
    for i, k in enumerate(idx):
        sel_out = [slice(None)] * x.ndim
        sel_src = [slice(None)] * x.ndim
        sel_out[dim], sel_src[dim] = k, i
        out[tuple(sel_out)] += alpha * src[tuple(sel_src)]
    return out


GATHER_CASES = [  # (x shape, dim, index shape)
    ((4, 5), 0, (6, 5)),
    ((4, 5), 1, (4, 7)),
    ((4, 5), -1, (3, 2)),  # smaller than x in the other dim
    ((4, 5), 0, (2, 3)),
    ((3, 4, 5), 0, (2, 4, 5)),
    ((3, 4, 5), 1, (3, 6, 5)),
    ((3, 4, 5), 2, (2, 3, 8)),
    ((3, 4, 5), -1, (3, 4, 1)),
    ((3, 4, 5), -2, (1, 2, 3)),
]


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("xs,dim,ishape", GATHER_CASES, ids=str)
def test_gather(xs, dim, ishape, dtype, device, rng):
    npdt = DTYPES[dtype][0]
    x = rng.standard_normal(xs).astype(npdt)
    idx = rng.integers(0, xs[dim], size=ishape)
    expected = ref_gather(x, dim, idx)
    out = pydl.gather(T(x, device), dim, I(idx, device))
    assert out.dtype == T(x, device).dtype
    assert_close(out, expected, 0, 0)
    assert_close(T(x, device).gather(dim, idx), expected, 0, 0)  # method form, numpy index
    if ishape == xs:
        assert_close(out, np.take_along_axis(x, idx, axis=dim), 0, 0)


def test_gather_from_a_non_contiguous_input(device, rng):
    x = rng.standard_normal((5, 6))
    idx = rng.integers(0, 5, size=(4, 5))
    t = T(x, device).T  # (6, 5)
    assert_close(pydl.gather(t, 1, I(idx, device)), ref_gather(x.T, 1, idx), 0, 0)
    s = T(x, device)[::2, 1::2]  # (3, 3)
    idx2 = rng.integers(0, 3, size=(3, 3))
    assert_close(s.gather(0, I(idx2, device)), ref_gather(x[::2, 1::2], 0, idx2), 0, 0)


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("xs,dim,ishape", GATHER_CASES, ids=str)
def test_scatter_add(xs, dim, ishape, dtype, device, rng):
    npdt, rtol, atol = DTYPES[dtype]
    x = rng.standard_normal(xs).astype(npdt)
    # torch requires index.size(d) <= x.size(d) for d != dim; clip the case list to that
    ishape = tuple(min(s, xs[d]) if d != dim % len(xs) else s for d, s in enumerate(ishape))
    idx = rng.integers(0, xs[dim], size=ishape)  # with repeats: they accumulate
    src = rng.standard_normal(ishape).astype(npdt)
    t = T(x, device)
    out = pydl.scatter_add(t, dim, I(idx, device), T(src, device))
    assert_close(out, ref_scatter_add(x, dim, idx, src.astype(np.float64)), rtol, atol)
    assert_close(t, x, 0, 0)  # out of place: the input is unchanged
    assert_close(t.scatter_add(dim, idx, T(src, device)), ref_scatter_add(x, dim, idx, src.astype(np.float64)),
                 rtol, atol)


def test_scatter_add_repeated_indices_accumulate(device):
    x = np.zeros((2, 3))
    idx = np.array([[0, 0, 0], [1, 1, 1]])
    src = np.arange(6.0).reshape(2, 3)
    out = pydl.scatter_add(T(x, device), 1, idx, T(src, device))
    assert_close(out, [[3.0, 0.0, 0.0], [0.0, 12.0, 0.0]], 0, 0)
    out0 = pydl.scatter_add(T(x, device), 0, np.zeros((2, 3), dtype=np.int64), T(src, device))
    assert_close(out0, [[3.0, 5.0, 7.0], [0.0, 0.0, 0.0]], 0, 0)


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("xs,dim", [((5, 4), 0), ((5, 4), 1), ((5, 4), -1), ((3, 4, 5), 1), ((3, 4, 5), -1),
                                    ((3, 4, 5), 0), ((7,), 0)], ids=str)
def test_index_select(xs, dim, dtype, device, rng):
    npdt, _, _ = DTYPES[dtype]
    x = rng.standard_normal(xs).astype(npdt)
    n = xs[dim]
    idx = np.array([0, n - 1, -1, -n, 1 % n, 0, -2 % n - n])  # negative indices count from the end
    expected = np.take(x, idx, axis=dim)
    t = T(x, device)
    for index in (I(idx, device), idx, idx.tolist()):
        assert_close(pydl.index_select(t, dim, index), expected, 0, 0)
    assert_close(t.index_select(dim, I(idx, device)), expected, 0, 0)
    # an empty index gives a zero-size dim
    empty = pydl.index_select(t, dim, I(np.zeros(0), device))
    assert_close(empty, np.take(x, np.zeros(0, dtype=np.int64), axis=dim), 0, 0)
    # a non-contiguous input
    tt = T(np.ascontiguousarray(np.swapaxes(x, 0, -1)), device).transpose(0, -1) if x.ndim > 1 else t[::1]
    assert_close(pydl.index_select(tt, dim, idx), expected, 0, 0)


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("xs,dim", [((5, 4), 0), ((5, 4), 1), ((5, 4), -1), ((3, 4, 5), 1), ((3, 4, 5), -1),
                                    ((3, 4, 5), 0), ((6,), 0)], ids=str)
def test_index_add(xs, dim, dtype, device, rng):
    npdt, rtol, atol = DTYPES[dtype]
    x = rng.standard_normal(xs).astype(npdt)
    n = xs[dim]
    idx = np.array([0, n - 1, -1, 1 % n, 0, 0, -n])  # repeats accumulate; negatives from the end
    sshape = list(xs)
    sshape[dim] = len(idx)
    src = rng.standard_normal(sshape).astype(npdt)
    t = T(x, device)
    out = pydl.index_add(t, dim, I(idx, device), T(src, device))
    assert_close(out, ref_index_add(x, dim, idx, src.astype(np.float64)), rtol, atol)
    assert_close(t, x, 0, 0)  # out of place
    out2 = t.index_add(dim, idx, T(src, device), alpha=2.5)
    assert_close(out2, ref_index_add(x, dim, idx, src.astype(np.float64), 2.5), rtol * 4, atol * 4)


def test_index_add_repeated_indices_accumulate(device):
    x = T(np.zeros((3, 2)), device)
    src = T(np.ones((4, 2)), device)
    out = pydl.index_add(x, 0, [2, 2, -1, 0], src)
    assert_close(out, [[1.0, 1.0], [0.0, 0.0], [3.0, 3.0]], 0, 0)


@pytest.mark.parametrize("n", [1, 5, 7, 13])  # sizes that are not a multiple of 4 bytes
def test_uint8_accumulation_wraps_and_stays_in_bounds(n, device, rng):
    # No byte atomics on CUDA: uint8 accumulates in int64 there and wraps back mod 256, as
    # on the CPU. Under exact-size device blocks (PYDL_CUDA_NO_CACHING=1) and AddressSanitizer
    # an access past the tensor's last byte is an error.
    x = rng.integers(0, 256, size=n).astype(np.uint8)
    idx = rng.integers(0, n, size=3 * n)
    src = rng.integers(0, 256, size=3 * n).astype(np.uint8)
    expected = x.astype(np.int64)
    np.add.at(expected, idx, src.astype(np.int64))
    expected = (expected % 256).astype(np.uint8)
    scattered = pydl.scatter_add(T(x, device), 0, I(idx, device), T(src, device))
    added = pydl.index_add(T(x, device), 0, I(idx, device), T(src, device))
    for out in (scattered, added):
        assert out.dtype == pydl.uint8
        np.testing.assert_array_equal(out.cpu().numpy(), expected)


def test_large_index_ops_on_the_threaded_path(device, rng):
    x = rng.standard_normal((200, 300))
    idx = rng.integers(-300, 300, size=500)
    src = rng.standard_normal((200, 500))
    t = T(x, device)
    before = pydl.get_num_threads()
    try:
        for n in (1, 2):
            pydl.set_num_threads(n)
            assert_close(pydl.index_select(t, 1, idx), np.take(x, idx, axis=1), 0, 0)
            assert_close(pydl.index_add(t, 1, idx, T(src, device)), ref_index_add(x, 1, idx, src), 1e-12, 1e-12)
            gidx = rng.integers(0, 200, size=(150, 300))
            assert_close(pydl.gather(t, 0, gidx), np.take_along_axis(x, gidx, axis=0), 0, 0)
    finally:
        pydl.set_num_threads(before)


OOR_CASES = [  # (op, call(x) with an out-of-range index, the bad index, the dim's size)
    ("gather", lambda x: pydl.gather(x, 1, [[0, 4], [1, 2], [3, 0]]), 4),
    ("gather", lambda x: pydl.gather(x, 0, [[0, 1], [-1, 0]]), -1),  # gather takes no negative indices
    ("scatter_add", lambda x: pydl.scatter_add(x, 0, [[0, 1, 3, 0]], pydl.ones(1, 4, dtype=pydl.float64,
                                                                                   device=x.device)), 3),
    ("scatter_add", lambda x: pydl.scatter_add(x, -1, [[5]], pydl.ones(1, 1, dtype=pydl.float64,
                                                                        device=x.device)), 5),
    ("index_select", lambda x: pydl.index_select(x, 0, [0, 2, 3]), 3),
    ("index_select", lambda x: pydl.index_select(x, 1, [-5]), -5),
    ("index_add", lambda x: pydl.index_add(x, 1, [0, 4], pydl.ones(3, 2, dtype=pydl.float64, device=x.device)), 4),
    ("index_add", lambda x: pydl.index_add(x, 0, [1, -4], pydl.ones(2, 4, dtype=pydl.float64, device=x.device)),
     -4),
]


@pytest.mark.parametrize("op,call,bad", OOR_CASES, ids=[f"{c[0]}{c[2]}" for c in OOR_CASES])
def test_out_of_range_index_raises_before_writing(op, call, bad, device):
    x_np = np.arange(12.0).reshape(3, 4)
    x = T(x_np, device)
    with pytest.raises(IndexError, match=rf"^{op}: index {bad} is out of bounds"):
        call(x)
    assert_close(x, x_np, 0, 0)  # nothing was written


def test_float_index_raises_type_error(device):
    x = T(np.arange(12.0).reshape(3, 4), device)
    fidx = T(np.array([0.0, 1.0]), device)
    with pytest.raises(TypeError, match="index_select"):
        pydl.index_select(x, 0, fidx)
    with pytest.raises(TypeError, match="index_add"):
        pydl.index_add(x, 0, fidx, T(np.ones((2, 4)), device))
    with pytest.raises(TypeError, match="gather"):
        pydl.gather(x, 0, T(np.zeros((1, 4)), device))
    with pytest.raises(TypeError, match="scatter_add"):
        pydl.scatter_add(x, 0, T(np.zeros((1, 4)), device), T(np.ones((1, 4)), device))
    # float arrays / lists are not silently truncated either
    with pytest.raises(TypeError, match="index_select"):
        pydl.index_select(x, 0, [0.5, 1.7])
    with pytest.raises(TypeError, match="gather"):
        pydl.gather(x, 1, np.zeros((3, 4)))
    assert_close(x, np.arange(12.0).reshape(3, 4), 0, 0)


def test_index_shape_errors(device):
    x = T(np.zeros((3, 4)), device)
    with pytest.raises(ValueError, match="gather"):
        pydl.gather(x, 0, I(np.zeros(4), device))  # wrong number of dims
    with pytest.raises(ValueError, match="scatter_add"):
        pydl.scatter_add(x, 0, I(np.zeros((1, 4)), device), T(np.ones((2, 4)), device))
    with pytest.raises(ValueError, match="index_add"):
        pydl.index_add(x, 0, [0, 1], T(np.ones((3, 4)), device))
    with pytest.raises(IndexError, match="index_select"):
        pydl.index_select(x, 2, [0])


# ------------------------------------------------------------------ cat / stack / split / chunk

@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_cat(dim, dtype, device, rng):
    npdt, _, _ = DTYPES[dtype]
    base = (2, 3, 4)
    parts = []
    for n in (1, 3, 0, 2):  # a zero-size piece included
        shape = list(base)
        shape[dim] = n
        parts.append(rng.standard_normal(shape).astype(npdt))
    out = pydl.cat([T(p, device) for p in parts], dim)
    assert_close(out, np.concatenate(parts, axis=dim), 0, 0)
    assert_close(pydl.concat([T(p, device) for p in parts], dim=dim), np.concatenate(parts, axis=dim), 0, 0)
    # non-contiguous pieces: a permuted view, and a stepped slice of it when that keeps the shapes compatible
    full = rng.standard_normal((4, 3, 2)).astype(npdt)
    tv, nv = T(full, device).permute(2, 1, 0), full.transpose(2, 1, 0)
    step = [slice(None)] * 3
    step[dim] = slice(None, None, 2)
    assert not tv[tuple(step)].is_contiguous()
    assert_close(pydl.cat([tv, tv[tuple(step)]], dim), np.concatenate([nv, nv[tuple(step)]], axis=dim), 0, 0)


def test_cat_errors_and_promotion(device):
    a = T(np.ones((2, 3)), device)
    with pytest.raises(ValueError, match="cat"):
        pydl.cat([a, T(np.ones((3, 3)), device)], 1)
    with pytest.raises(ValueError, match="cat"):
        pydl.cat([a, T(np.ones(3), device)], 0)
    with pytest.raises(IndexError, match="cat"):
        pydl.cat([a, a], 2)
    with pytest.raises(TypeError, match="cat"):
        pydl.cat([a, np.ones((2, 3))])
    mixed = pydl.cat([a, T(np.full((1, 3), 2.0, dtype=np.float32), device)])
    assert mixed.dtype == pydl.float64
    assert_close(mixed, np.concatenate([np.ones((2, 3)), np.full((1, 3), 2.0)]), 0, 0)


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2, -3])
def test_stack(dim, device, rng):
    parts = [rng.standard_normal((3, 4)) for _ in range(3)]
    assert_close(pydl.stack([T(p, device) for p in parts], dim), np.stack(parts, axis=dim), 0, 0)
    with pytest.raises(ValueError, match="stack"):
        pydl.stack([T(parts[0], device), T(parts[1][:2], device)], dim)


@pytest.mark.parametrize("size,split_size,dim", [(10, 3, 0), (10, 5, 0), (10, 4, 1), (10, 20, 1), (7, 1, -1)])
def test_split_by_size(size, split_size, dim, device, rng):
    shape = [3, 3]
    shape[dim] = size
    x = rng.standard_normal(shape)
    pieces = pydl.split(T(x, device), split_size, dim)
    assert isinstance(pieces, tuple)
    # torch.split: chunks of split_size, the last one smaller
    bounds = list(range(split_size, size, split_size))
    expected = np.split(x, bounds, axis=dim)
    assert [p.shape[dim] for p in pieces] == [e.shape[dim] for e in expected]
    assert all(p.shape[dim] == split_size for p in pieces[:-1]) and 0 < pieces[-1].shape[dim] <= split_size
    for p, e in zip(pieces, expected):
        assert_close(p, e, 0, 0)
    assert_close(pydl.cat(list(pieces), dim), x, 0, 0)
    assert len(T(x, device).split(split_size, dim=dim)) == len(expected)  # method form


def test_split_by_sections(device, rng):
    x = rng.standard_normal((4, 9))
    pieces = T(x, device).split([2, 0, 4, 3], dim=1)
    for p, e in zip(pieces, np.split(x, [2, 2, 6], axis=1)):
        assert_close(p, e, 0, 0)
    with pytest.raises(ValueError, match="split"):
        pydl.split(T(x, device), [2, 2], dim=1)


@pytest.mark.parametrize("size,chunks,sizes", [(6, 3, [2, 2, 2]), (7, 3, [3, 3, 1]), (5, 2, [3, 2]),
                                               (6, 4, [2, 2, 2]), (2, 5, [1, 1]), (9, 1, [9])])
def test_chunk(size, chunks, sizes, device, rng):
    x = rng.standard_normal((size, 3))
    pieces = pydl.chunk(T(x, device), chunks)
    # torch.chunk: pieces of ceil(size / chunks), possibly fewer than `chunks` of them
    # (numpy's array_split differs: it balances sizes, e.g. 6 into 4 is [2, 2, 1, 1])
    assert [p.shape[0] for p in pieces] == sizes
    for p, e in zip(pieces, np.split(x, np.cumsum(sizes)[:-1], axis=0)):
        assert_close(p, e, 0, 0)
    if size % chunks == 0:
        for p, e in zip(pieces, np.array_split(x, chunks, axis=0)):
            assert_close(p, e, 0, 0)
    col = T(x, device).chunk(2, dim=1)
    assert [p.shape[1] for p in col] == [2, 1]
    assert_close(col[1], x[:, 2:], 0, 0)


def test_against_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((4, 5, 6))
    idx = rng.integers(0, 5, size=(3, 5, 2))
    src = rng.standard_normal((3, 5, 2))
    tx, ti = torch.tensor(x), torch.tensor(idx)
    assert_close(pydl.gather(pydl.tensor(x), 1, idx), torch.gather(tx, 1, ti).numpy(), 0, 0)
    assert_close(pydl.scatter_add(pydl.tensor(x), 1, idx, pydl.tensor(src)),
                 tx.scatter_add(1, ti, torch.tensor(src)).numpy(), 1e-12, 1e-12)
    sel = np.array([4, 0, -1, 2, 2])
    assert_close(pydl.index_select(pydl.tensor(x), 2, sel),
                 torch.index_select(tx, 2, torch.tensor(sel % 6)).numpy(), 0, 0)
    s2 = rng.standard_normal((4, 5, 5))
    assert_close(pydl.index_add(pydl.tensor(x), 2, sel, pydl.tensor(s2)),
                 tx.index_add(2, torch.tensor(sel % 6), torch.tensor(s2)).numpy(), 1e-12, 1e-12)
    for n in (1, 3, 4, 7):
        assert [p.shape[1] for p in pydl.tensor(x).chunk(n, 1)] == [p.shape[1] for p in tx.chunk(n, 1)]
        assert [p.shape[2] for p in pydl.tensor(x).split(n, 2)] == [p.shape[2] for p in tx.split(n, 2)]
