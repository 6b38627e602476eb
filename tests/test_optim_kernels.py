"""Optimizer update kernels (pydl.optim.functional): 20 steps of each optimizer, for several
hyperparameter combinations, against torch.optim's classes started from the same parameters
(parameters and state buffers to 1e-6 in float64, 1e-5 in float32); a float64 numpy
reference of each rule; extreme gradients; non-contiguous tensors; refused arguments."""
import numpy as np
import pytest

import pydl
from pydl.optim import functional as F

# Odd sizes (scalar tails after the 16-byte packs), a 0-d and an empty tensor, and one large
# enough to be split over the threads.
SHAPES = [(7,), (3, 5), (), (0,), (4, 3, 3), (40001,)]
STEPS = 20
TOL = {"float32": dict(rtol=1e-5, atol=1e-5), "float64": dict(rtol=1e-6, atol=1e-6)}


def make_problem(dtype, seed=0, shapes=SHAPES):
    """Initial parameters, targets of a quadratic and a fixed noise sequence."""
    r = np.random.default_rng(seed)
    p0 = [r.standard_normal(s).astype(dtype) for s in shapes]
    target = [r.standard_normal(s).astype(dtype) for s in shapes]
    noise = [[r.standard_normal(s).astype(dtype) for s in shapes] for _ in range(STEPS)]
    return p0, target, noise


def gradient(p, target, noise):
    """d/dp of 0.5 * 0.7 * |p - target|^2, plus noise: the gradient follows the parameters."""
    return np.asarray(np.asarray(0.7, p.dtype) * (p - target) + noise, dtype=p.dtype)


# ---------------------------------------------------------------------- pydl drivers
# Each keeps the state an optimizer class would keep and calls the functional form once
# per step for the whole list of parameters.
class Driver:
    def __init__(self, p0):
        self.params = [pydl.tensor(p.copy()) for p in p0]
        self.step = 0

    def zeros(self, fill=0.0):
        return [pydl.full(tuple(p.shape), fill, dtype=p.dtype) for p in self.params]


class SGD(Driver):
    def __init__(self, p0, **kw):
        super().__init__(p0)
        self.kw = kw
        self.state = {"momentum_buffer": [None] * len(p0)} if kw.get("momentum") else {}

    def update(self, grads):
        F.sgd(self.params, grads, self.state.get("momentum_buffer"), **self.kw)


class Adam(Driver):
    def __init__(self, p0, decoupled=False, betas=(0.9, 0.999), **kw):
        super().__init__(p0)
        self.kw, self.betas, self.decoupled = kw, betas, decoupled
        self.state = {"exp_avg": self.zeros(), "exp_avg_sq": self.zeros()}
        if kw.get("amsgrad"):
            self.state["max_exp_avg_sq"] = self.zeros()

    def update(self, grads):
        self.step += 1
        fn = F.adamw if self.decoupled else F.adam
        fn(self.params, grads, self.state["exp_avg"], self.state["exp_avg_sq"], self.state.get("max_exp_avg_sq", []),
           self.step, beta1=self.betas[0], beta2=self.betas[1], **self.kw)


class RMSprop(Driver):
    def __init__(self, p0, **kw):
        super().__init__(p0)
        self.kw = kw
        self.state = {"square_avg": self.zeros()}
        if kw.get("momentum", 0) > 0:
            self.state["momentum_buffer"] = self.zeros()
        if kw.get("centered"):
            self.state["grad_avg"] = self.zeros()

    def update(self, grads):
        F.rmsprop(self.params, grads, self.state["square_avg"], self.state.get("grad_avg"),
                  self.state.get("momentum_buffer"), **self.kw)


class Adagrad(Driver):
    def __init__(self, p0, initial_accumulator_value=0.0, **kw):
        super().__init__(p0)
        self.kw = kw
        self.state = {"sum": self.zeros(initial_accumulator_value)}

    def update(self, grads):
        self.step += 1
        F.adagrad(self.params, grads, self.state["sum"], self.step, **self.kw)


class Adadelta(Driver):
    def __init__(self, p0, **kw):
        super().__init__(p0)
        self.kw = kw
        self.state = {"square_avg": self.zeros(), "acc_delta": self.zeros()}

    def update(self, grads):
        F.adadelta(self.params, grads, self.state["square_avg"], self.state["acc_delta"], **self.kw)


# (pydl driver, torch class name, kwargs for both), several combinations per optimizer.
CASES = {
    "sgd": [
        (SGD, "SGD", dict(lr=0.1)),
        (SGD, "SGD", dict(lr=0.05, momentum=0.9)),
        (SGD, "SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
        (SGD, "SGD", dict(lr=0.05, momentum=0.8, nesterov=True)),
        (SGD, "SGD", dict(lr=0.1, weight_decay=0.1, maximize=True)),
        (SGD, "SGD", dict(lr=0.02, momentum=0.9, dampening=0.1, weight_decay=0.05, maximize=True)),
        (SGD, "SGD", dict(lr=0.02, momentum=0.7, nesterov=True, weight_decay=0.2)),
    ],
    "adam": [
        (Adam, "Adam", dict(lr=0.01)),
        (Adam, "Adam", dict(lr=0.02, weight_decay=0.1)),
        (Adam, "Adam", dict(lr=0.02, amsgrad=True)),
        (Adam, "Adam", dict(lr=0.01, betas=(0.5, 0.9), eps=1e-3, maximize=True)),
        (Adam, "Adam", dict(lr=0.01, betas=(0.0, 0.3), weight_decay=0.05, amsgrad=True)),
    ],
    "adamw": [
        (lambda p0, **kw: Adam(p0, decoupled=True, weight_decay=0.01, **kw), "AdamW", dict(lr=0.01)),
        (lambda p0, **kw: Adam(p0, decoupled=True, **kw), "AdamW", dict(lr=0.02, weight_decay=0.3, amsgrad=True)),
        (lambda p0, **kw: Adam(p0, decoupled=True, **kw), "AdamW",
         dict(lr=0.01, weight_decay=0.1, betas=(0.7, 0.95), maximize=True)),
    ],
    "rmsprop": [
        (RMSprop, "RMSprop", dict(lr=0.01)),
        (RMSprop, "RMSprop", dict(lr=0.01, centered=True)),
        (RMSprop, "RMSprop", dict(lr=0.005, momentum=0.9)),
        (RMSprop, "RMSprop", dict(lr=0.005, alpha=0.6, momentum=0.5, centered=True, weight_decay=0.1)),
        (RMSprop, "RMSprop", dict(lr=0.01, eps=1e-3, maximize=True, weight_decay=0.05)),
    ],
    "adagrad": [
        (Adagrad, "Adagrad", dict(lr=0.1)),
        (Adagrad, "Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1)),
        (Adagrad, "Adagrad", dict(lr=0.05, initial_accumulator_value=0.5, eps=1e-3, maximize=True)),
    ],
    "adadelta": [
        (Adadelta, "Adadelta", dict(lr=1.0)),
        (Adadelta, "Adadelta", dict(lr=0.5, rho=0.5, weight_decay=0.1)),
        (Adadelta, "Adadelta", dict(lr=1.0, eps=1e-3, maximize=True)),
    ],
}
ALL_CASES = [(name, i) for name, cases in CASES.items() for i in range(len(cases))]


def run_pydl(driver, p0, target, noise, kw):
    opt = driver(p0, **kw)
    for t in range(STEPS):
        grads = [pydl.tensor(gradient(p.numpy(), tgt, n)) for p, tgt, n in zip(opt.params, target, noise[t])]
        opt.update(grads)
    return opt


def run_torch(torch, cls, p0, target, noise, kw):
    params = [torch.tensor(p.copy()).requires_grad_() for p in p0]
    opt = getattr(torch.optim, cls)(params, foreach=False, **kw)
    for t in range(STEPS):
        for p, tgt, n in zip(params, target, noise[t]):
            p.grad = torch.from_numpy(gradient(p.detach().numpy(), tgt, n))
        opt.step()
    return params, opt


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,index", ALL_CASES)
def test_matches_torch_optim(name, index, dtype):
    torch = pytest.importorskip("torch")
    driver, cls, kw = CASES[name][index]
    p0, target, noise = make_problem(dtype, seed=index)
    ours = run_pydl(driver, p0, target, noise, kw)
    params, opt = run_torch(torch, cls, p0, target, noise, kw)
    tol = TOL[dtype]
    for i, (a, b) in enumerate(zip(ours.params, params)):
        assert a.dtype.name == dtype
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), err_msg=f"param {i}", **tol)
        assert not np.array_equal(a.numpy(), p0[i]) or p0[i].size == 0, "the parameter never moved"
        state = opt.state[b]
        assert set(ours.state) == {k for k, v in state.items() if k != "step" and v is not None}
        for key, ours_state in ours.state.items():
            np.testing.assert_allclose(ours_state[i].numpy(), state[key].numpy(), err_msg=f"{key} {i}", **tol)


# ---------------------------------------------------------------------- numpy reference
def test_adam_one_step_matches_numpy_float64():
    r = np.random.default_rng(5)
    p, g, m, v = (r.standard_normal(37) for _ in range(4))
    v = np.abs(v)
    lr, b1, b2, eps, wd, t = 0.01, 0.8, 0.99, 1e-6, 0.1, 3
    pt, mt, vt = pydl.tensor(p), pydl.tensor(m), pydl.tensor(v)
    F.adam([pt], [pydl.tensor(g)], [mt], [vt], [], t, lr=lr, beta1=b1, beta2=b2, eps=eps, weight_decay=wd)
    g2 = g + wd * p
    m2 = b1 * m + (1 - b1) * g2
    v2 = b2 * v + (1 - b2) * g2 * g2
    p2 = p - lr / (1 - b1 ** t) * m2 / (np.sqrt(v2) / np.sqrt(1 - b2 ** t) + eps)
    np.testing.assert_allclose(pt.numpy(), p2, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(mt.numpy(), m2, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(vt.numpy(), v2, rtol=1e-12, atol=1e-14)


def test_rules_match_numpy_float64():
    r = np.random.default_rng(6)
    p, g = r.standard_normal(21), r.standard_normal(21)
    s1, s2 = np.abs(r.standard_normal(21)), np.abs(r.standard_normal(21))

    # SGD with momentum and dampening, a step after the first.
    pt, bt = pydl.tensor(p), [pydl.tensor(s1)]
    F.sgd([pt], [pydl.tensor(g)], bt, lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.01)
    buf = 0.9 * s1 + 0.8 * (g + 0.01 * p)
    np.testing.assert_allclose(bt[0].numpy(), buf, rtol=1e-12)
    np.testing.assert_allclose(pt.numpy(), p - 0.1 * buf, rtol=1e-12)

    # Centered RMSprop with momentum.
    pt, sq, ga, mb = pydl.tensor(p), pydl.tensor(s1 + 1), pydl.tensor(s2 * 0.1), pydl.tensor(s2)
    F.rmsprop([pt], [pydl.tensor(g)], [sq], [ga], [mb], lr=0.01, alpha=0.9, eps=1e-4, momentum=0.5, centered=True)
    sq2 = 0.9 * (s1 + 1) + 0.1 * g * g
    ga2 = 0.9 * s2 * 0.1 + 0.1 * g
    mb2 = 0.5 * s2 + g / (np.sqrt(sq2 - ga2 ** 2) + 1e-4)
    np.testing.assert_allclose(mb.numpy(), mb2, rtol=1e-12)
    np.testing.assert_allclose(pt.numpy(), p - 0.01 * mb2, rtol=1e-12)

    # Adagrad at step 4 with lr_decay.
    pt, st = pydl.tensor(p), pydl.tensor(s1)
    F.adagrad([pt], [pydl.tensor(g)], [st], 4, lr=0.1, lr_decay=0.5, eps=1e-7)
    np.testing.assert_allclose(pt.numpy(), p - 0.1 / 2.5 * g / (np.sqrt(s1 + g * g) + 1e-7), rtol=1e-12)

    # Adadelta.
    pt, sq, acc = pydl.tensor(p), pydl.tensor(s1), pydl.tensor(s2)
    F.adadelta([pt], [pydl.tensor(g)], [sq], [acc], lr=0.5, rho=0.8, eps=1e-5)
    sq2 = 0.8 * s1 + 0.2 * g * g
    delta = np.sqrt(s2 + 1e-5) / np.sqrt(sq2 + 1e-5) * g
    np.testing.assert_allclose(acc.numpy(), 0.8 * s2 + 0.2 * delta ** 2, rtol=1e-12)
    np.testing.assert_allclose(pt.numpy(), p - 0.5 * delta, rtol=1e-12)


def test_sgd_first_step_starts_the_buffer_from_the_gradient():
    p, g = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])
    pt, bufs = pydl.tensor(p), [None]
    F.sgd([pt], [pydl.tensor(g)], bufs, lr=0.1, momentum=0.9, dampening=0.5)
    np.testing.assert_array_equal(bufs[0].numpy(), g)  # no dampening on the first step
    np.testing.assert_allclose(pt.numpy(), p - 0.1 * g)
    F.sgd([pt], [pydl.tensor(g)], bufs, lr=0.1, momentum=0.9, dampening=0.5)
    np.testing.assert_allclose(bufs[0].numpy(), 0.9 * g + 0.5 * g)


def test_mixed_dtypes_and_per_param_steps_in_one_call():
    r = np.random.default_rng(7)
    arrs = [r.standard_normal(9).astype(np.float32), r.standard_normal(5)]
    grads = [r.standard_normal(9).astype(np.float32), r.standard_normal(5)]
    params = [pydl.tensor(a) for a in arrs]
    ms, vs = [pydl.zeros(9, dtype=pydl.float32), pydl.zeros(5, dtype=pydl.float64)], [
        pydl.zeros(9, dtype=pydl.float32), pydl.zeros(5, dtype=pydl.float64)]
    F.adam(params, [pydl.tensor(g) for g in grads], ms, vs, [], [1, 4], lr=0.1)
    for a, g, t, out in zip(arrs, grads, (1, 4), params):
        m, v = 0.1 * g, 0.001 * g * g
        ref = a - 0.1 / (1 - 0.9 ** t) * m / (np.sqrt(v) / np.sqrt(1 - 0.999 ** t) + 1e-8)
        np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5 if a.dtype == np.float32 else 1e-12)


# ---------------------------------------------------------------------- extreme values
EXTREME = np.array([0.0, -0.0, 1e-30, -1e-30, 1e-40, 1e20, -1e20, 3e38, np.inf, -np.inf, np.nan, 1.0, -2.5],
                   dtype=np.float64)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,index", [("sgd", 5), ("adam", 2), ("adam", 4), ("adamw", 1), ("rmsprop", 3),
                                        ("rmsprop", 4), ("adagrad", 1), ("adadelta", 1)])
def test_extreme_gradients_match_torch(name, index, dtype):
    """Zeros, denormals, squares that overflow, infinities and NaN go where PyTorch's go."""
    torch = pytest.importorskip("torch")
    driver, cls, kw = CASES[name][index]
    with np.errstate(over="ignore", invalid="ignore"):
        g = EXTREME.astype(dtype)
    n = g.size
    p0 = [np.linspace(-1, 1, n).astype(dtype)]
    grads = [g, np.roll(g, 3), np.full(n, 0.5, dtype)]
    ours = driver(p0, **kw)
    params = [torch.tensor(p0[0].copy()).requires_grad_()]
    opt = getattr(torch.optim, cls)(params, foreach=False, **kw)
    for step_grad in grads:
        ours.update([pydl.tensor(step_grad)])
        params[0].grad = torch.from_numpy(step_grad.copy())
        opt.step()
    a, b = ours.params[0].numpy(), params[0].detach().numpy()
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_array_equal(np.isinf(a), np.isinf(b))
    finite = np.isfinite(b)
    np.testing.assert_allclose(a[finite], b[finite], **TOL[dtype])
    for key, st in ours.state.items():
        x, y = st[0].numpy(), opt.state[params[0]][key].numpy()
        np.testing.assert_array_equal(np.isnan(x), np.isnan(y), err_msg=key)
        np.testing.assert_allclose(x[np.isfinite(y)], y[np.isfinite(y)], err_msg=key, **TOL[dtype])


def test_huge_gradient_does_not_overflow_adam_float32():
    # (1 - beta2) * g * g is computed as ((1 - beta2) * g) * g, as PyTorch: 1e-3 * 1e20 * 1e20 = 1e37.
    p, m, v = pydl.zeros(4), pydl.zeros(4), pydl.zeros(4)
    F.adam([p], [pydl.full((4,), 1e20)], [m], [v], [], 1, lr=0.1)
    assert np.isfinite(v.numpy()).all()
    np.testing.assert_allclose(p.numpy(), -0.1, rtol=1e-5)


# ---------------------------------------------------------------------- layouts
def test_non_contiguous_tensors_are_updated_in_place():
    r = np.random.default_rng(8)
    base = [r.standard_normal((6, 8)) for _ in range(4)]
    grad = r.standard_normal((8, 6))
    # params, states: transposed views of (6, 8) tensors; grad: a strided slice.
    bases = [pydl.tensor(b) for b in base]
    views = [t.transpose(0, 1) for t in bases]
    gbig = pydl.tensor(np.repeat(grad, 2, axis=1))
    gview = gbig[:, ::2]
    assert not views[0].is_contiguous() and not gview.is_contiguous()
    dense = [pydl.tensor(np.ascontiguousarray(b.T)) for b in base]
    kw = dict(lr=0.05, weight_decay=0.1, amsgrad=True)
    F.adam([views[0]], [gview], [views[1]], [views[2]], [views[3]], 2, **kw)
    F.adam([dense[0]], [pydl.tensor(grad)], [dense[1]], [dense[2]], [dense[3]], 2, **kw)
    for t, d in zip(bases, dense):  # written through the views into the base tensors
        np.testing.assert_array_equal(t.numpy(), d.numpy().T)
    assert not np.array_equal(bases[0].numpy(), base[0])

    p, bufs = pydl.tensor(base[0]).transpose(0, 1), [pydl.tensor(base[1]).transpose(0, 1)]
    pd, bufsd = pydl.tensor(np.ascontiguousarray(base[0].T)), [pydl.tensor(np.ascontiguousarray(base[1].T))]
    F.sgd([p], [gview], bufs, lr=0.1, momentum=0.9)
    F.sgd([pd], [pydl.tensor(grad)], bufsd, lr=0.1, momentum=0.9)
    np.testing.assert_array_equal(p.numpy(), pd.numpy())
    np.testing.assert_array_equal(bufs[0].numpy(), bufsd[0].numpy())


def test_many_tensors_one_call():
    r = np.random.default_rng(9)
    shapes = [(int(n),) for n in r.integers(0, 50, size=300)] + [(70000,)]
    arrs = [r.standard_normal(s) for s in shapes]
    grads = [r.standard_normal(s) for s in shapes]
    params = [pydl.tensor(a) for a in arrs]
    bufs = [None] * len(params)
    F.sgd(params, [pydl.tensor(g) for g in grads], bufs, lr=0.1, momentum=0.5, nesterov=True)
    for a, g, p, b in zip(arrs, grads, params, bufs):
        np.testing.assert_allclose(b.numpy(), g)
        np.testing.assert_allclose(p.numpy(), a - 0.1 * (g + 0.5 * g), rtol=1e-12)


def test_empty_lists_are_a_no_op():
    F.sgd([], [], [], lr=0.1, momentum=0.9)
    F.adam([], [], [], [], [], 1, lr=0.1)
    F.adagrad([], [], [], 1, lr=0.1)


# ---------------------------------------------------------------------- refused arguments
def small(n=3, dtype=pydl.float32):
    return pydl.zeros(n, dtype=dtype)


def adam1(step=1, lr=0.1, **kw):
    """One Adam update of one small parameter."""
    F.adam([small()], [small()], [small()], [small()], [], step, lr=lr, **kw)


@pytest.mark.parametrize("call,match", [
    (lambda: F.sgd([small()], [small(4)], [None], lr=0.1, momentum=0.9), r"sgd: grad 0 has shape \(4,\)"),
    (lambda: F.sgd([small()], [small(dtype=pydl.float64)], [None], lr=0.1), "sgd: grad 0 is float64"),
    (lambda: F.sgd([small()], [small()], [small(2)], lr=0.1, momentum=0.9), "sgd: momentum_buffer 0 has shape"),
    (lambda: F.sgd([small()], [small()], [], lr=0.1, momentum=0.9), "sgd: expected one momentum_buffer per param"),
    (lambda: F.sgd([small(), small()], [small()], [], lr=0.1), r"sgd: expected one grad per param \(2\), got 1"),
    (lambda: F.sgd([small()], [small()], [None], lr=-0.1), "sgd: expected lr >= 0"),
    (lambda: F.sgd([small()], [small()], [None], lr=float("nan")), "sgd: expected lr >= 0"),
    (lambda: F.sgd([small()], [small()], [None], lr=0.1, momentum=-1), "sgd: expected momentum >= 0"),
    (lambda: F.sgd([small()], [small()], [None], lr=0.1, nesterov=True), "sgd: nesterov"),
    (lambda: F.sgd([small()], [small()], [None], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "nesterov"),
    (lambda: F.sgd([small()], [small()], [None], lr=0.1, weight_decay=-1), "sgd: expected weight_decay >= 0"),
    (lambda: adam1(beta1=1.0), "adam: expected 0 <= beta1 < 1"),
    (lambda: adam1(beta2=-0.1), "adam: expected 0 <= beta2"),
    (lambda: adam1(eps=-1), "adam: expected eps >= 0"),
    (lambda: adam1(step=0), "adam: expected step counts >= 1"),
    (lambda: adam1(step=[1, 2]), "adam: expected one step count"),
    (lambda: adam1(amsgrad=True), "adam: expected one max_exp_avg_sq per param"),
    (lambda: F.adamw([small()], [small()], [small()], [small(dtype=pydl.float64)], [], 1, lr=0.1),
     "adamw: exp_avg_sq 0 is float64, expected float32"),
    (lambda: F.rmsprop([small()], [small()], [small()], None, None, lr=0.1, alpha=-0.5),
     "rmsprop: expected alpha >= 0"),
    (lambda: F.rmsprop([small()], [small()], [small()], None, [], lr=0.1, momentum=0.9),
     "rmsprop: expected one momentum_buffer per param"),
    (lambda: F.rmsprop([small()], [small()], [small()], [small(5)], None, lr=0.1, centered=True),
     "rmsprop: grad_avg 0 has shape"),
    (lambda: F.adagrad([small()], [small()], [small()], 1, lr=0.1, lr_decay=-1), "adagrad: expected lr_decay >= 0"),
    (lambda: F.adagrad([small()], [small()], [small()], 1, lr=0.1, eps=-1), "adagrad: expected eps >= 0"),
    (lambda: F.adadelta([small()], [small()], [small()], [small()], lr=1.0, rho=1.5),
     r"adadelta: expected 0 <= rho <= 1"),
    (lambda: F.adadelta([small()], [small()], [small()], [small(4)], lr=1.0), "adadelta: acc_delta 0 has shape"),
    (lambda: F.adadelta([small()], [small()], [small()], [small()], lr=1.0, weight_decay=-1),
     "adadelta: expected weight_decay"),
    (lambda: F.sgd([pydl.zeros(1).expand(3)], [small()], [None], lr=0.1), "sgd: param 0 is a broadcast view"),
])
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_arguments_leave_tensors_untouched():
    p, g, m, v = small(), pydl.ones(3), small(), small()
    with pytest.raises(ValueError):
        F.adam([p, small()], [g, g], [m, small()], [v, small(4)], [], 1, lr=0.1)
    assert np.array_equal(p.numpy(), np.zeros(3)) and np.array_equal(m.numpy(), np.zeros(3))


def test_none_in_a_list_raises_type_error():
    p = small()
    hyper = dict(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False,
                 decoupled_weight_decay=False)
    with pytest.raises(TypeError, match="adam: exp_avg 0 is None"):
        pydl._C.adam_update([p._a], [p._a], [None], [p._a], [], [1], **hyper)
    with pytest.raises(TypeError, match="adam: grad 0 is None"):
        pydl._C.adam_update([p._a], [None], [p._a], [p._a], [], [1], **hyper)


def test_integer_params_raise_type_error():
    p = pydl.zeros(3, dtype=pydl.int64)
    with pytest.raises(TypeError, match="sgd: expected float32 or float64 params, got int64"):
        F.sgd([p], [pydl.zeros(3, dtype=pydl.int64)], [None], lr=0.1)
    with pytest.raises(TypeError, match="adam: grad 0 must be a Tensor, got NoneType"):
        F.adam([small()], [None], [small()], [small()], [], 1, lr=0.1)


@pytest.mark.skipif(not pydl.cuda.is_available(), reason="needs a CUDA GPU")
def test_mismatched_devices_raise_value_error():
    p, g = small(), small().to("cuda")
    with pytest.raises(ValueError, match="sgd: grad 0 is on cuda:0, param 0 on cpu"):
        F.sgd([p], [g], [None], lr=0.1)
