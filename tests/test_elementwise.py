"""Elementwise ops against numpy: values, broadcasting, strided inputs, dtype promotion,
extreme values, in-place ops and error messages."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import pydl
from conftest import assert_close

FLOATS = [pydl.float32, pydl.float64]
# (rtol, atol) per dtype: float64 results must agree with numpy to rounding.
TOL = {pydl.float32: (2e-6, 1e-6), pydl.float64: (1e-12, 1e-12)}


def make(rng, shape, dtype, device, low=-2.0, high=2.0):
    """A numpy array of dtype's precision and the pydl tensor holding the same values."""
    a = rng.uniform(low, high, size=shape).astype(dtype.numpy)
    return a, pydl.tensor(a, device=device)


def ids(dtype):
    return dtype.name


BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power,
    "maximum": np.maximum, "minimum": np.minimum,
}
COMPARE = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater,
           "ge": np.greater_equal}


# ---------------------------------------------------------------------- values
@pytest.mark.parametrize("dtype", FLOATS, ids=ids)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_ops_match_numpy(name, dtype, device, rng):
    a, x = make(rng, (5, 7), dtype, device, 0.5, 2.0)  # positive: pow stays real
    b, y = make(rng, (5, 7), dtype, device, -2.0, 2.0)
    expected = BINARY[name](a, b)
    rtol, atol = TOL[dtype]
    for out in (getattr(pydl, name)(x, y), getattr(x, name)(y)):
        assert out.dtype == dtype
        assert out.device == pydl.device(device)
        assert_close(out, expected, rtol, atol)


@pytest.mark.parametrize("dtype", FLOATS, ids=ids)
@pytest.mark.parametrize("name", sorted(COMPARE))
def test_comparisons_match_numpy(name, dtype, device, rng):
    # small integers stored as floats, so that ties (eq, le, ge) really happen
    a = rng.integers(-2, 3, size=(6, 5)).astype(dtype.numpy)
    b = rng.integers(-2, 3, size=(6, 5)).astype(dtype.numpy)
    x, y = pydl.tensor(a, device=device), pydl.tensor(b, device=device)
    expected = COMPARE[name](a, b)
    assert expected.any() and not expected.all()
    for out in (getattr(pydl, name)(x, y), getattr(x, name)(y), getattr(pydl, name)(x, 1.0)):
        assert out.dtype == pydl.bool
    np.testing.assert_array_equal(getattr(pydl, name)(x, y).cpu().numpy(), expected)
    np.testing.assert_array_equal(getattr(pydl, name)(x, 1.0).cpu().numpy(), COMPARE[name](a, 1.0))
    np.testing.assert_array_equal(getattr(pydl, name)(x, 1).cpu().numpy(), COMPARE[name](a, 1))


@pytest.mark.parametrize("dtype", FLOATS, ids=ids)
def test_comparison_operators(dtype, device):
    a = np.array([1.0, 2.0, 3.0], dtype=dtype.numpy)
    x = pydl.tensor(a, device=device)
    y = pydl.tensor([3.0, 2.0, 1.0], dtype=dtype, device=device)
    cases = {
        "==": (x == y, [False, True, False]), "!=": (x != y, [True, False, True]),
        "<": (x < y, [True, False, False]), "<=": (x <= y, [True, True, False]),
        ">": (x > y, [False, False, True]), ">=": (x >= y, [False, True, True]),
        "> scalar": (x > 2, [False, False, True]), "scalar <": (2 < x, [False, False, True]),
        "== scalar": (x == 2.0, [False, True, False]),
    }
    for label, (out, expected) in cases.items():
        assert out.dtype == pydl.bool, label
        assert out.tolist() == expected, label


UNARY = {
    # name: (numpy reference, low, high)
    "neg": (np.negative, -3, 3), "exp": (np.exp, -5, 5), "log": (np.log, 0.01, 10), "sqrt": (np.sqrt, 0, 10),
    "rsqrt": (lambda v: 1 / np.sqrt(v), 0.01, 10), "abs": (np.abs, -3, 3), "sign": (np.sign, -3, 3),
    "tanh": (np.tanh, -5, 5), "sigmoid": (lambda v: 1 / (1 + np.exp(-v)), -10, 10),
    "relu": (lambda v: np.maximum(v, 0), -3, 3),
}


@pytest.mark.parametrize("dtype", FLOATS, ids=ids)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops_match_numpy(name, dtype, device, rng):
    ref, low, high = UNARY[name]
    a, x = make(rng, (4, 9), dtype, device, low, high)
    # reference in float64 from the same (rounded) inputs
    expected = ref(a.astype(np.float64))
    rtol, atol = TOL[dtype]
    for out in (getattr(pydl, name)(x), getattr(x, name)()):
        assert out.dtype == dtype
        assert out.shape == x.shape
        assert_close(out, expected, rtol, atol)


@pytest.mark.parametrize("dtype", FLOATS, ids=ids)
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (1,)], ids=str)
def test_unary_ops_on_0d_and_empty(shape, dtype, device, rng):
    a, x = make(rng, shape, dtype, device, 0.5, 2.0)
    for name, (ref, _, _) in sorted(UNARY.items()):
        out = getattr(pydl, name)(x)
        assert out.shape == shape and out.dtype == dtype, name
        assert_close(out, ref(a.astype(np.float64)), *TOL[dtype])


@pytest.mark.parametrize("dtype", FLOATS, ids=ids)
def test_numpy_scalars_act_as_python_scalars(dtype, device):
    x = pydl.tensor([1.0, 2.0], dtype=dtype, device=device)
    for out in (x * np.float64(2.5), np.float64(2.5) * x, x + np.float32(1), np.int64(3) - x):
        assert isinstance(out, pydl.Tensor) and out.dtype == dtype
    assert (np.int64(3) - x).tolist() == [2.0, 1.0]
    assert (pydl.tensor([1, 2], device=device) * np.float32(1.5)).dtype == pydl.float32


@pytest.mark.parametrize("dtype", FLOATS, ids=ids)
def test_sign_abs_relu_at_zero(dtype, device):
    x = pydl.tensor([-2.5, -0.0, 0.0, 3.0], dtype=dtype, device=device)
    assert pydl.sign(x).tolist() == [-1.0, 0.0, 0.0, 1.0]
    assert pydl.abs(x).tolist() == [2.5, 0.0, 0.0, 3.0]
    assert abs(x).tolist() == [2.5, 0.0, 0.0, 3.0]
    assert pydl.relu(x).tolist() == [0.0, 0.0, 0.0, 3.0]


def test_integer_unary_ops(device):
    x = pydl.tensor([-3, 0, 4], device=device)
    assert (-x).tolist() == [3, 0, -4] and (-x).dtype == pydl.int64
    assert pydl.abs(x).tolist() == [3, 0, 4] and pydl.abs(x).dtype == pydl.int64
    assert pydl.sign(x).tolist() == [-1, 0, 1]
    assert pydl.relu(x).tolist() == [0, 0, 4]
    # transcendental ops promote integers to float32
    e = pydl.exp(x)
    assert e.dtype == pydl.float32
    assert_close(e, np.exp([-3.0, 0.0, 4.0]), 1e-6, 0)
    assert_close(pydl.sqrt(pydl.tensor([4, 9], device=device)), [2.0, 3.0], 0, 0)


@pytest.mark.parametrize("dtype", FLOATS, ids=ids)
def test_clamp(dtype, device, rng):
    a, x = make(rng, (6, 6), dtype, device, -3, 3)
    rtol, atol = TOL[dtype]
    assert_close(pydl.clamp(x, -1.0, 1.5), np.clip(a, -1.0, 1.5), 0, 0)
    assert_close(x.clamp(min=0.25), np.maximum(a, 0.25), 0, 0)
    assert_close(x.clamp(max=-0.5), np.minimum(a, -0.5), 0, 0)
    assert_close(pydl.clip(x, -1, 1), np.clip(a, -1, 1), 0, 0)
    assert pydl.clamp(x, -1.0, 1.0).dtype == dtype
    lo_np = rng.uniform(-1, 0, size=(6, 1)).astype(dtype.numpy)
    lo = pydl.tensor(lo_np, device=device)
    assert_close(pydl.clamp(x, min=lo, max=2.0 * 1), np.minimum(np.maximum(a, lo_np), 2.0), rtol, atol)
    with pytest.raises(ValueError, match="clamp"):
        pydl.clamp(x)


def test_clamp_integer_tensor(device):
    x = pydl.tensor([-5, 0, 5], device=device)
    out = x.clamp(-2, 3)
    assert out.dtype == pydl.int64 and out.tolist() == [-2, 0, 3]
    out = x.clamp(-2.5, 3.5)  # a float bound makes an integer tensor float32
    assert out.dtype == pydl.float32 and out.tolist() == [-2.5, 0.0, 3.5]


@pytest.mark.parametrize("dtype", FLOATS, ids=ids)
def test_where(dtype, device, rng):
    a, x = make(rng, (3, 4), dtype, device)
    b, y = make(rng, (4,), dtype, device)
    cond = x > 0
    assert_close(pydl.where(cond, x, y), np.where(a > 0, a, b), 0, 0)
    assert_close(x.where(cond, y), np.where(a > 0, a, b), 0, 0)
    assert_close(pydl.where(cond, x, 0.0), np.where(a > 0, a, 0.0), 0, 0)
    assert_close(pydl.where(cond, -1.5, x), np.where(a > 0, -1.5, a), 0, 0)
    assert pydl.where(cond, x, 0.0).dtype == dtype
    both = pydl.where(cond, 2.0, -1)  # two Python scalars: PyTorch's default-dtype result
    assert both.dtype == pydl.float32 and both.device == cond.device
    np.testing.assert_array_equal(both.cpu().numpy(), np.where(a > 0, 2.0, -1.0))
    assert pydl.where(cond, 1, 0).dtype == pydl.int64
    # condition broadcasts too
    c_row = pydl.tensor([True, False, True, False], device=device)
    assert_close(pydl.where(c_row, x, y), np.where([True, False, True, False], a, b), 0, 0)
    with pytest.raises(TypeError, match="bool"):
        pydl.where(x, x, y)
    with pytest.raises(ValueError, match="where"):
        pydl.where(cond, x, pydl.zeros(5, dtype=dtype, device=device))


# ---------------------------------------------------------------------- operators
@pytest.mark.parametrize("dtype", FLOATS, ids=ids)
def test_operator_overloads(dtype, device, rng):
    a, x = make(rng, (3, 4), dtype, device, 0.5, 2.0)
    b, y = make(rng, (3, 4), dtype, device, 0.5, 2.0)
    rtol, atol = TOL[dtype]
    cases = {
        "x + y": (x + y, a + b), "x - y": (x - y, a - b), "x * y": (x * y, a * b), "x / y": (x / y, a / b),
        "x ** y": (x ** y, a ** b), "-x": (-x, -a), "+x": (+x, a), "abs(-x)": (abs(-x), a),
        "x + 1": (x + 1, a + 1), "1 + x": (1 + x, 1 + a), "x - 0.5": (x - 0.5, a - 0.5),
        "2 - x": (2 - x, 2 - a), "3 * x": (3 * x, 3 * a), "x * 2.5": (x * 2.5, a * 2.5),
        "x / 4": (x / 4, a / 4), "2 / x": (2 / x, 2 / a), "2 ** x": (2 ** x, 2.0 ** a),
        "x ** 2": (x ** 2, a ** 2), "x ** 0.5": (x ** 0.5, np.sqrt(a)), "x ** -1": (x ** -1, 1 / a),
        "x @ y.T": (x @ y.T, a @ b.T),
    }
    for label, (out, expected) in cases.items():
        assert isinstance(out, pydl.Tensor), label
        assert out.dtype == dtype, label
        assert_close(out, np.asarray(expected, dtype=np.float64), max(rtol, 1e-11 if dtype == pydl.float64 else 0), atol)


@pytest.mark.parametrize("dtype", FLOATS, ids=ids)
def test_matmul_operator_shapes(dtype, device, rng):
    a, x = make(rng, (2, 3, 4), dtype, device)
    b, y = make(rng, (4, 5), dtype, device)
    v, vt = make(rng, (4,), dtype, device)
    rtol = 1e-5 if dtype == pydl.float32 else 1e-12
    assert_close(x @ y, a @ b, rtol, 1e-6)
    assert_close(y.T @ vt, b.T @ v, rtol, 1e-6)
    out = vt @ vt
    assert out.shape == () and abs(out.item() - float(v @ v)) <= 1e-5 * abs(float(v @ v))


def test_numpy_array_on_the_left_defers_to_tensor(device):
    x = pydl.tensor([1.0, 2.0, 3.0], device=device)
    n = np.array([10.0, 20.0, 30.0], dtype=np.float32)
    out = n + x
    assert isinstance(out, pydl.Tensor)
    assert out.tolist() == [11.0, 22.0, 33.0]
    out = n - x
    assert isinstance(out, pydl.Tensor) and out.tolist() == [9.0, 18.0, 27.0]


def test_list_operand(device):
    x = pydl.tensor([1.0, 2.0], device=device)
    assert (x + [10, 20]).tolist() == [11.0, 22.0]
    assert pydl.mul([2.0, 3.0], x).tolist() == [2.0, 6.0]


# ---------------------------------------------------------------------- broadcasting
BROADCAST_SHAPES = [
    ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((2, 3, 4), (3, 1)), ((), (3,)), ((2, 3), ()), ((), ()),
    ((5, 1, 3), (4, 1)), ((1,), (2, 2)), ((0,), ()), ((0, 3), (1, 3)), ((5, 0), (5, 1)), ((1,), (0,)),
    ((2, 1, 1, 3), (1, 4, 2, 1)),
]


@pytest.mark.parametrize("dtype", FLOATS, ids=ids)
@pytest.mark.parametrize("sa, sb", BROADCAST_SHAPES, ids=str)
def test_broadcasting(sa, sb, dtype, device, rng):
    a, x = make(rng, sa, dtype, device, 0.5, 2)
    b, y = make(rng, sb, dtype, device, 0.5, 2)
    rtol, atol = TOL[dtype]
    assert x.shape == sa and y.shape == sb
    for name in ("add", "mul", "div", "pow", "maximum"):
        out = getattr(pydl, name)(x, y)
        assert out.shape == np.broadcast_shapes(sa, sb), name
        assert_close(out, BINARY[name](a, b), rtol, atol)
        assert_close(getattr(pydl, name)(y, x), BINARY[name](b, a), rtol, atol)
    np.testing.assert_array_equal(pydl.lt(x, y).cpu().numpy(), a < b)
    cond = x > 1
    assert_close(pydl.where(cond, x, y), np.where(a > 1, a, b), 0, 0)


@settings(max_examples=40, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=4),
       name=st.sampled_from(sorted(BINARY)), dtype=st.sampled_from(FLOATS), seed=st.integers(0, 2 ** 16))
def test_broadcasting_property(shapes, name, dtype, seed):
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    a, x = make(rng, sa, dtype, "cpu", 0.5, 2)
    b, y = make(rng, sb, dtype, "cpu", -2, 2)
    out = getattr(pydl, name)(x, y)
    assert out.shape == shapes.result_shape
    assert_close(out, BINARY[name](a, b), *TOL[dtype])


@settings(max_examples=25, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3),
       seed=st.integers(0, 2 ** 16))
def test_where_broadcasting_property(shapes, seed):
    rng = np.random.default_rng(seed)
    sc, sa, sb = shapes.input_shapes
    c = rng.uniform(size=sc) > 0.5
    a = rng.standard_normal(sa)
    b = rng.standard_normal(sb)
    out = pydl.where(pydl.tensor(c), pydl.tensor(a), pydl.tensor(b))
    assert_close(out, np.where(c, a, b), 0, 0)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "lt", "ge"])
def test_broadcast_error_names_op_and_shapes(name, device):
    x = pydl.ones(2, 3, device=device)
    y = pydl.ones(4, device=device)
    with pytest.raises(ValueError) as info:
        getattr(pydl, name)(x, y)
    msg = str(info.value)
    assert name in msg and "(2, 3)" in msg and "(4,)" in msg


def test_broadcast_error_from_operator(device):
    with pytest.raises(ValueError, match=r"add.*\(3, 2\).*\(3,\)"):
        pydl.ones(3, 2, device=device) + pydl.ones(3, device=device)
    with pytest.raises(ValueError, match=r"mul.*\(2, 0\).*\(3,\)"):
        pydl.ones(2, 0, device=device) * pydl.ones(3, device=device)


# ---------------------------------------------------------------------- strided inputs
@pytest.mark.parametrize("dtype", FLOATS, ids=ids)
def test_non_contiguous_inputs(dtype, device, rng):
    a, x = make(rng, (6, 9), dtype, device, 0.5, 2)
    b, y = make(rng, (9, 6), dtype, device, 0.5, 2)
    c, z = make(rng, (3, 4, 5), dtype, device, 0.5, 2)
    rtol, atol = TOL[dtype]
    assert not x.T.is_contiguous()
    assert_close(x.T + y, a.T + b, rtol, atol)
    assert_close(x * y.transpose(0, 1), a * b.T, rtol, atol)
    xs = x[::2, 1::3]
    assert xs.shape == (3, 3) and not xs.is_contiguous()
    assert_close(xs * y[1::3, ::2], a[::2, 1::3] * b[1::3, ::2], rtol, atol)
    assert_close(xs - 1.0, a[::2, 1::3] - 1.0, rtol, atol)
    assert_close(pydl.exp(xs), np.exp(a[::2, 1::3].astype(np.float64)), rtol, atol)
    assert_close(pydl.sqrt(x.T), np.sqrt(a.T.astype(np.float64)), rtol, atol)
    assert_close(pydl.maximum(z.transpose(0, 2), z.permute(2, 1, 0) * 0.9 + 0.2),
                 np.maximum(c.transpose(2, 1, 0), c.transpose(2, 1, 0) * dtype.numpy.type(0.9) + dtype.numpy.type(0.2)),
                 rtol, atol)
    zp, cp = z.permute(2, 0, 1), c.transpose(2, 0, 1)
    assert_close(zp / zp[:, :, :1], cp / cp[:, :, :1], rtol, atol)
    e = pydl.tensor(c[:, :1, :], device=device).expand(3, 4, 5)  # stride-0 input
    assert e.stride()[1] == 0
    assert_close(e * z, c[:, :1, :] * c, rtol, atol)
    assert_close(pydl.where(xs > 1, xs, x.T[1::3, ::2]), np.where(a[::2, 1::3] > 1, a[::2, 1::3], a.T[1::3, ::2]),
                 0, 0)
    # the result of an op on strided inputs is a fresh contiguous tensor
    assert (x.T + y).is_contiguous()


# ---------------------------------------------------------------------- dtype promotion
def test_dtype_promotion(device):
    i = pydl.tensor([1, 2, 3], device=device)
    f = pydl.tensor([0.5, 1.5, 2.5], device=device)
    d = pydl.tensor([0.5, 1.5, 2.5], dtype=pydl.float64, device=device)
    b = pydl.tensor([True, False, True], device=device)
    u = pydl.tensor([1, 2, 3], dtype=pydl.uint8, device=device)
    assert i.dtype == pydl.int64 and f.dtype == pydl.float32 and b.dtype == pydl.bool
    cases = [
        (i + f, pydl.float32, [1.5, 3.5, 5.5]),
        (f + i, pydl.float32, [1.5, 3.5, 5.5]),
        (f * d, pydl.float64, [0.25, 2.25, 6.25]),
        (i * d, pydl.float64, [0.5, 3.0, 7.5]),
        (i / pydl.tensor([2, 4, 4], device=device), pydl.float32, [0.5, 0.5, 0.75]),
        (i / 2, pydl.float32, [0.5, 1.0, 1.5]),
        (3 / i, pydl.float32, [3.0, 1.5, 1.0]),
        (f * 2.5, pydl.float32, [1.25, 3.75, 6.25]),
        (d * 2.5, pydl.float64, [1.25, 3.75, 6.25]),
        (f * 2, pydl.float32, [1.0, 3.0, 5.0]),
        (i + 2.5, pydl.float32, [3.5, 4.5, 5.5]),
        (2.5 - i, pydl.float32, [1.5, 0.5, -0.5]),
        (i + 2, pydl.int64, [3, 4, 5]),
        (i * i, pydl.int64, [1, 4, 9]),
        (i ** 2, pydl.int64, [1, 4, 9]),
        (b + 1, pydl.int64, [2, 1, 2]),
        (b + b, pydl.int64, [2, 0, 2]),
        (b * 1.5, pydl.float32, [1.5, 0.0, 1.5]),
        (b + i, pydl.int64, [2, 2, 4]),
        (u + i, pydl.int64, [2, 4, 6]),
        (u + f, pydl.float32, [1.5, 3.5, 5.5]),
        (u * 2, pydl.uint8, [2, 4, 6]),
        (i > f, pydl.bool, [True, True, True]),
        (i == 2, pydl.bool, [False, True, False]),
        (f < 1.0, pydl.bool, [True, False, False]),
        (i < 2.5, pydl.bool, [True, True, False]),
        (b == 1, pydl.bool, [True, False, True]),
        (pydl.maximum(i, f), pydl.float32, [1.0, 2.0, 3.0]),
        (pydl.where(b, i, f), pydl.float32, [1.0, 1.5, 3.0]),
    ]
    for k, (out, dtype, values) in enumerate(cases):
        assert out.dtype == dtype, (k, out.dtype, dtype)
        assert out.tolist() == values, (k, out.tolist(), values)


def test_float64_precision_is_kept(device):
    x = pydl.tensor([1.0 + 1e-12], dtype=pydl.float64, device=device)
    assert (x - 1.0).item() == pytest.approx(1e-12, rel=1e-3)
    assert (x * 2.5).dtype == pydl.float64
    y = pydl.tensor([1.0 + 1e-12], dtype=pydl.float32, device=device)
    assert (y - 1.0).item() == 0.0


# ---------------------------------------------------------------------- extreme values
@pytest.mark.parametrize("dtype", FLOATS, ids=ids)
def test_sigmoid_tanh_extremes(dtype, device):
    x = pydl.tensor([-1000.0, -100.0, 0.0, 100.0, 1000.0], dtype=dtype, device=device)
    s = pydl.sigmoid(x).cpu().numpy()
    assert np.all(np.isfinite(s))
    assert s[0] == 0.0  # exp(-1000) underflows in both precisions, never NaN
    assert 0.0 < s[1] < 1e-40 if dtype == pydl.float64 else s[1] < 1e-40
    assert s[-1] == 1.0 and s[-2] == 1.0 and s[2] == 0.5
    t = pydl.tanh(pydl.tensor([-400.0, 400.0, 0.0], dtype=dtype, device=device)).tolist()
    assert t == [-1.0, 1.0, 0.0]
    assert pydl.exp(pydl.tensor([1000.0], dtype=dtype, device=device)).item() == float("inf")
    assert pydl.exp(pydl.tensor([-1000.0], dtype=dtype, device=device)).item() == 0.0


@pytest.mark.parametrize("dtype", FLOATS, ids=ids)
def test_maximum_minimum_propagate_nan(dtype, device):
    nan = float("nan")
    a = np.array([1.0, nan, 2.0, nan, -np.inf], dtype=dtype.numpy)
    b = np.array([nan, 1.0, 3.0, nan, 0.0], dtype=dtype.numpy)
    x, y = pydl.tensor(a, device=device), pydl.tensor(b, device=device)
    for fn, ref in ((pydl.maximum, np.maximum), (pydl.minimum, np.minimum)):
        np.testing.assert_array_equal(fn(x, y).cpu().numpy(), ref(a, b))
        np.testing.assert_array_equal(fn(y, x).cpu().numpy(), ref(b, a))
    # scalar operand (the clamp path) propagates NaN from the tensor too
    out = pydl.clamp(x, 0.0, 1.5).cpu().numpy()
    np.testing.assert_array_equal(out, np.clip(a, 0.0, 1.5))


@pytest.mark.parametrize("dtype", FLOATS, ids=ids)
def test_nan_and_inf_arithmetic(dtype, device):
    with np.errstate(all="ignore"):
        a = np.array([0.0, 1.0, -1.0, np.inf, -np.inf, np.nan], dtype=dtype.numpy)
        x = pydl.tensor(a, device=device)
        np.testing.assert_array_equal((x / 0.0).cpu().numpy(), a / dtype.numpy.type(0.0))
        np.testing.assert_array_equal(pydl.log(x).cpu().numpy(), np.log(a))
        np.testing.assert_array_equal(pydl.sqrt(x).cpu().numpy(), np.sqrt(a))
        np.testing.assert_array_equal((x == x).cpu().numpy(), a == a)
        np.testing.assert_array_equal((x != x).cpu().numpy(), a != a)


def test_integer_division_by_zero_is_float(device):
    out = pydl.tensor([1, 0, -1], device=device) / pydl.tensor([0, 0, 0], device=device)
    assert out.dtype == pydl.float32
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(out.cpu().numpy(), np.array([1.0, 0.0, -1.0], np.float32) / np.float32(0))


def test_large_tensor_uses_all_threads_correctly(rng):
    # long runs are split across threads; every element must still be right
    a = rng.standard_normal(200_003)
    b = rng.standard_normal(200_003)
    x, y = pydl.tensor(a), pydl.tensor(b)
    assert_close(x * y + 1.0, a * b + 1.0, 1e-12, 1e-12)
    big = rng.standard_normal((301, 257))
    t = pydl.tensor(big)
    assert_close(t.T * 2.0, big.T * 2.0, 0, 0)


# ---------------------------------------------------------------------- in place
def test_inplace_ops_write_into_memory(device):
    base = pydl.arange(12, dtype=pydl.float64, device=device).reshape(3, 4)
    ref = np.arange(12, dtype=np.float64).reshape(3, 4)
    alias = base.view(12)
    ptr = base.data_ptr()
    assert base.add_(1) is base
    ref += 1
    base.sub_(pydl.tensor([1.0, 0.0, 0.0, 0.0], dtype=pydl.float64, device=device))
    ref -= [1.0, 0.0, 0.0, 0.0]
    base.mul_(pydl.full((3, 1), 2.0, dtype=pydl.float64, device=device))
    ref *= 2.0
    base.div_(4)
    ref /= 4
    base.add_(pydl.ones(4, dtype=pydl.float64, device=device), alpha=3)
    ref += 3
    assert base.data_ptr() == ptr
    assert_close(base, ref, 0, 0)
    assert_close(alias, ref.reshape(12), 0, 0)


def test_augmented_assignment_is_in_place(device):
    x = pydl.ones(2, 3, device=device)
    view = x[1]
    before = id(x), x.data_ptr()
    x += 2
    x *= pydl.tensor([1.0, 2.0, 3.0], device=device)
    x -= 1
    x /= 2
    assert (id(x), x.data_ptr()) == before
    expected = ((np.ones((2, 3)) + 2) * [1.0, 2.0, 3.0] - 1) / 2
    assert_close(x, expected, 0, 0)
    assert_close(view, expected[1], 0, 0)


def test_inplace_on_strided_views(device):
    base = pydl.zeros(4, 6, device=device)
    ref = np.zeros((4, 6), np.float32)
    base[::2, 1::3].add_(5.0)
    ref[::2, 1::3] += 5.0
    base.T[1:3].mul_(pydl.full((2, 4), 3.0, device=device)).add_(1)
    ref.T[1:3] *= 3.0
    ref.T[1:3] += 1
    sub = base[1:3, 2:5]
    sub += pydl.tensor([1.0, 2.0, 3.0], device=device)
    ref[1:3, 2:5] += [1.0, 2.0, 3.0]
    assert_close(base, ref, 0, 0)


def test_inplace_integer_tensor(device):
    x = pydl.tensor([1, 2, 3], device=device)
    x.add_(2)
    x.mul_(pydl.tensor([2, 2, 2], device=device))
    assert x.dtype == pydl.int64 and x.tolist() == [6, 8, 10]
    with pytest.raises(TypeError, match="div_"):
        x.div_(2)


def test_inplace_requires_grad_raises():
    w = pydl.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        w.add_(1.0)
    with pytest.raises(RuntimeError, match="in-place"):
        pydl.ones(3).mul_(w)
    assert w.tolist() == [1.0, 1.0, 1.0]
    with pydl.no_grad():
        w.add_(1.0)
    assert w.tolist() == [2.0, 2.0, 2.0]


def test_augmented_assignment_on_requires_grad_rebinds():
    w = pydl.ones(3, requires_grad=True)
    v = w
    v += 1.0  # autograd needs w's old value: a new tensor, w untouched
    assert v is not w and w.tolist() == [1.0, 1.0, 1.0]
    assert v.tolist() == [2.0, 2.0, 2.0] and v.requires_grad


def test_inplace_broadcast_into_smaller_raises(device):
    x = pydl.zeros(3, device=device)
    with pytest.raises(ValueError, match=r"add_.*\(2, 3\).*\(3,\)"):
        x.add_(pydl.ones(2, 3, device=device))
    with pytest.raises(ValueError, match="mul"):
        x.mul_(pydl.ones(4, device=device))
    assert x.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.cuda
def test_ops_across_devices_raise():
    x = pydl.ones(3)
    y = pydl.ones(3, device="cuda")
    with pytest.raises(RuntimeError, match="device"):
        pydl.add(x, y)
    with pytest.raises(RuntimeError, match="device"):
        pydl.where(x > 0, x, y)


def test_integer_to_negative_integer_power_raises():
    with pytest.raises(ValueError, match="pow"):
        pydl.arange(3) ** -1


def test_in_place_refuses_to_narrow_float_into_int():
    x = pydl.arange(3)
    with pytest.raises(TypeError, match="int64"):
        x += pydl.ones(3)
    with pytest.raises(TypeError, match="int64"):
        x.add_(1.5)
    x += 2
    assert x.tolist() == [2, 3, 4]
