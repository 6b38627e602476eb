"""Activations and softmax in pydl.nn.functional: forward and backward against float64
numpy references and PyTorch, extreme values, odd and threaded sizes, non-contiguous
inputs, finite-difference gradient checks, and errors that name the op."""
import math
import warnings

import numpy as np
import pytest

import pydl
import pydl.nn.functional as F

_erfc = np.frompyfunc(math.erfc, 1, 1)


def erfc(x):
    return _erfc(x).astype(np.float64)


def sigmoid_ref(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def softplus_ref(x, beta=1.0, threshold=20.0):
    return np.where(x * beta > threshold, x, np.logaddexp(0.0, x * beta) / beta)


def gelu_ref(x):
    return x * 0.5 * erfc(-x / math.sqrt(2))


def gelu_tanh_ref(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


# name -> (pydl function, forward reference, derivative reference)
ACTS = {
    "relu": (F.relu, lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(np.float64)),
    "leaky_relu": (lambda t: F.leaky_relu(t, 0.2), lambda x: np.where(x > 0, x, 0.2 * x),
                   lambda x: np.where(x > 0, 1.0, 0.2)),
    "sigmoid": (F.sigmoid, sigmoid_ref, lambda x: sigmoid_ref(x) * (1 - sigmoid_ref(x))),
    "tanh": (F.tanh, np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "softplus": (F.softplus, softplus_ref, lambda x: np.where(x > 20, 1.0, sigmoid_ref(x))),
    "softplus_beta": (lambda t: F.softplus(t, beta=2.0, threshold=5.0), lambda x: softplus_ref(x, 2.0, 5.0),
                      lambda x: np.where(2 * x > 5, 1.0, sigmoid_ref(2 * x))),
    "gelu": (F.gelu, gelu_ref,
             lambda x: 0.5 * erfc(-x / math.sqrt(2)) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)),
    "gelu_tanh": (lambda t: F.gelu(t, approximate="tanh"), gelu_tanh_ref, None),
}


def gelu_tanh_grad(x):
    k = math.sqrt(2 / math.pi)
    u = k * (x + 0.044715 * x ** 3)
    t = np.tanh(u)
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)


ACTS["gelu_tanh"] = ACTS["gelu_tanh"][:2] + (gelu_tanh_grad,)

# Values that stress each kernel's special cases: exp's overflow/underflow edges, the tanh
# polynomial's switch point, softplus' threshold, GELU's tails.
EXTREMES = np.array([0.0, -0.0, 1e-30, -1e-30, 1e-8, -1e-8, 0.5, 0.625, -0.625, 1.0, -1.0, 5.0, -5.0, 8.0, -8.0,
                     19.9, 20.1, 30.0, -30.0, 87.0, -87.0, 88.7, 88.8, -103.0, -104.5, 400.0, -400.0])


def inputs(n, seed):
    """n values: the extremes first, then normal draws with a spread of 4."""
    x = np.random.default_rng(seed).standard_normal(n) * 4
    k = min(n, len(EXTREMES))
    x[:k] = EXTREMES[:k]
    return x


@pytest.mark.parametrize("name", sorted(ACTS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [1, 7, 40001])  # 40001: crosses the threading threshold, odd tail
def test_forward_backward_vs_float64_reference(name, dtype, n):
    fn, ref, dref = ACTS[name]
    x = inputs(n, seed=n).astype(dtype)
    xr = x.astype(np.float64)
    t = pydl.tensor(x, requires_grad=True)
    y = fn(t)
    g = np.random.default_rng(3).standard_normal(n).astype(dtype)
    y.backward(pydl.tensor(g))
    rtol, atol = (2e-6, 1e-6) if dtype == "float32" else (1e-12, 1e-14)
    np.testing.assert_allclose(y.detach().numpy(), ref(xr), rtol=rtol, atol=atol)
    np.testing.assert_allclose(t.grad.numpy(), g.astype(np.float64) * dref(xr), rtol=rtol * 4, atol=atol * 4)
    assert y.dtype == t.dtype and t.grad.dtype == t.dtype


def test_relative_precision_in_the_tails():
    # float32 sigmoid and GELU keep their relative precision where the value is tiny.
    x = np.linspace(-80, -5, 301).astype(np.float32)
    s = F.sigmoid(pydl.tensor(x)).numpy()
    np.testing.assert_allclose(s, sigmoid_ref(x.astype(np.float64)), rtol=2e-6)
    xg = np.linspace(-12, -3, 91).astype(np.float32)
    gl = F.gelu(pydl.tensor(xg)).numpy()
    np.testing.assert_allclose(gl, gelu_ref(xg.astype(np.float64)), rtol=2e-5)  # 1 + erf(x) would give 0 or noise


def test_special_values():
    x = pydl.tensor([math.inf, -math.inf, math.nan])
    np.testing.assert_array_equal(F.relu(x).numpy()[:2], [math.inf, 0.0])
    np.testing.assert_array_equal(F.sigmoid(x).numpy()[:2], [1.0, 0.0])
    np.testing.assert_array_equal(F.tanh(x).numpy()[:2], [1.0, -1.0])
    np.testing.assert_array_equal(F.softplus(x).numpy()[:2], [math.inf, 0.0])
    np.testing.assert_array_equal(F.gelu(x).numpy()[:2], [math.inf, math.nan])  # -inf * 0, NaN as PyTorch
    for fn in (F.relu, F.sigmoid, F.tanh, F.softplus, F.gelu, F.leaky_relu):
        assert math.isnan(fn(x).numpy()[2]), fn


@pytest.mark.parametrize("name", sorted(ACTS))
def test_against_torch(name):
    torch = pytest.importorskip("torch")
    tfn = {
        "relu": torch.relu, "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.2),
        "sigmoid": torch.sigmoid, "tanh": torch.tanh, "softplus": torch.nn.functional.softplus,
        "softplus_beta": lambda t: torch.nn.functional.softplus(t, beta=2.0, threshold=5.0),
        "gelu": torch.nn.functional.gelu, "gelu_tanh": lambda t: torch.nn.functional.gelu(t, approximate="tanh"),
    }[name]
    x = inputs(5003, seed=11).astype(np.float32)
    g = np.random.default_rng(5).standard_normal(x.shape).astype(np.float32)
    p = pydl.tensor(x, requires_grad=True)
    q = torch.tensor(x, requires_grad=True)
    yp, yq = ACTS[name][0](p), tfn(q)
    yp.backward(pydl.tensor(g))
    yq.backward(torch.tensor(g))
    # PyTorch's tanh-GELU computes 1 + tanh(u), which cancels in the left tail (ours is held to
    # the float64 reference above), hence the looser atol there.
    atol = 3e-6 if name == "gelu_tanh" else 1e-6
    np.testing.assert_allclose(yp.detach().numpy(), yq.detach().numpy(), rtol=1e-5, atol=atol)
    np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=atol)


@pytest.mark.parametrize("name", sorted(ACTS))
def test_non_contiguous_input(name):
    fn = ACTS[name][0]
    a = np.random.default_rng(2).standard_normal((37, 23)).astype(np.float32) * 3
    t = pydl.tensor(a, requires_grad=True)
    y = fn(t.T)  # a transposed view
    y.backward(pydl.ones(23, 37))
    c = pydl.tensor(np.ascontiguousarray(a.T), requires_grad=True)
    yc = fn(c)
    yc.backward(pydl.ones(23, 37))
    np.testing.assert_array_equal(y.detach().numpy(), yc.detach().numpy())
    np.testing.assert_array_equal(t.grad.numpy(), c.grad.numpy().T)


@pytest.mark.parametrize("name", sorted(ACTS))
def test_gradcheck(name):
    r = np.random.default_rng(7)
    a = r.uniform(-3, 3, (3, 5))
    a = np.sign(a) * (np.abs(a) + 0.1)  # away from the kinks at 0
    x = pydl.tensor(a, dtype=pydl.float64, requires_grad=True)
    assert pydl.gradcheck(ACTS[name][0], (x,))


def test_in_place():
    # Without autograd: written into the tensor's memory, views included.
    base = pydl.tensor([-1.0, 2.0, -3.0, 4.0])
    view = base[1:]
    assert F.relu(view, inplace=True) is view
    np.testing.assert_array_equal(base.numpy(), [-1.0, 2.0, 0.0, 4.0])
    b = pydl.tensor([-1.0, 2.0])
    assert F.leaky_relu_(b, 0.5) is b
    np.testing.assert_array_equal(b.numpy(), [-0.5, 2.0])
    # Where autograd needs the old value: computed out of place, gradients intact.
    a = pydl.tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    h = a * 2.0
    out = F.relu(h, inplace=True)
    np.testing.assert_array_equal(out.detach().numpy(), [0.0, 4.0, 0.0, 8.0])
    (out * pydl.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 4.0, 0.0, 8.0])


def test_activation_errors():
    ints = pydl.tensor([-1, 2, 3])
    for fn, name in [(F.leaky_relu, "leaky_relu"), (F.gelu, "gelu"), (F.softplus, "softplus")]:
        with pytest.raises(TypeError, match=f"{name}: expected a float32 or float64 input, got int64"):
            fn(ints)
    # relu and sigmoid are pydl.relu and pydl.sigmoid: integers as PyTorch takes them
    assert F.relu(ints).dtype == pydl.int64 and F.relu(ints).tolist() == [0, 2, 3]
    assert F.sigmoid(ints).dtype == pydl.float32
    with pytest.raises(ValueError, match="gelu: approximate"):
        F.gelu(pydl.ones(2), approximate="fast")


def test_empty_input():
    for fn in (F.relu, F.gelu, lambda t: F.softmax(t, 0)):
        assert fn(pydl.ones(0)).shape == (0,)


# ---------------------------------------------------------------------- softmax
def softmax_ref(x, dim, log):
    m = np.max(x, axis=dim, keepdims=True)
    z = x - m
    ls = np.log(np.sum(np.exp(z), axis=dim, keepdims=True))
    return z - ls if log else np.exp(z - ls)


def softmax_grad_ref(y, g, dim, log):
    if log:
        return g - np.exp(y) * g.sum(axis=dim, keepdims=True)
    return y * (g - (g * y).sum(axis=dim, keepdims=True))


@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,dim", [((5, 7, 9), 0), ((5, 7, 9), 1), ((5, 7, 9), 2), ((5, 7, 9), -1),
                                       ((3, 1000), 1), ((1, 13), 1), ((13,), 0), ((2, 300, 301), 1),
                                       ((70, 1000), 1)])
def test_softmax_vs_float64_reference(log, dtype, shape, dim):
    r = np.random.default_rng(len(shape) * 10 + dim)
    x = (r.standard_normal(shape) * 5).astype(dtype)
    g = r.standard_normal(shape).astype(dtype)
    t = pydl.tensor(x, requires_grad=True)
    y = (F.log_softmax if log else F.softmax)(t, dim)
    y.backward(pydl.tensor(g))
    yr = softmax_ref(x.astype(np.float64), dim, log)
    # float32 log-probabilities of size ~20 carry an absolute error of a few ulp of log(sum), as PyTorch's
    rtol, atol = ((1e-5, 1e-5 if log else 1e-6) if dtype == "float32" else (1e-12, 1e-13))
    np.testing.assert_allclose(y.detach().numpy(), yr, rtol=rtol, atol=atol)
    np.testing.assert_allclose(t.grad.numpy(), softmax_grad_ref(yr, g.astype(np.float64), dim, log),
                               rtol=rtol * 10, atol=atol * 10)


@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax_extremes(log):
    fn = F.log_softmax if log else F.softmax
    x = np.array([[400.0, -400.0, 0.0, 399.0],     # huge logits: no overflow
                  [-400.0, -400.0, -400.0, -400.0],  # all equal
                  [3.0, 3.0, 3.0, 3.0],
                  [0.0, -math.inf, 1.0, -math.inf]], dtype=np.float32)  # masked entries
    y = fn(pydl.tensor(x), dim=1).numpy()
    yr = softmax_ref(x.astype(np.float64), 1, log)
    assert np.all(np.isfinite(y[:, :]) | np.isinf(yr))
    np.testing.assert_allclose(y, yr, rtol=1e-6, atol=1e-7)
    if not log:
        np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax_against_torch(log):
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(4)
    for shape, dim in [((64, 1000), 1), ((4, 10, 6), 1), ((3, 5), 0)]:
        x = (r.standard_normal(shape) * 30).astype(np.float32)
        x.flat[::17] = 400.0
        g = r.standard_normal(shape).astype(np.float32)
        p, q = pydl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yp = (F.log_softmax if log else F.softmax)(p, dim)
        yq = (torch.log_softmax if log else torch.softmax)(q, dim)
        yp.backward(pydl.tensor(g))
        yq.backward(torch.tensor(g))
        np.testing.assert_allclose(yp.detach().numpy(), yq.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_softmax_non_contiguous_and_dtype():
    a = np.random.default_rng(8).standard_normal((6, 11)).astype(np.float32)
    t = pydl.tensor(a)
    np.testing.assert_allclose(F.softmax(t.T, dim=1).numpy(), softmax_ref(a.T.astype(np.float64), 1, False),
                               rtol=1e-5, atol=1e-7)
    y = F.log_softmax(t, dim=0, dtype=pydl.float64)
    assert y.dtype == pydl.float64
    np.testing.assert_allclose(y.numpy(), softmax_ref(a.astype(np.float64), 0, True), rtol=1e-6)


@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, 2])
def test_softmax_gradcheck(log, dim):
    x = pydl.tensor(np.random.default_rng(dim).standard_normal((3, 4, 2)), dtype=pydl.float64, requires_grad=True)
    assert pydl.gradcheck(lambda t: (F.log_softmax if log else F.softmax)(t, dim), (x,))


def test_softmax_errors_and_implicit_dim():
    with pytest.raises(IndexError, match="softmax: dim 2 is out of range"):
        F.softmax(pydl.ones(2, 3), dim=2)
    with pytest.raises(TypeError, match="log_softmax: expected a float32 or float64 input, got int64"):
        F.log_softmax(pydl.tensor([1, 2]), dim=0)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        y = F.softmax(pydl.ones(2, 4))  # implicit dim 1 for 2-d, as PyTorch
    assert w and "dim" in str(w[0].message)
    np.testing.assert_allclose(y.numpy(), 0.25)


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (2, 3, 4, 5)], ids=str)
def test_softmax_without_dim_follows_torch_in_module_and_function(log, shape):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both warn that the implicit dim is deprecated
        expected = (torch.nn.LogSoftmax() if log else torch.nn.Softmax())(torch.from_numpy(x)).numpy()
        module = (pydl.nn.LogSoftmax() if log else pydl.nn.Softmax())(pydl.tensor(x))
        function = (F.log_softmax if log else F.softmax)(pydl.tensor(x))
    np.testing.assert_allclose(module.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(function.numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,kw", [("ReLU", {}), ("LeakyReLU", {"negative_slope": 0.2})])
def test_activation_modules_honour_inplace_as_torch(name, kw):
    torch = pytest.importorskip("torch")
    a = np.array([-2.0, -0.5, 0.0, 1.5], np.float32)
    ours, theirs = pydl.tensor(a), torch.from_numpy(a.copy())
    out = getattr(pydl.nn, name)(inplace=True, **kw)(ours)
    expected = getattr(torch.nn, name)(inplace=True, **kw)(theirs)
    assert out is ours  # written into the input, which torch changes too
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    assert "inplace=True" in repr(getattr(pydl.nn, name)(inplace=True, **kw))
    untouched = pydl.tensor(a)
    getattr(pydl.nn, name)(**kw)(untouched)
    np.testing.assert_array_equal(untouched.numpy(), a)
    # Inside a graph the old value is needed: the module returns a new tensor with the gradient intact.
    x = pydl.tensor(a, requires_grad=True)
    y = getattr(pydl.nn, name)(inplace=True, **kw)(x * 1.0)
    y.sum().backward()
    tx = torch.from_numpy(a.copy()).requires_grad_()
    getattr(torch.nn, name)(inplace=True, **kw)(tx * 1.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


# ---------------------------------------------------------------------- the module forms
MODULES = [  # (pydl module, torch module name and arguments, functional twin)
    (lambda nn: nn.ELU(0.5), ("ELU", (0.5,)), lambda x: F.elu(x, 0.5)),
    (lambda nn: nn.SELU(), ("SELU", ()), F.selu),
    (lambda nn: nn.CELU(1.5), ("CELU", (1.5,)), lambda x: F.celu(x, 1.5)),
    (lambda nn: nn.Hardtanh(-2.0, 0.5), ("Hardtanh", (-2.0, 0.5)), lambda x: F.hardtanh(x, -2.0, 0.5)),
    (lambda nn: nn.ReLU6(), ("ReLU6", ()), F.relu6),
    (lambda nn: nn.Hardsigmoid(), ("Hardsigmoid", ()), F.hardsigmoid),
    (lambda nn: nn.Hardswish(), ("Hardswish", ()), F.hardswish),
    (lambda nn: nn.Softsign(), ("Softsign", ()), F.softsign),
    (lambda nn: nn.LogSigmoid(), ("LogSigmoid", ()), F.logsigmoid),
    (lambda nn: nn.Mish(), ("Mish", ()), F.mish),
]


@pytest.mark.parametrize("make, ref, fn", MODULES, ids=[m[1][0] for m in MODULES])
def test_modules_match_functional_and_pytorch(make, ref, fn, device):
    data = np.random.default_rng(0).standard_normal((4, 6)) * 4
    x = pydl.tensor(data, device=device)
    out = make(pydl.nn)(x)
    np.testing.assert_array_equal(out.cpu().numpy(), fn(x).cpu().numpy())
    torch = pytest.importorskip("torch")
    expected = getattr(torch.nn, ref[0])(*ref[1])(torch.tensor(data))
    np.testing.assert_allclose(out.cpu().numpy(), expected.numpy(), rtol=1e-12, atol=1e-15)
    assert repr(make(pydl.nn)).startswith(ref[0])


def test_in_place_forms_write_into_the_input():
    for fn in (lambda x: F.elu(x, inplace=True), lambda x: F.selu(x, inplace=True), lambda x: F.relu6(x, inplace=True),
               lambda x: F.hardswish(x, inplace=True), lambda x: F.mish(x, inplace=True)):
        x = pydl.tensor([-4.0, -1.0, 0.5, 7.0])
        expected = fn(x.clone()).tolist()
        assert fn(x) is x and x.tolist() == expected


@pytest.mark.parametrize("shape, channels", [((2, 3, 4, 5), 3), ((2, 3), 3), ((5,), 1), ((2, 3, 4), 1)])
def test_prelu_against_pytorch(shape, channels, device):
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(1).standard_normal(shape)
    weight = np.random.default_rng(2).uniform(0.05, 0.5, channels)
    x, w = pydl.tensor(data, device=device, requires_grad=True), pydl.tensor(weight, device=device, requires_grad=True)
    tx, tw = torch.tensor(data, requires_grad=True), torch.tensor(weight, requires_grad=True)
    out, ref = F.prelu(x, w), torch.nn.functional.prelu(tx, tw)
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-14)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(w.grad.cpu().numpy(), tw.grad.numpy(), rtol=1e-12)


def test_prelu_module_learns_its_slope():
    layer = pydl.nn.PReLU(3, init=0.1)
    assert [p.shape for p in layer.parameters()] == [(3,)] and layer.weight.tolist() == pytest.approx([0.1] * 3)
    x = pydl.tensor(np.full((2, 3, 2), -1.0, np.float32))
    layer(x).sum().backward()
    assert layer.weight.grad.tolist() == [-4.0, -4.0, -4.0]
    with pytest.raises(ValueError, match="prelu: expected one weight or 3"):
        F.prelu(x, pydl.ones(2))


def test_new_activation_errors():
    with pytest.raises(ValueError, match="hardtanh: min_val 2 must not exceed max_val 1"):
        F.hardtanh(pydl.ones(2), 2, 1)
    with pytest.raises(TypeError, match="elu"):
        F.elu(pydl.tensor([1, 2]))
