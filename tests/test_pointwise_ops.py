"""Pointwise ops added through the registry alone (kernels/common/unary.h): each against a
float64 numpy reference over its domain and its extreme values (within a few ulp in float32),
a finite-difference gradient check, PyTorch where installed, and the dtype rules of its
domain. CPU/CUDA and per-ISA bit parity: tests/test_pointwise_parity.py, for every entry."""
import math

import numpy as np
import pytest

import pydl
import pydl.nn.functional as F

inf, nan = math.inf, math.nan


def sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _hardsigmoid(x):
    return np.clip(x + 3, 0, 6) / 6


# name -> (pydl function, float64 reference, derivative reference, PyTorch function, sampled range)
OPS = {
    "log1p": (pydl.log1p, np.log1p, lambda x: 1 / (1 + x), lambda torch: torch.log1p, (-0.99, 20.0)),
    "expm1": (pydl.expm1, np.expm1, np.exp, lambda torch: torch.expm1, (-20.0, 20.0)),
    "silu": (F.silu, lambda x: x * sigmoid(x), lambda x: sigmoid(x) * (1 + x * (1 - sigmoid(x))),
             lambda torch: torch.nn.functional.silu, (-20.0, 20.0)),
    "sin": (pydl.sin, np.sin, np.cos, lambda torch: torch.sin, (-100.0, 100.0)),
    "cos": (pydl.cos, np.cos, lambda x: -np.sin(x), lambda torch: torch.cos, (-100.0, 100.0)),
    "tan": (pydl.tan, np.tan, lambda x: 1 + np.tan(x) ** 2, lambda torch: torch.tan, (-100.0, 100.0)),
    "floor": (pydl.floor, np.floor, np.zeros_like, lambda torch: torch.floor, (-50.0, 50.0)),
    "ceil": (pydl.ceil, np.ceil, np.zeros_like, lambda torch: torch.ceil, (-50.0, 50.0)),
    "trunc": (pydl.trunc, np.trunc, np.zeros_like, lambda torch: torch.trunc, (-50.0, 50.0)),
    "round": (pydl.round, np.round, np.zeros_like, lambda torch: torch.round, (-50.0, 50.0)),
    "erf": (pydl.erf, lambda x: np.vectorize(math.erf)(x), lambda x: 2 / np.sqrt(np.pi) * np.exp(-x * x),
            lambda torch: torch.erf, (-6.0, 6.0)),
    "log2": (pydl.log2, np.log2, lambda x: 1 / (x * np.log(2)), lambda torch: torch.log2, (1e-3, 1e4)),
    "log10": (pydl.log10, np.log10, lambda x: 1 / (x * np.log(10)), lambda torch: torch.log10, (1e-3, 1e4)),
    "elu": (lambda x: F.elu(x, 0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x)),
            lambda x: np.where(x > 0, 1.0, 0.7 * np.exp(x)),
            lambda torch: (lambda x: torch.nn.functional.elu(x, 0.7)), (-20.0, 20.0)),
    "selu": (F.selu, lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
             lambda x: SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(x)),
             lambda torch: torch.nn.functional.selu, (-20.0, 20.0)),
    "celu": (lambda x: F.celu(x, 2.0), lambda x: np.where(x > 0, x, 2.0 * np.expm1(x / 2.0)),
             lambda x: np.where(x > 0, 1.0, np.exp(x / 2.0)),
             lambda torch: (lambda x: torch.nn.functional.celu(x, 2.0)), (-20.0, 20.0)),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 2.0), lambda x: np.clip(x, -0.5, 2.0),
                 lambda x: ((x > -0.5) & (x < 2.0)).astype(float),
                 lambda torch: (lambda x: torch.nn.functional.hardtanh(x, -0.5, 2.0)), (-5.0, 5.0)),
    "relu6": (F.relu6, lambda x: np.clip(x, 0, 6), lambda x: ((x > 0) & (x < 6)).astype(float),
              lambda torch: torch.nn.functional.relu6, (-10.0, 10.0)),
    "hardsigmoid": (F.hardsigmoid, _hardsigmoid, lambda x: np.where((x > -3) & (x < 3), 1 / 6, 0.0),
                    lambda torch: torch.nn.functional.hardsigmoid, (-6.0, 6.0)),
    "hardswish": (F.hardswish, lambda x: x * _hardsigmoid(x), lambda x: np.where(
        x <= -3, 0.0, np.where(x < 3, x / 3 + 0.5, 1.0)), lambda torch: torch.nn.functional.hardswish, (-6.0, 6.0)),
    "softsign": (F.softsign, lambda x: x / (1 + np.abs(x)), lambda x: 1 / (1 + np.abs(x)) ** 2,
                 lambda torch: torch.nn.functional.softsign, (-50.0, 50.0)),
    "logsigmoid": (F.logsigmoid, lambda x: -softplus(-x), lambda x: sigmoid(-x),
                   lambda torch: torch.nn.functional.logsigmoid, (-50.0, 50.0)),
    "mish": (F.mish, lambda x: x * np.tanh(softplus(x)),
             lambda x: np.tanh(softplus(x)) + x * (1 - np.tanh(softplus(x)) ** 2) * sigmoid(x),
             lambda torch: torch.nn.functional.mish, (-20.0, 20.0)),
}
# The range reduction's edges: multiples of pi/4 and pi/2, the tiny-argument cut, big arguments.
_TRIG = [0.0, -0.0, 1e-30, -1e-30, 2.44e-4, -2.45e-4, 0.7853981, 0.7853982, -0.7853982, 1.5707963, 1.5707964,
         -1.5707964, 3.1415925, 3.1415927, 4.712389, 6.2831855, 100.0, -355.0, 1e4, 12345.678, 1e5, -3e5, 1048576.0,
         1e7, 2.0 ** 24, 1e8]
# Values at the edges of each op's polynomial and range reduction, and its tails.
EXTREMES = {
    "log1p": [0.0, -0.0, 1e-40, 1e-30, -1e-30, 1e-8, -1e-8, 1e-3, -0.29, 0.41, -0.5, -0.9999999, 1.0, 1e10, 3e38],
    "expm1": [0.0, -0.0, 1e-40, -1e-40, 1e-30, 6e-8, -6e-8, 1e-3, 0.3465, -0.3466, 0.35, -0.35, 1.04, -1.04, -17.0,
              -29.9, -30.0, -31.0, -88.0, -104.0, 88.0, 88.37, 88.38, 88.72],
    "silu": [0.0, -0.0, 1e-30, -1e-30, 1e-3, -1e-3, 1.0, -1.0, 5.0, -5.0, 17.0, -17.0, 40.0, -40.0, 87.0, -87.0,
             400.0],
    "sin": _TRIG, "cos": _TRIG, "tan": _TRIG,
    **{name: [0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999997, -0.49999997, 0.7, -0.7, 1e-30, -1e-30, 8388607.5,
              -8388607.5, 8388609.0, 1e30, -1e30, 123.456, -123.456] for name in ("floor", "ceil", "trunc", "round")},
    "erf": [0.0, -0.0, 1e-30, -1e-30, 1e-4, -1e-4, 0.5, -0.5, 0.9999, 1.0, -1.0, 1.0001, 2.0, -3.0, 3.9, 4.0, 6.0,
            -10.0, 30.0],
    "log2": [1e-30, 1e-10, 0.5, 1.0, 2.0, 1.0000001, 0.9999999, 3.0, 1024.0, 1e30, 3e38],
    "log10": [1e-30, 1e-10, 0.1, 1.0, 10.0, 1.0000001, 0.9999999, 1000.0, 1e30, 3e38],
    **{name: [0.0, -0.0, 1e-30, -1e-30, 1e-3, -1e-3, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 6.0, -6.0, 17.0,
              -17.0, 40.0, -40.0, 87.0, -87.0, 400.0, -400.0]
       for name in ("elu", "selu", "celu", "hardtanh", "relu6", "hardsigmoid", "hardswish", "softsign", "logsigmoid",
                    "mish")},
}
# Exactly these outputs, as PyTorch gives them.
SPECIAL = {
    "log1p": {-1.0: -inf, -2.0: nan, inf: inf, -inf: nan, nan: nan, -0.0: -0.0, 1e-40: 1e-40},
    "expm1": {inf: inf, -inf: -1.0, nan: nan, -0.0: -0.0, 1e-40: 1e-40, 1000.0: inf, -200.0: -1.0},
    "silu": {inf: inf, -inf: nan, nan: nan, -0.0: -0.0, 1000.0: 1000.0, -1000.0: -0.0},
    "sin": {inf: nan, -inf: nan, nan: nan, -0.0: -0.0, 1e-30: 1e-30},
    "cos": {inf: nan, -inf: nan, nan: nan, -0.0: 1.0, 1e-30: 1.0},
    "tan": {inf: nan, -inf: nan, nan: nan, -0.0: -0.0, -1e-30: -1e-30},
    "floor": {inf: inf, -inf: -inf, nan: nan, -0.0: -0.0, -0.5: -1.0, 0.5: 0.0},
    "ceil": {inf: inf, -inf: -inf, nan: nan, -0.0: -0.0, -0.5: -0.0, 0.5: 1.0},
    "trunc": {inf: inf, -inf: -inf, nan: nan, -0.0: -0.0, -0.5: -0.0, 1.5: 1.0},
    "round": {inf: inf, -inf: -inf, nan: nan, -0.0: -0.0, -0.5: -0.0, 0.5: 0.0, 1.5: 2.0, 2.5: 2.0},
    "erf": {inf: 1.0, -inf: -1.0, nan: nan, -0.0: -0.0, 10.0: 1.0},
    "log2": {inf: inf, 0.0: -inf, -1.0: nan, nan: nan, 1.0: 0.0, 8.0: 3.0},
    "log10": {inf: inf, 0.0: -inf, -1.0: nan, nan: nan, 1.0: 0.0},
    "elu": {inf: inf, -inf: -0.7, nan: nan, -0.0: -0.0},
    "selu": {inf: inf, -inf: -SELU_ALPHA * SELU_SCALE, nan: nan, -0.0: -0.0},
    "celu": {inf: inf, -inf: -2.0, nan: nan, -0.0: -0.0},
    "hardtanh": {inf: 2.0, -inf: -0.5, nan: nan, -0.0: -0.0},
    "relu6": {inf: 6.0, -inf: 0.0, nan: nan},
    "hardsigmoid": {inf: 1.0, -inf: 0.0, nan: nan, 3.0: 1.0, -3.0: 0.0},
    "hardswish": {inf: inf, -inf: nan, nan: nan, 3.0: 3.0, -3.0: -0.0},
    "softsign": {inf: nan, -inf: nan, nan: nan, -0.0: -0.0},
    "logsigmoid": {inf: 0.0, -inf: -inf, nan: nan, 0.0: -np.log(2.0)},
    "mish": {inf: inf, -inf: nan, nan: nan, -0.0: -0.0},
}
MAX_ULP = {"log1p": 2.5, "expm1": 2.0, "silu": 3.5, "floor": 0.0, "ceil": 0.0, "trunc": 0.0, "round": 0.0, "erf": 2.5,
           "log2": 2.0, "log10": 2.0, "sin": 1.0, "cos": 1.0, "tan": 1.5, "elu": 2.5, "selu": 3.0,
           "celu": 3.0, "hardtanh": 0.0, "relu6": 0.0, "hardsigmoid": 1.0, "hardswish": 2.0, "softsign": 1.5,
           "logsigmoid": 3.0, "mish": 4.0}  # float32 forward against the float64 reference


def inputs(name, n, dtype, seed=0):
    lo, hi = OPS[name][4]
    x = np.concatenate([EXTREMES[name], np.random.default_rng(seed).uniform(lo, hi, n)])
    return x.astype(dtype)


def ulps(got, ref):
    """|got - ref| in units of the float32 spacing at ref."""
    spacing = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - ref) / np.maximum(spacing, np.finfo(np.float32).smallest_subnormal)


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [3, 40001])  # 40001: threads and an odd tail
def test_forward_backward_vs_float64_reference(name, dtype, n, device):
    fn, ref, dref = OPS[name][:3]
    x = inputs(name, n, dtype)
    g = np.random.default_rng(1).standard_normal(x.size).astype(dtype)
    t = pydl.tensor(x, device=device, requires_grad=True)
    y = fn(t)
    y.backward(pydl.tensor(g, device=device))
    x64 = x.astype(np.float64)
    got, dx = y.detach().cpu().numpy(), t.grad.cpu().numpy()
    assert y.dtype == t.dtype and t.grad.dtype == t.dtype
    with np.errstate(over="ignore"):
        want_dx = (g * dref(x64)).astype(dtype)  # rounded to the dtype: overflow is inf in both
    if dtype == np.float32:
        assert ulps(got, ref(x64)).max() <= MAX_ULP[name]
    else:
        np.testing.assert_allclose(got, ref(x64), rtol=1e-15, atol=0)
    # A few roundings in the derivative, and an absolute slack of a few ulp of |g| where it
    # crosses zero (SiLU's at x = -1.28).
    eps = np.finfo(dtype).eps
    with np.errstate(invalid="ignore"):  # inf - inf where both overflow
        err = np.abs(dx.astype(np.float64) - want_dx)
        ok = (err <= 32 * eps * np.abs(want_dx) + 8 * eps * np.abs(g)) | (dx == want_dx)
    assert ok.all(), (x[~ok][:5], dx[~ok][:5], want_dx[~ok][:5])


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("dtype", [pydl.float32, pydl.float64])
def test_special_values(name, dtype, device):
    fn = OPS[name][0]
    x, want = zip(*SPECIAL[name].items())
    got = fn(pydl.tensor(list(x), dtype=dtype, device=device)).cpu().numpy()
    want = np.array(want, dtype=got.dtype)  # (1e-40 as the dtype holds it)
    np.testing.assert_array_equal(got, want)
    signed = ~np.isnan(want)  # -0.0 stays -0.0 (a NaN's sign is not promised)
    np.testing.assert_array_equal(np.signbit(got[signed]), np.signbit(want[signed]))


@pytest.mark.parametrize("name", sorted(OPS))
def test_gradcheck(name):
    lo, hi = OPS[name][4]
    a = np.random.default_rng(7).uniform(max(lo, -3.0), min(hi, 3.0), (3, 5))
    x = pydl.tensor(a, dtype=pydl.float64, requires_grad=True)
    assert pydl.gradcheck(OPS[name][0], (x,))


@pytest.mark.parametrize("name", sorted(OPS))
def test_against_torch(name):
    torch = pytest.importorskip("torch")
    fn, tfn = OPS[name][0], OPS[name][3](torch)
    x = inputs(name, 5003, np.float32, seed=11)
    g = np.random.default_rng(5).standard_normal(x.size).astype(np.float32)
    p, q = pydl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yp, yq = fn(p), tfn(q)
    yp.backward(pydl.tensor(g))
    yq.backward(torch.tensor(g))
    np.testing.assert_allclose(yp.detach().numpy(), yq.detach().numpy(), rtol=3e-6, atol=1e-37)
    # Some of PyTorch's backwards cancel, where ours are held to float64 above: expm1's
    # grad * (result + 1) where result is -1 to an ulp, softsign's two terms of about 1 / (1 + |x|),
    # mish's terms of about 1 around its derivative's zero. Hence absolute slacks of a few ulp
    # of the terms, times the gradient.
    eps = 1.2e-7
    terms = {"expm1": 1.0, "softsign": 2.0 / (1.0 + np.abs(x)), "mish": 4.0}
    slack = np.abs(g) * eps * terms[name] if name in terms else 1e-37
    assert np.all(np.abs(p.grad.numpy() - q.grad.numpy()) <= 3e-6 * np.abs(q.grad.numpy()) + slack)


def test_log1p_keeps_tiny_arguments_and_promotes_integers():
    x = pydl.tensor([1e-20, -1e-20, 2**-30], dtype=pydl.float32)
    np.testing.assert_array_equal(pydl.log1p(x).numpy(), x.numpy())  # log(1 + x) would give 0
    assert x.log1p().tolist() == pydl.log1p(x).tolist()
    ints = pydl.log1p(pydl.tensor([0, 1, 3]))
    assert ints.dtype == pydl.float32
    np.testing.assert_allclose(ints.numpy(), np.log1p([0.0, 1.0, 3.0]), rtol=1e-7)
    assert type(x.requires_grad_().log1p().grad_fn).__name__ == "Log1p"


def test_expm1_keeps_small_arguments_and_promotes_integers():
    x = pydl.tensor([1e-20, -1e-20, 2**-30, 1e-5], dtype=pydl.float32)
    got = pydl.expm1(x).numpy()
    np.testing.assert_array_equal(got[:3], x.numpy()[:3])  # exp(x) - 1 would give 0
    np.testing.assert_allclose(got[3], np.expm1(1e-5), rtol=1.2e-7)
    assert x.expm1().tolist() == pydl.expm1(x).tolist()
    ints = pydl.expm1(pydl.tensor([0, 1, 3]))
    assert ints.dtype == pydl.float32
    np.testing.assert_allclose(ints.numpy(), np.expm1([0.0, 1.0, 3.0]), rtol=1.2e-7)
    assert type(x.requires_grad_().expm1().grad_fn).__name__ == "Expm1"


def test_silu_module_inplace_and_dtypes():
    torch = pytest.importorskip("torch")
    a = np.array([-3.0, -0.5, 0.0, 2.0], np.float32)
    assert repr(pydl.nn.SiLU()) == "SiLU()" and "inplace=True" in repr(pydl.nn.SiLU(inplace=True))
    np.testing.assert_allclose(pydl.nn.SiLU()(pydl.tensor(a)).numpy(), torch.nn.SiLU()(torch.tensor(a)).numpy(),
                               rtol=3e-7)
    x = pydl.tensor(a)
    assert F.silu(x, inplace=True) is x and pydl.nn.SiLU(inplace=True)(x) is x  # written into x, as torch
    np.testing.assert_allclose(x.numpy(), F.silu(F.silu(pydl.tensor(a))).numpy())
    with pytest.raises(TypeError, match="silu: expected a float32 or float64 input, got int64"):
        F.silu(pydl.tensor([1, 2]))  # as torch, which has no integer silu
    y = F.silu(pydl.tensor(a, requires_grad=True) * 1.0, inplace=True)  # recorded: computed out of place
    assert type(y.grad_fn).__name__ == "Silu"
