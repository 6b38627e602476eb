"""Reductions (sum, mean, max/min, amax/amin, argmax/argmin, var/std, all/any) against
numpy float64 references.

Tolerances: float64 results within rtol=1e-12 (atol=1e-12); float32 results, computed
from float32 inputs and compared with the float64 reduction of those same float32
values, within rtol=1e-5 (atol=1e-5; inputs are O(1), reductions over <= 60 values).
max/min/argmax/argmin/all/any are exact.
"""
import numpy as np
import pytest
from conftest import assert_close

import pydl

DTYPES = {"float64": (np.float64, 1e-12, 1e-12), "float32": (np.float32, 1e-5, 1e-5)}

# dims for a 3-d input: None, ints (positive and negative), adjacent and non-adjacent tuples
DIMS = [None, 0, 1, 2, -1, -3, (0, 1), (1, 2), (0, 2), (-1, 0), (2, 0, 1), ()]


def T(a, device, dtype=None):
    return pydl.tensor(np.asarray(a) if dtype is None else np.asarray(a, dtype=dtype), device=device)


def np_axis(dim):
    if dim is None:
        return None
    if isinstance(dim, tuple):
        return dim if dim else None  # torch: an empty dim tuple reduces everything
    return dim


@pytest.fixture
def data(rng):
    return rng.standard_normal((3, 4, 5))


REF = {
    "sum": lambda x, ax, kd: np.sum(x, axis=ax, keepdims=kd),
    "mean": lambda x, ax, kd: np.mean(x, axis=ax, keepdims=kd),
    "amax": lambda x, ax, kd: np.amax(x, axis=ax, keepdims=kd),
    "amin": lambda x, ax, kd: np.amin(x, axis=ax, keepdims=kd),
    "var": lambda x, ax, kd: np.var(x, axis=ax, keepdims=kd, ddof=1),
    "std": lambda x, ax, kd: np.std(x, axis=ax, keepdims=kd, ddof=1),
}


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("op", list(REF))
def test_reduction_matches_numpy(op, dim, dtype, device, data):
    npdt, rtol, atol = DTYPES[dtype]
    x = data.astype(npdt)
    t = T(x, device)
    for keepdim in (False, True):
        out = getattr(pydl, op)(t, dim=dim, keepdim=keepdim)
        expected = REF[op](x.astype(np.float64), np_axis(dim), keepdim)
        assert out.dtype == t.dtype, (op, out.dtype)
        assert_close(out, expected, rtol=rtol, atol=atol)
        # the method form agrees
        assert_close(getattr(t, op)(dim=dim, keepdim=keepdim), expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_max_min_without_dim_and_with_tuple_dims(dtype, device, data):
    npdt, _, _ = DTYPES[dtype]
    x = data.astype(npdt)
    t = T(x, device)
    assert t.max().shape == () and float(t.max()) == x.max()
    assert t.min().shape == () and float(t.min()) == x.min()
    assert_close(t.max(dim=(0, 2)), x.max(axis=(0, 2)), 0, 0)
    assert_close(t.min(dim=(0, 2), keepdim=True), x.min(axis=(0, 2), keepdims=True), 0, 0)


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2])
def test_max_min_dim_return_values_and_indices(dtype, dim, device, data):
    npdt, _, _ = DTYPES[dtype]
    x = data.astype(npdt)
    t = T(x, device)
    for keepdim in (False, True):
        for fn, ref, arg in ((pydl.max, np.max, np.argmax), (pydl.min, np.min, np.argmin)):
            res = fn(t, dim, keepdim=keepdim)
            assert isinstance(res, tuple) and type(res).__name__ == "values_indices"
            values, indices = res  # unpacks as a pair
            assert values is res.values and indices is res.indices
            assert indices.dtype == pydl.int64 and values.dtype == t.dtype
            assert_close(values, ref(x, axis=dim, keepdims=keepdim), 0, 0)
            assert_close(indices, arg(x, axis=dim, keepdims=keepdim) if keepdim else arg(x, axis=dim), 0, 0)
    # method form
    assert_close(t.max(dim).values, x.max(axis=dim), 0, 0)
    assert_close(t.min(dim=dim).indices, x.argmin(axis=dim), 0, 0)


def test_max_min_dim_tie_breaking_takes_first_index(device):
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 1.0, 1.0], [5.0, 5.0, 5.0, 5.0]])
    t = T(x, device)
    assert t.max(1).indices.tolist() == [1, 0, 0]
    assert t.min(1).indices.tolist() == [3, 2, 0]
    assert t.max(0).indices.tolist() == [2, 2, 2, 2]
    assert t.min(0).indices.tolist() == [0, 1, 1, 0]
    assert t.argmax(1).tolist() == [1, 0, 0]
    assert t.argmin(dim=1).tolist() == [3, 2, 0]
    assert int(t.argmax()) == 8 and int(t.argmin()) == 3  # flat, first occurrence


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_argmax_argmin(dtype, device, data):
    npdt, _, _ = DTYPES[dtype]
    x = data.astype(npdt)
    t = T(x, device)
    assert t.argmax().shape == () and int(t.argmax()) == int(np.argmax(x))
    assert int(pydl.argmin(t)) == int(np.argmin(x))
    assert t.argmax(keepdim=True).shape == (1, 1, 1)  # as torch: keepdim with dim=None keeps every dim
    assert int(t.argmax(keepdim=True).reshape(-1)[0]) == int(np.argmax(x))
    for dim in (0, 1, 2, -1):
        out = pydl.argmax(t, dim)
        assert out.dtype == pydl.int64
        assert_close(out, np.argmax(x, axis=dim), 0, 0)
        assert_close(pydl.argmin(t, dim, keepdim=True), np.argmin(x, axis=dim, keepdims=True), 0, 0)


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 2)], ids=str)
def test_var_std_corrections(dtype, dim, device, data):
    npdt, rtol, atol = DTYPES[dtype]
    x = data.astype(npdt)
    t = T(x, device)
    xd, ax = x.astype(np.float64), np_axis(dim)
    cases = [
        ({}, 1),  # PyTorch's default: Bessel's correction
        ({"unbiased": True}, 1),
        ({"unbiased": False}, 0),
        ({"correction": 0}, 0),
        ({"correction": 1}, 1),
        ({"correction": 2}, 2),
    ]
    for kwargs, ddof in cases:
        assert_close(pydl.var(t, dim, **kwargs), np.var(xd, axis=ax, ddof=ddof), rtol, atol)
        assert_close(t.std(dim, **kwargs), np.std(xd, axis=ax, ddof=ddof), rtol, atol)
        assert_close(t.var(dim, keepdim=True, **kwargs), np.var(xd, axis=ax, ddof=ddof, keepdims=True), rtol, atol)


def test_var_of_one_element_with_correction_is_nan(device):
    t = T([[1.5], [2.5]], device)
    assert np.isnan(t.var(1).cpu().numpy()).all()
    assert_close(t.var(1, correction=0), [0.0, 0.0], 0, 0)


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_var_is_two_pass_accurate_with_a_large_mean(dtype, device, rng):
    # a one-pass E[x^2] - E[x]^2 loses everything in float32 here
    npdt, _, _ = DTYPES[dtype]
    x = (1000.0 + rng.standard_normal(200_000)).astype(npdt)
    t = T(x, device)
    ref = np.var(x.astype(np.float64), ddof=1)
    assert abs(float(t.var()) - ref) / ref < 1e-5
    cols = x.reshape(-1, 4)
    assert_close(T(cols, device).var(0), np.var(cols.astype(np.float64), axis=0, ddof=1), rtol=1e-5, atol=0)


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_all_any(dtype, device, rng):
    npdt, _, _ = DTYPES[dtype]
    x = (rng.random((4, 5, 6)) > 0.2).astype(npdt) * rng.standard_normal((4, 5, 6)).astype(npdt)
    x[1] = 1.0  # a slice that is all nonzero
    x[2] = 0.0  # and one that is all zero
    t = T(x, device)
    assert t.all().dtype == pydl.bool and t.all().shape == ()
    assert bool(t.all()) == bool(np.all(x)) and bool(t.any()) == bool(np.any(x))
    for dim in (0, 1, 2, -1, (1, 2), (0, 2)):
        for keepdim in (False, True):
            assert_close(pydl.all(t, dim, keepdim), np.all(x, axis=dim, keepdims=keepdim), 0, 0)
            assert_close(t.any(dim, keepdim=keepdim), np.any(x, axis=dim, keepdims=keepdim), 0, 0)
    b = T(x != 0, device)
    assert b.dtype == pydl.bool
    assert_close(b.all(1), np.all(x, axis=1), 0, 0)
    assert_close(b.any(-1), np.any(x, axis=-1), 0, 0)
    assert bool(T([1.0, np.nan], device).all())  # NaN is nonzero, as in torch


def test_all_any_of_empty(device):
    e = T(np.zeros((0, 3)), device)
    assert bool(e.all()) is True and bool(e.any()) is False
    assert_close(e.all(0), np.ones(3, dtype=bool), 0, 0)
    assert_close(e.any(0), np.zeros(3, dtype=bool), 0, 0)
    assert e.all(1).shape == (0,)


def test_sum_of_int_and_bool_is_int64(device, rng):
    ints = rng.integers(-1000, 1000, size=(6, 7)).astype(np.int64)
    t = T(ints, device)
    assert t.sum().dtype == pydl.int64 and int(t.sum()) == int(ints.sum())
    assert t.sum(0).dtype == pydl.int64
    assert_close(t.sum(0), ints.sum(0), 0, 0)
    assert_close(t.sum((0, 1), keepdim=True), ints.sum((0, 1), keepdims=True), 0, 0)
    big = T(np.arange(100_000, dtype=np.int64), device)
    assert int(big.sum()) == 4_999_950_000  # beyond int32
    mask = T(ints > 0, device)
    assert mask.sum().dtype == pydl.int64 and int(mask.sum()) == int((ints > 0).sum())
    assert_close(mask.sum(1), (ints > 0).sum(1), 0, 0)
    u8 = T(np.full(1000, 255, dtype=np.uint8), device)
    assert u8.sum().dtype == pydl.int64 and int(u8.sum()) == 255_000  # no uint8 wrap-around
    assert_close(t.sum(dtype=pydl.float64), float(ints.sum()), 0, 0)


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_non_contiguous_inputs(dtype, device, rng):
    npdt, rtol, atol = DTYPES[dtype]
    base = rng.standard_normal((6, 8, 10)).astype(npdt)
    t = T(base, device)
    views = {
        "T": (t.T, base.T),
        "transpose": (t.transpose(0, 2), base.transpose(2, 1, 0)),
        "permute": (t.permute(1, 2, 0), base.transpose(1, 2, 0)),
        "stepped": (t[::2, 1::3, ::4], base[::2, 1::3, ::4]),
        "stepped_T": (t[1::2, :, ::3].transpose(1, 2), base[1::2, :, ::3].transpose(0, 2, 1)),
    }
    for name, (v, ref) in views.items():
        assert not v.is_contiguous(), name
        r = ref.astype(np.float64)
        for dim in (None, 0, 1, -1, (0, 2), (0, 1)):
            ax = np_axis(dim)
            assert_close(v.sum(dim), r.sum(axis=ax), rtol, atol)
            assert_close(v.mean(dim, keepdim=True), r.mean(axis=ax, keepdims=True), rtol, atol)
            assert_close(v.amax(dim), r.max(axis=ax), 0, 0)
            assert_close(v.var(dim), r.var(axis=ax, ddof=1), rtol, atol)
        for dim in (0, 1, 2):
            vals, idx = v.min(dim)
            assert_close(vals, r.min(axis=dim), 0, 0)
            assert_close(idx, r.argmin(axis=dim), 0, 0)
            assert_close(v.argmax(dim), r.argmax(axis=dim), 0, 0)
        assert int(v.argmax()) == int(np.argmax(r)), name  # flat index in the view's logical order


def test_zero_dim_tensors(device):
    t = T(np.array(3.5), device)
    assert t.shape == ()
    for fn in (pydl.sum, pydl.mean, pydl.amax, pydl.amin, pydl.max, pydl.min):
        out = fn(t)
        assert out.shape == () and float(out) == 3.5, fn.__name__
    assert pydl.sum(t, 0).shape == () and float(pydl.sum(t, -1)) == 3.5  # a 0-d tensor accepts dim 0 / -1
    assert pydl.sum(t, 0, keepdim=True).shape == ()
    values, indices = t.max(0)
    assert values.shape == () and float(values) == 3.5 and int(indices) == 0
    assert int(t.argmax()) == 0 and int(t.argmin(0)) == 0
    assert float(t.var(correction=0)) == 0.0
    assert bool(t.all()) and bool(t.any())
    with pytest.raises(IndexError, match="sum"):
        t.sum(1)


def test_empty_tensors(device):
    e1 = T(np.zeros(0), device)
    assert e1.sum().shape == () and float(e1.sum()) == 0.0
    assert int(T(np.zeros(0, dtype=np.int64), device).sum()) == 0
    assert np.isnan(float(e1.mean()))
    e = T(np.zeros((0, 3)), device)
    assert_close(e.sum(0), np.zeros(3), 0, 0)
    assert_close(e.sum(0, keepdim=True), np.zeros((1, 3)), 0, 0)
    assert e.sum(1).shape == (0,)
    assert e.amax(1).shape == (0,)  # nothing to reduce per row: fine
    assert e.max(1).values.shape == (0,) and e.max(1).indices.shape == (0,)
    for call in (lambda: e.max(0), lambda: e.min(0), lambda: e.amax(0), lambda: e.amin(0), lambda: e.max(),
                 lambda: e.argmax(), lambda: e.argmin(0), lambda: e1.max()):
        with pytest.raises(IndexError, match="zero-size"):
            call()


def test_float32_sum_of_a_million_values_is_accurate(device, rng):
    ones = np.full(10**6, 0.1, dtype=np.float32)
    ref = np.sum(ones.astype(np.float64))
    # (naive sequential float32 accumulation is ~1% off here: 100958.34 instead of 100000.0)
    t = T(ones, device)
    assert t.dtype == pydl.float32
    assert abs(float(t.sum()) - ref) / ref < 1e-6
    assert abs(float(t.mean()) - ref / 1e6) / (ref / 1e6) < 1e-6
    r = rng.random(10**6).astype(np.float32)
    tr = T(r, device)
    ref_r = np.sum(r.astype(np.float64))
    assert abs(float(tr.sum()) - ref_r) / ref_r < 1e-6
    # a 2-d row-wise sum and the full sum of a 2-d view of the same data
    m = r.reshape(1000, 1000)
    assert abs(float(T(m, device).sum()) - ref_r) / ref_r < 1e-6
    assert_close(T(m, device).sum(1), m.astype(np.float64).sum(1), rtol=1e-6, atol=0)


def test_float32_column_sums_are_accurate(device, rng):
    x = (rng.random((100_000, 3)) + 0.05).astype(np.float32)
    x[:, 1] = np.float32(0.1)
    t = T(x, device)
    ref = x.astype(np.float64).sum(0)
    got = t.sum(0).cpu().numpy().astype(np.float64)
    assert np.max(np.abs(got - ref) / ref) < 1e-6
    got_mean = t.mean(0).cpu().numpy().astype(np.float64)
    assert np.max(np.abs(got_mean - ref / 100_000) / (ref / 100_000)) < 1e-6
    # the same columns through a transposed (non-contiguous) view, reduced along its last dim
    got_t = t.T.sum(1).cpu().numpy().astype(np.float64)
    assert np.max(np.abs(got_t - ref) / ref) < 1e-6
    # non-adjacent dims of a 3-d array (outer and inner reduced, the middle kept)
    y = x.reshape(1000, 3, 100)
    ref_y = y.astype(np.float64).sum((0, 2))
    assert np.max(np.abs(T(y, device).sum((0, 2)).cpu().numpy() - ref_y) / ref_y) < 1e-6


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_nan_propagation(dtype, device):
    npdt, _, _ = DTYPES[dtype]
    x = np.array([[1.0, np.nan, 3.0, np.nan], [4.0, 2.0, 8.0, 0.0]], dtype=npdt)
    t = T(x, device)
    assert np.isnan(float(t.max())) and np.isnan(float(t.min()))
    assert np.isnan(float(t.amax())) and np.isnan(float(t.sum()))
    assert_close(t.amax(1), [np.nan, 8.0], 0, 0)  # assert_allclose treats NaN == NaN
    assert_close(t.amin(0), [1.0, np.nan, 3.0, np.nan], 0, 0)
    values, indices = t.max(1)
    assert_close(values, [np.nan, 8.0], 0, 0)
    assert indices.tolist() == [1, 2]  # the first NaN wins
    values, indices = t.min(1)
    assert_close(values, [np.nan, 0.0], 0, 0)
    assert indices.tolist() == [1, 3]
    assert t.argmax(1).tolist() == [1, 2] and int(t.argmax()) == 1
    assert int(T(np.array([5.0, 7.0, np.nan], dtype=npdt), device).argmin()) == 2


@pytest.mark.parametrize("name,call", [
    ("sum", lambda t: t.sum(3)),
    ("sum", lambda t: t.sum((0, -4))),
    ("mean", lambda t: t.mean(-4)),
    ("max", lambda t: t.amax(3)),
    ("min", lambda t: t.amin((5,))),
    ("max", lambda t: t.max(3)),
    ("min", lambda t: t.min(-4)),
    ("argmax", lambda t: t.argmax(3)),
    ("argmin", lambda t: t.argmin(-4)),
    ("var", lambda t: t.var(3)),
    ("var", lambda t: t.std(-5)),
])
def test_bad_dim_raises_index_error_naming_the_op(name, call, device, data):
    with pytest.raises(IndexError, match=rf"^{name}\b.*out of range"):
        call(T(data, device))


@pytest.mark.parametrize("call", [
    lambda t: t.sum((0, 0)),
    lambda t: t.sum((1, -2)),
    lambda t: t.mean((2, -1)),
    lambda t: t.amax((0, 1, 0)),
    lambda t: t.amin((-3, 0)),
    lambda t: t.var((1, 1)),
    lambda t: t.max((2, 2)),
])
def test_duplicate_dims_raise_value_error(call, device, data):
    with pytest.raises(ValueError, match="more than once"):
        call(T(data, device))


def test_parallel_reductions_agree_with_one_thread(device, rng):
    x = rng.standard_normal((2000, 50))
    t = T(x, device)
    before = pydl.get_num_threads()
    try:
        results = []
        for n in (1, 2):
            pydl.set_num_threads(n)
            results.append([t.sum(1), t.sum(0), t.var(1), t.max(0).indices, t.argmin(1), t.amax(1)])
    finally:
        pydl.set_num_threads(before)
    refs = [x.sum(1), x.sum(0), x.var(1, ddof=1), x.argmax(0), x.argmin(1), x.max(1)]
    for got in results:
        for g, r in zip(got, refs):
            assert_close(g, r, rtol=1e-12, atol=1e-12)


def test_against_torch(device, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((4, 5, 6))
    t, tt = T(x, device), torch.tensor(x)
    assert_close(t.var(), tt.var().numpy(), 1e-12, 1e-12)
    assert_close(t.std((0, 2), keepdim=True), tt.std((0, 2), keepdim=True).numpy(), 1e-12, 1e-12)
    assert_close(t.var(1, unbiased=False), tt.var(1, unbiased=False).numpy(), 1e-12, 1e-12)
    for dim in (0, 1, 2):
        v, i = t.max(dim)
        tv, ti = tt.max(dim)
        assert_close(v, tv.numpy(), 0, 0)
        assert_close(i, ti.numpy(), 0, 0)
    assert int(t.argmax()) == int(tt.argmax())
    b = torch.tensor([True, False, True])
    assert pydl.tensor(b.numpy()).sum().dtype == pydl.int64 and b.sum().dtype == torch.int64


@pytest.mark.parametrize("op", ["sum", "mean", "var", "max", "min"])
def test_whole_reductions_of_permuted_and_strided_views(op, rng):
    """Reducing every axis of a transposed or permuted array reads its memory in place; a view with
    gaps (a step) still gives the logical result. Each against numpy in float64."""
    base = rng.standard_normal((6, 5, 7))
    views = {"transposed": lambda t: t.transpose(0, 1), "permuted": lambda t: t.permute(2, 0, 1),
             "stepped": lambda t: t[:, ::2]}
    npviews = {"transposed": lambda a: a.transpose(1, 0, 2), "permuted": lambda a: a.transpose(2, 0, 1),
               "stepped": lambda a: a[:, ::2]}
    for name, view in views.items():
        got = getattr(view(pydl.tensor(base)), op)().item()
        want = getattr(npviews[name](base), op)(**({"ddof": 1} if op == "var" else {}))
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12), name
