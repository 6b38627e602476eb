"""CPU <-> CUDA parity for the spine's ops: every op runs on both devices from the same
inputs and the results are compared (exactly where the math is exact, within a few ulp
elsewhere). Every test here is marked `cuda` and skips where no GPU is present."""
import numpy as np
import pytest

import pydl

pytestmark = pytest.mark.cuda


def both(a, dtype=None):
    a = np.asarray(a) if dtype is None else np.asarray(a, dtype=dtype)
    return pydl.tensor(a), pydl.tensor(a, device="cuda")


def same(c, g, rtol=0.0, atol=0.0):
    """The CUDA result `g` matches the CPU result `c` (values, shape, dtype); tuples item by item."""
    if isinstance(c, tuple):
        for ci, gi in zip(c, g, strict=True):
            same(ci, gi, rtol, atol)
        return
    assert str(g.device).startswith("cuda"), g.device
    assert c.dtype == g.dtype, f"{c.dtype} != {g.dtype}"
    cn, gn = c.numpy(), g.cpu().numpy()
    assert cn.shape == gn.shape
    if rtol == 0 and atol == 0:
        np.testing.assert_array_equal(gn, cn)
    else:
        np.testing.assert_allclose(gn, cn, rtol=rtol, atol=atol)


@pytest.fixture
def rng():
    return np.random.default_rng(7)


# ------------------------------------------------------------------ elementwise

UNARY = ["neg", "exp", "log", "sqrt", "rsqrt", "abs", "sign", "tanh", "sigmoid", "relu"]


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary(name, dtype, rng):
    x = rng.uniform(0.1, 3.0, size=(37, 65)).astype(dtype)
    if name in ("neg", "abs", "sign", "tanh", "sigmoid", "relu"):
        x = (x - 1.5).astype(dtype)
    c, g = both(x)
    fn = getattr(pydl, name)
    tol = 2e-6 if dtype == np.float32 else 1e-14
    same(fn(c), fn(g), rtol=tol, atol=tol)
    same(fn(c.T), fn(g.T), rtol=tol, atol=tol)  # strided input
    same(fn(c[::3, 1::2]), fn(g[::3, 1::2]), rtol=tol, atol=tol)


@pytest.mark.parametrize("op", ["__add__", "__sub__", "__mul__", "__truediv__", "__pow__", "maximum", "minimum",
                                "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"])
@pytest.mark.parametrize("shapes", [((1000,), (1000,)), ((4, 1, 5), (3, 1)), ((7, 9), ()), ((1,), (33, 17)),
                                    ((1 << 16) + 3,) * 2], ids=str)
def test_binary_broadcast(op, shapes, rng):
    a = rng.uniform(0.5, 2.0, size=shapes[0]).astype(np.float32)
    b = rng.uniform(0.5, 2.0, size=shapes[1]).astype(np.float32)
    b.flat[: max(1, b.size // 3)] = a.flat[0]  # some equal values for the comparisons
    (ac, ag), (bc, bg) = both(a), both(b)
    fn = (lambda x, y: getattr(pydl, op)(x, y)) if not op.startswith("__") else (lambda x, y: getattr(x, op)(y))
    same(fn(ac, bc), fn(ag, bg), rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.float64, np.bool_])
def test_binary_dtypes_and_promotion(dtype, rng):
    a = rng.integers(0, 5, size=(6, 7)).astype(dtype)
    b = rng.integers(1, 5, size=(7,)).astype(dtype)
    (ac, ag), (bc, bg) = both(a), both(b)
    for fn in (lambda x, y: x + y, lambda x, y: x * y, lambda x, y: x == y, lambda x, y: x < y,
               lambda x, y: x + 2.5, lambda x, y: 3 - x, lambda x, y: x > 1):
        same(fn(ac, bc), fn(ag, bg), rtol=1e-6, atol=1e-6)


def test_strided_and_offset_operands(rng):
    x = rng.standard_normal((12, 10)).astype(np.float32)
    y = rng.standard_normal((10, 12)).astype(np.float32)
    (xc, xg), (yc, yg) = both(x), both(y)
    same(xc[1:, ::2] + yc.T[1:, ::2], xg[1:, ::2] + yg.T[1:, ::2])
    same(xc[3] * 2.0, xg[3] * 2.0)


def test_strided_loops_merged_and_not(rng):
    """The strided kernel decodes each element's offsets over the loop's dims left after
    merging (csrc/loop.cpp): two, three, or one strided dim, broadcast operands included."""
    x = rng.standard_normal((4, 6, 10)).astype(np.float32)
    y = rng.standard_normal((5,)).astype(np.float32)
    z = rng.standard_normal((4, 1)).astype(np.float32)
    (xc, xg), (yc, yg), (zc, zg) = both(x), both(y), both(z)
    cases = [lambda a, b, c: a[:, :, ::2] + b,  # dims 0 and 1 merge: (24, 5)
             lambda a, b, c: a[::2] * 2.0,  # (2, 60)
             lambda a, b, c: a.permute(2, 0, 1) - c,  # nothing merges: (10, 4, 6)
             lambda a, b, c: pydl.maximum(a[1, :, ::3].T, c.T[:, :1]),  # broadcast over a transposed view
             lambda a, b, c: a[0, 1, ::3] * b[:4],  # one strided dim
             lambda a, b, c: pydl.where(a[:, :, 1::2] > 0, a.permute(0, 2, 1)[:, ::2].transpose(1, 2), b)]
    for f in cases:
        same(f(xc, yc, zc), f(xg, yg, zg))
    i = rng.integers(-9, 9, size=(3, 8, 5))
    (ic, ig) = both(i)
    same(ic.transpose(0, 2)[::2].to(pydl.float64), ig.transpose(0, 2)[::2].to(pydl.float64))


def test_inplace(rng):
    x = rng.standard_normal((33, 8)).astype(np.float32)
    y = rng.standard_normal((8,)).astype(np.float32)
    (xc, xg), (yc, yg) = both(x), both(y)
    xc += yc
    xg += yg
    xc *= 0.5
    xg *= 0.5
    same(xc, xg)


def test_where(rng):
    cond = rng.random((5, 1, 7)) > 0.5
    a = rng.standard_normal((4, 7))
    b = rng.standard_normal((5, 4, 1))
    (cc, cg), (ac, ag), (bc, bg) = both(cond), both(a), both(b)
    same(pydl.where(cc, ac, bc), pydl.where(cg, ag, bg))


@pytest.mark.parametrize("src", [np.float32, np.float64, np.int64, np.uint8, np.bool_])
@pytest.mark.parametrize("dst", ["float32", "float64", "int64", "uint8", "bool"])
def test_cast_copy(src, dst, rng):
    x = (rng.standard_normal((9, 11)) * 100).astype(src)
    c, g = both(x)
    same(c.to(getattr(pydl, dst)), g.to(getattr(pydl, dst)))
    same(c.T.to(getattr(pydl, dst)), g.T.to(getattr(pydl, dst)))  # strided + casting


def test_strided_copy_and_contiguous(rng):
    x = rng.standard_normal((4, 5, 6)).astype(np.float32)
    c, g = both(x)
    for f in (lambda t: t.permute(2, 0, 1).contiguous(), lambda t: t[:, ::2, 1:].contiguous(),
              lambda t: t.transpose(0, 2).reshape(-1), lambda t: t[1:3].expand(3, 2, 5, 6).contiguous()):
        same(f(c), f(g))
    gc = g.clone()
    gc[1:3] = g[0:2]
    cc = c.clone()
    cc[1:3] = c[0:2]
    same(cc, gc)


def test_fill_and_full():
    for dt in (pydl.float32, pydl.float64, pydl.int64, pydl.uint8, pydl.bool):
        same(pydl.full((3, 1001), 3.0, dtype=dt), pydl.full((3, 1001), 3.0, dtype=dt, device="cuda"))
    g = pydl.zeros(6, 4, device="cuda")
    c = pydl.zeros(6, 4)
    g[:, 1].fill_(2.5)
    c[:, 1].fill_(2.5)
    same(c, g)


def test_arange_bit_identical():
    for args in ((0, 10), (0.5, 7.3, 0.7), (-3, 100000, 3), (10, 0, -0.25)):
        for dt in (pydl.float32, pydl.float64, pydl.int64):
            same(pydl.arange(*args, dtype=dt), pydl.arange(*args, dtype=dt, device="cuda"))


# ------------------------------------------------------------------ random


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_bit_identical_to_cpu(dtype):
    dt = getattr(pydl, dtype)
    pydl.manual_seed(123)
    c = pydl.rand(1001, 7, dtype=dt)
    pydl.manual_seed(123)
    g = pydl.rand(1001, 7, dtype=dt, device="cuda")
    same(c, g)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_matches_cpu(dtype):
    # Box-Muller's log/sin/cos come from CUDA's libdevice on the GPU and libm on the CPU:
    # equal to within a few ulp (not bit for bit).
    dt = getattr(pydl, dtype)
    pydl.manual_seed(5)
    c = pydl.randn(4099, dtype=dt)
    pydl.manual_seed(5)
    g = pydl.randn(4099, dtype=dt, device="cuda")
    tol = 1e-5 if dtype == "float32" else 1e-13
    same(c, g, rtol=tol, atol=tol)


def test_random_stream_positions_agree():
    pydl.manual_seed(9)
    c = [pydl.rand(3).numpy(), pydl.rand(10).numpy()]
    pydl.manual_seed(9)
    g = [pydl.rand(3, device="cuda").cpu().numpy(), pydl.rand(10, device="cuda").cpu().numpy()]
    for a, b in zip(c, g):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ reductions

# rows: short ones a warp each ((50, 10): r <= 32; (3000, 37): many rows), others a block each
RED_SHAPES = [((7,), None), ((33, 65), 1), ((33, 65), 0), ((4, 5, 6), (0, 2)), ((3, 200000), 1),
              ((200000, 3), 0), ((2, 5000, 3), 1), ((1 << 20,), None), ((6, 1, 4), 1), ((50, 10), 1),
              ((3000, 37), 1)]


@pytest.mark.parametrize("shape,dim", RED_SHAPES, ids=str)
@pytest.mark.parametrize("op", ["sum", "mean", "max", "min", "var"])
def test_reductions(shape, dim, op, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    c, g = both(x)
    kw = {} if dim is None else {"dim": dim}
    n = x.size if dim is None else np.prod([shape[d] for d in np.atleast_1d(dim)])
    tol = 1e-5 * max(1.0, np.sqrt(n) / 10)
    same(getattr(c, op)(**kw), getattr(g, op)(**kw), rtol=tol, atol=tol)
    if dim is not None:
        same(getattr(c, op)(keepdim=True, **kw), getattr(g, op)(keepdim=True, **kw), rtol=tol, atol=tol)


def test_reductions_strided_and_integer(rng):
    x = rng.integers(-50, 50, size=(40, 30))
    c, g = both(x)
    same(c.sum(), g.sum())
    same(c.T.sum(dim=0), g.T.sum(dim=0))
    same(c.max(dim=1)[0], g.max(dim=1)[0])
    xf = rng.standard_normal((40, 30))
    cf, gf = both(xf)
    same(cf[::2, 1::3].sum(dim=1), gf[::2, 1::3].sum(dim=1), rtol=1e-12, atol=1e-12)
    same(cf.var(dim=0, correction=0), gf.var(dim=0, correction=0), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape,dim", [((50, 37), 1), ((50, 37), 0), ((3, 100000), 1), ((100000,), 0),
                                       ((4, 5, 6), 1), ((50, 7), 1), ((3000, 37), 1)], ids=str)
def test_argmax_argmin_and_max_dim(shape, dim, rng):
    x = rng.integers(0, 7, size=shape).astype(np.float32)  # many ties: the first index wins
    c, g = both(x)
    same(c.argmax(dim=dim), g.argmax(dim=dim))
    same(c.argmin(dim=dim), g.argmin(dim=dim))
    same(c.argmax(), g.argmax())
    vc, ic = c.max(dim=dim)
    vg, ig = g.max(dim=dim)
    same(vc, vg)
    same(ic, ig)


def test_nan_propagation_in_max_and_argmax():
    x = np.array([[1.0, np.nan, 3.0, np.nan], [2.0, 1.0, 0.0, 5.0]], dtype=np.float32)
    c, g = both(x)
    same(c.max(dim=1)[1], g.max(dim=1)[1])
    same(c.argmin(dim=1), g.argmin(dim=1))
    np.testing.assert_array_equal(np.isnan(g.max(dim=1)[0].cpu().numpy()), [True, False])


# ------------------------------------------------------------------ indexing, cat


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_gather_scatter_add(dtype, rng):
    x = (rng.standard_normal((6, 7, 8)) * 10).astype(dtype)
    idx = rng.integers(0, 7, size=(5, 9, 8))
    src = (rng.standard_normal((5, 9, 8)) * 10).astype(dtype)
    (xc, xg), (ic, ig), (sc, sg) = both(x), both(idx), both(src)
    same(pydl.gather(xc, 1, ic), pydl.gather(xg, 1, ig))
    idx2 = rng.integers(0, 6, size=(9, 5, 4))  # read through a transposed (non-contiguous) index
    (i2c, i2g) = both(idx2)
    same(pydl.gather(xc.transpose(0, 2), 2, i2c.transpose(0, 2)),
         pydl.gather(xg.transpose(0, 2), 2, i2g.transpose(0, 2)))
    tol = 0 if dtype == np.int64 else 1e-5
    same(pydl.scatter_add(xc, 1, ic, sc), pydl.scatter_add(xg, 1, ig, sg), rtol=tol, atol=tol)


@pytest.mark.parametrize("x_shape,dim,i_shape", [((4, 5, 6), 0, (3, 5, 6)), ((4, 5, 6), 0, (3, 5, 4)),
                                                ((4, 1, 6), 2, (2, 1, 3)), ((5, 7), 1, (5, 1)),
                                                ((2, 3, 4, 5), 1, (2, 6, 4, 5))], ids=str)
def test_gather_scatter_add_merged_dims(x_shape, dim, i_shape, rng):
    """Index dims that x steps through as one are merged before the launch (never the indexed
    dim); size-1 dims are dropped."""
    x = rng.standard_normal(x_shape).astype(np.float32)
    idx = rng.integers(0, x_shape[dim], size=i_shape)
    src = rng.standard_normal(i_shape).astype(np.float32)
    (xc, xg), (ic, ig), (sc, sg) = both(x), both(idx), both(src)
    same(pydl.gather(xc, dim, ic), pydl.gather(xg, dim, ig))
    same(pydl.scatter_add(xc, dim, ic, sc), pydl.scatter_add(xg, dim, ig, sg), rtol=1e-6, atol=1e-6)


def test_index_select_index_add(rng):
    x = rng.standard_normal((5, 6, 7)).astype(np.float32)
    idx = np.array([4, -1, 0, 2, 2, -5])
    (xc, xg), (ic, ig) = both(x), both(idx)
    for dim in (0, 1, 2):
        same(pydl.index_select(xc, dim, ic[:5] if dim == 0 else ic), pydl.index_select(xg, dim, ig[:5] if dim == 0 else ig))
    src = rng.standard_normal((5, 6, 7)).astype(np.float32)
    (sc, sg) = both(src)
    same(pydl.index_add(xc, 1, ic, sc), pydl.index_add(xg, 1, ig, sg), rtol=1e-6, atol=1e-6)


def test_out_of_range_index_raises_on_cuda():
    x = pydl.zeros(3, 4, device="cuda")
    with pytest.raises(IndexError):
        pydl.gather(x, 1, pydl.tensor([[0, 4]], device="cuda"))
    with pytest.raises(IndexError):
        pydl.index_select(x, 0, pydl.tensor([3], device="cuda"))


def test_cat(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((3, 2)).astype(np.float64)
    (ac, ag), (bc, bg) = both(a), both(b)
    same(pydl.cat([ac, bc, ac.T[:2].T], dim=1), pydl.cat([ag, bg, ag.T[:2].T], dim=1))
    same(pydl.cat([ac, ac], dim=0), pydl.cat([ag, ag], dim=0))


# ------------------------------------------------------------------ matmul


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (17, 33, 5), (64, 64, 64), (129, 31, 77), (3, 1000, 2)], ids=str)
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_matmul_odd_sizes_and_transposes(m, k, n, ta, tb, rng):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    (ac, ag), (bc, bg) = both(a), both(b)
    if ta:
        ac, ag = ac.T, ag.T
    if tb:
        bc, bg = bc.T, bg.T
    same(ac @ bc, ag @ bg, rtol=1e-4, atol=1e-4 * np.sqrt(k))


def test_matmul_batched_broadcast_vectors_float64(rng):
    a = rng.standard_normal((2, 3, 5, 7))
    b = rng.standard_normal((3, 7, 4))
    v = rng.standard_normal(7)
    (ac, ag), (bc, bg), (vc, vg) = both(a), both(b), both(v)
    same(ac @ bc, ag @ bg, rtol=1e-12, atol=1e-12)
    same(ac @ vc, ag @ vg, rtol=1e-12, atol=1e-12)
    same(vc @ bc, vg @ bg, rtol=1e-12, atol=1e-12)


def test_linear_bias_relu(rng):
    x = rng.standard_normal((19, 23)).astype(np.float32)
    w = rng.standard_normal((11, 23)).astype(np.float32)
    bias = rng.standard_normal(11).astype(np.float32)
    (xc, xg), (wc, wg), (bc, bg) = both(x), both(w), both(bias)
    F = pydl.nn.functional
    same(F.linear(xc, wc, bc), F.linear(xg, wg, bg), rtol=1e-5, atol=1e-5)
    same(F.relu(F.linear(xc, wc, bc)), F.relu(F.linear(xg, wg, bg)), rtol=1e-5, atol=1e-5)
