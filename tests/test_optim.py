"""pydl.optim's optimizer classes and LR schedules against torch.optim: 20 training steps of a
tiny two-layer model and its torch twin from the same initial parameters (parameters and
state buffers to 1e-5 in float32), one and two parameter groups; zero_grad; parameters
without gradients; refused arguments; state_dict / load_state_dict (directly and through
pydl.save / pydl.load); StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR and
ReduceLROnPlateau LR sequences over 30 epochs, get_last_lr and state_dict round trips."""
import math

import numpy as np
import pytest

import pydl
from pydl import nn, optim
from pydl.optim import lr_scheduler

torch = pytest.importorskip("torch")

STEPS = 20
TOL = dict(rtol=1e-5, atol=1e-5)
# Buffers normalized by sqrt(v) (RMSprop's momentum) amplify the last-bit differences of two float32
# gradients (different summation orders, FMA or not) where v is small: 5e-5 was seen on an Intel Xeon.
STATE_TOL = dict(rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------- the model and its twin
def _init(seed=0):
    r = np.random.default_rng(seed)
    return {
        "0.weight": (0.5 * r.standard_normal((4, 5))).astype(np.float32),
        "0.bias": (0.1 * r.standard_normal(4)).astype(np.float32),
        "2.weight": (0.5 * r.standard_normal((2, 4))).astype(np.float32),
        "2.bias": (0.1 * r.standard_normal(2)).astype(np.float32),
    }


_R = np.random.default_rng(42)
X = _R.standard_normal((8, 5)).astype(np.float32)
Y = _R.standard_normal((8, 2)).astype(np.float32)


def pydl_model(seed=0):
    m = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2))
    m.load_state_dict({k: pydl.tensor(v) for k, v in _init(seed).items()})
    return m


def torch_model(seed=0):
    m = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    m.load_state_dict({k: torch.tensor(v) for k, v in _init(seed).items()})
    return m


def pydl_loss(m):
    return ((m(pydl.tensor(X)) - pydl.tensor(Y)) ** 2).mean()


def torch_loss(m):
    return ((m(torch.tensor(X)) - torch.tensor(Y)) ** 2).mean()


def groups(params, two_groups, lr):
    """The parameters as one group, or as two groups, the second with a smaller lr."""
    params = list(params)
    if not two_groups:
        return params
    return [{"params": params[:2]}, {"params": params[2:], "lr": lr * 0.3}]


def np_(t):
    return t.detach().cpu().numpy() if isinstance(t, pydl.Tensor) else t.detach().numpy()


def train(model, opt, loss_fn, steps):
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model)
        loss.backward()
        opt.step()


# ---------------------------------------------------------------------- parity with torch.optim
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, weight_decay=0.05, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01, maximize=True)),
    ("SGD", dict(lr=0.02, momentum=0.9, nesterov=True, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.005, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, weight_decay=0.1)),
    # (centered with a tiny eps is ill-conditioned in float32: sqrt(square_avg - grad_avg^2) is a
    # difference of near-equal numbers; test_matches_torch_float64 runs that case)
    ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5, weight_decay=0.05, eps=1e-3)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.02, initial_accumulator_value=0.1, eps=1e-6, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.5, eps=1e-4, weight_decay=0.1)),
]
IDS = [f"{name}-" + "-".join(f"{k}={v}" for k, v in kw.items()) for name, kw in CASES]


def assert_same_state(popt, topt, pparams, tparams):
    for pp, tp in zip(pparams, tparams):
        ps, ts = popt.state.get(pp, {}), topt.state.get(tp, {})
        tkeys = {k for k, v in ts.items() if v is not None}
        assert set(ps) == tkeys, (set(ps), tkeys)
        for k, tv in ts.items():
            if tv is None:
                continue
            pv = ps[k]
            if k == "step":
                assert float(pv if not isinstance(pv, pydl.Tensor) else pv.item()) == float(tv)
            else:
                np.testing.assert_allclose(np_(pv), np_(tv), err_msg=k, **STATE_TOL)


@pytest.mark.parametrize("two_groups", [False, True], ids=["1group", "2groups"])
@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_matches_torch(name, kw, two_groups):
    pm, tm = pydl_model(), torch_model()
    lr = kw.get("lr", 1.0)
    popt = getattr(optim, name)(groups(pm.parameters(), two_groups, lr), **kw)
    topt = getattr(torch.optim, name)(groups(tm.parameters(), two_groups, lr), **kw)
    start = [np_(p).copy() for p in pm.parameters()]
    for _ in range(STEPS):
        popt.zero_grad()
        topt.zero_grad()
        pl, tl = pydl_loss(pm), torch_loss(tm)
        np.testing.assert_allclose(pl.item(), tl.item(), **TOL)
        pl.backward()
        tl.backward()
        popt.step()
        topt.step()
    for (n, pp), tp in zip(pm.named_parameters(), tm.parameters()):
        np.testing.assert_allclose(np_(pp), np_(tp), err_msg=n, **TOL)
    # the parameters did move (the comparison above is not of two untouched models)
    assert max(np.abs(np_(p) - s).max() for p, s in zip(pm.parameters(), start)) > 1e-3
    assert_same_state(popt, topt, list(pm.parameters()), list(tm.parameters()))
    assert [g["lr"] for g in popt.param_groups] == [g["lr"] for g in topt.param_groups]


FLOAT64_CASES = [
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01, maximize=True)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5, weight_decay=0.05, eps=1e-6)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.02, initial_accumulator_value=0.1, eps=1e-6, maximize=True)),
    ("Adadelta", dict(lr=0.5, rho=0.5, eps=1e-4, weight_decay=0.1)),
]


@pytest.mark.parametrize("name,kw", FLOAT64_CASES, ids=[n for n, _ in FLOAT64_CASES])
def test_matches_torch_float64(name, kw):
    """float64 parameters and state follow torch's to 1e-10 (the float32 runs' differences are rounding)."""
    pm, tm = pydl_model().double(), torch_model().double()
    x, y = pydl.tensor(X.astype(np.float64)), pydl.tensor(Y.astype(np.float64))
    tx, ty = torch.tensor(X.astype(np.float64)), torch.tensor(Y.astype(np.float64))
    popt = getattr(optim, name)(groups(pm.parameters(), True, kw["lr"]), **kw)
    topt = getattr(torch.optim, name)(groups(tm.parameters(), True, kw["lr"]), **kw)
    train(pm, popt, lambda m: ((m(x) - y) ** 2).mean(), STEPS)
    train(tm, topt, lambda m: ((m(tx) - ty) ** 2).mean(), STEPS)
    for pp, tp in zip(pm.parameters(), tm.parameters()):
        assert pp.dtype == pydl.float64
        np.testing.assert_allclose(np_(pp), np_(tp), rtol=1e-10, atol=1e-10)
    for pp, tp in zip(pm.parameters(), tm.parameters()):
        for k, v in popt.state[pp].items():
            if isinstance(v, pydl.Tensor):
                assert v.dtype == pydl.float64
                np.testing.assert_allclose(np_(v), np_(topt.state[tp][k]), rtol=1e-10, atol=1e-10, err_msg=k)


def test_two_groups_really_use_their_own_lr():
    """With lr 0 in the second group its parameters stay exactly where they were."""
    pm = pydl_model()
    ps = list(pm.parameters())
    frozen = [np_(p).copy() for p in ps[2:]]
    opt = optim.Adam([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.0}], lr=0.01)
    train(pm, opt, pydl_loss, 3)
    for p, f in zip(ps[2:], frozen):
        np.testing.assert_array_equal(np_(p), f)
    assert not np.array_equal(np_(ps[0]), _init()["0.weight"])
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)  # defaults filled into each group


def test_step_closure_returns_loss():
    pm, tm = pydl_model(), torch_model()
    popt, topt = optim.SGD(pm.parameters(), lr=0.1, momentum=0.5), torch.optim.SGD(tm.parameters(), lr=0.1,
                                                                                       momentum=0.5)

    def closure(m, opt, f):
        def c():
            opt.zero_grad()
            loss = f(m)
            loss.backward()
            return loss
        return c

    for _ in range(5):
        pl = popt.step(closure(pm, popt, pydl_loss))
        tl = topt.step(closure(tm, topt, torch_loss))
        np.testing.assert_allclose(pl.item(), tl.item(), **TOL)
    assert popt.step() is None and topt.step() is None  # one more step on the last gradients
    for pp, tp in zip(pm.parameters(), tm.parameters()):
        np.testing.assert_allclose(np_(pp), np_(tp), **TOL)


# ---------------------------------------------------------------------- zero_grad, missing grads
def test_zero_grad_set_to_none():
    pm = pydl_model()
    opt = optim.SGD(pm.parameters(), lr=0.1)
    pydl_loss(pm).backward()
    assert all(p.grad is not None for p in pm.parameters())
    opt.zero_grad()  # default: set_to_none=True, as torch
    assert all(p.grad is None for p in pm.parameters())
    pydl_loss(pm).backward()
    opt.zero_grad(set_to_none=True)
    assert all(p.grad is None for p in pm.parameters())


def test_zero_grad_set_to_zero():
    pm = pydl_model()
    opt = optim.SGD(pm.parameters(), lr=0.1)
    pydl_loss(pm).backward()
    first = [np_(p.grad).copy() for p in pm.parameters()]
    assert any(np.abs(g).max() > 0 for g in first)
    opt.zero_grad(set_to_none=False)
    for p in pm.parameters():
        assert p.grad is not None and tuple(p.grad.shape) == tuple(p.shape)
        assert not np.any(np_(p.grad))
        assert not p.grad.requires_grad
    # the zeroed gradients accumulate the next backward as fresh ones
    pydl_loss(pm).backward()
    for p, g in zip(pm.parameters(), first):
        np.testing.assert_allclose(np_(p.grad), g, rtol=1e-6, atol=1e-7)


OPTIMIZERS = [
    (optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.1)),
    (optim.Adam, dict(lr=0.1, weight_decay=0.1, amsgrad=True)),
    (optim.AdamW, dict(lr=0.1, weight_decay=0.1)),
    (optim.RMSprop, dict(lr=0.1, momentum=0.9, centered=True, weight_decay=0.1)),
    (optim.Adagrad, dict(lr=0.1, weight_decay=0.1)),
    (optim.Adadelta, dict(weight_decay=0.1)),
]
OPT_IDS = [c.__name__ for c, _ in OPTIMIZERS]


@pytest.mark.parametrize("cls,kw", OPTIMIZERS, ids=OPT_IDS)
def test_params_without_grad_are_skipped(cls, kw):
    used = pydl.tensor(np.array([1.0, -2.0, 3.0], np.float32), requires_grad=True)
    unused = pydl.tensor(np.array([0.5, 0.25], np.float32), requires_grad=True)
    frozen = pydl.tensor(np.array([4.0, 5.0], np.float32))  # requires_grad=False: allowed, as in torch
    opt = cls([{"params": [used, unused]}, {"params": [frozen]}], **kw)
    for _ in range(3):
        opt.zero_grad()
        ((used * used).sum() * 0.5).backward()
        opt.step()
    assert unused.grad is None and frozen.grad is None
    np.testing.assert_array_equal(np_(unused), [0.5, 0.25])  # no weight decay, no momentum
    np.testing.assert_array_equal(np_(frozen), [4.0, 5.0])
    assert not np.allclose(np_(used), [1.0, -2.0, 3.0])
    for p in (unused, frozen):
        s = opt.state.get(p, {})
        assert int(s.get("step", 0)) == 0
        assert not any(isinstance(v, pydl.Tensor) and np.any(np_(v)) for k, v in s.items() if k != "sum")


@pytest.mark.parametrize("cls,kw", OPTIMIZERS, ids=OPT_IDS)
def test_add_param_group_later_matches_torch(cls, kw):
    """A group added after construction is optimized (Adagrad's state included)."""
    pm, tm = pydl_model(), torch_model()
    pp, tp = list(pm.parameters()), list(tm.parameters())
    popt = cls(pp[:2], **kw)
    topt = getattr(torch.optim, cls.__name__)(tp[:2], **kw)
    popt.add_param_group({"params": pp[2:], "lr": 0.05})
    topt.add_param_group({"params": tp[2:], "lr": 0.05})
    assert popt.param_groups[1]["lr"] == 0.05
    assert popt.param_groups[1]["weight_decay"] == 0.1
    train(pm, popt, pydl_loss, 5)
    train(tm, topt, torch_loss, 5)
    for a, b in zip(pp, tp):
        np.testing.assert_allclose(np_(a), np_(b), **TOL)
    assert_same_state(popt, topt, pp, tp)


# ---------------------------------------------------------------------- refused arguments
def test_duplicate_params_across_groups():
    a = pydl.zeros(3, requires_grad=True)
    b = pydl.zeros(2, requires_grad=True)
    with pytest.raises(ValueError):
        optim.SGD([{"params": [a, b]}, {"params": [a], "lr": 0.5}], lr=0.1)
    opt = optim.Adam([a], lr=0.1)
    with pytest.raises(ValueError):
        opt.add_param_group({"params": [b, a]})
    assert len(opt.param_groups) == 1
    opt.add_param_group({"params": b})  # a bare tensor is one parameter
    assert len(opt.param_groups) == 2 and opt.param_groups[1]["params"][0] is b


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad,
                                 optim.Adadelta])
def test_empty_parameter_list(cls):
    with pytest.raises(ValueError):
        cls([], lr=0.1)
    with pytest.raises(ValueError):
        cls(iter(()), lr=0.1)
    with pytest.raises(ValueError):
        cls(nn.Tanh().parameters(), lr=0.1)


def test_refused_param_containers():
    p = pydl.zeros(3, requires_grad=True)
    with pytest.raises(TypeError):
        optim.SGD(p, lr=0.1)  # a tensor, not an iterable of tensors (torch: TypeError)
    with pytest.raises(TypeError):
        optim.SGD({p}, lr=0.1)  # a set has no order (torch: TypeError)
    with pytest.raises(TypeError):
        optim.SGD([p, 3.0], lr=0.1)
    with pytest.raises(ValueError):
        optim.SGD([p * 2], lr=0.1)  # a non-leaf tensor


BAD = [
    (optim.SGD, dict(lr=-0.1)),
    (optim.SGD, dict(lr=0.1, momentum=-0.5)),
    (optim.SGD, dict(lr=0.1, weight_decay=-1e-4)),
    (optim.SGD, dict(lr=0.1, nesterov=True)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)),
    (optim.Adam, dict(lr=-1e-3)),
    (optim.Adam, dict(eps=-1e-8)),
    (optim.Adam, dict(betas=(1.0, 0.999))),
    (optim.Adam, dict(betas=(0.9, 1.0))),
    (optim.Adam, dict(betas=(-0.1, 0.999))),
    (optim.Adam, dict(weight_decay=-0.1)),
    (optim.AdamW, dict(betas=(0.9, 1.5))),
    (optim.AdamW, dict(lr=-1.0)),
    (optim.RMSprop, dict(lr=-0.01)),
    (optim.RMSprop, dict(eps=-1.0)),
    (optim.RMSprop, dict(momentum=-0.9)),
    (optim.RMSprop, dict(weight_decay=-0.1)),
    (optim.RMSprop, dict(alpha=-0.5)),
    (optim.Adagrad, dict(lr=-0.1)),
    (optim.Adagrad, dict(lr_decay=-0.1)),
    (optim.Adagrad, dict(initial_accumulator_value=-1.0)),
    (optim.Adagrad, dict(eps=-1e-10)),
    (optim.Adadelta, dict(lr=-1.0)),
    (optim.Adadelta, dict(rho=1.5)),
    (optim.Adadelta, dict(eps=-1e-6)),
    (optim.Adadelta, dict(weight_decay=-0.1)),
]


@pytest.mark.parametrize("cls,kw", BAD, ids=[f"{c.__name__}-{kw}" for c, kw in BAD])
def test_invalid_hyperparameters(cls, kw):
    p = pydl.zeros(3, requires_grad=True)
    with pytest.raises(ValueError):
        cls([p], **kw)
    # torch refuses the same values (so these are refusals of its API, not pydl's own)
    with pytest.raises(ValueError):
        getattr(torch.optim, cls.__name__)([torch.zeros(3, requires_grad=True)], **kw)


def test_valid_edge_hyperparameters_accepted():
    p = pydl.zeros(3, requires_grad=True)
    optim.SGD([p], lr=0.0, momentum=0.0, weight_decay=0.0)
    optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True)
    optim.Adam([p], betas=(0.0, 0.0), eps=0.0)
    optim.Adadelta([p], rho=1.0)
    optim.RMSprop([p], alpha=0.0)


# ---------------------------------------------------------------------- state_dict / load_state_dict
STATEFUL = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.01)),
    ("AdamW", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
    ("Adadelta", dict(lr=0.5)),
]
STATEFUL_IDS = [n for n, _ in STATEFUL]


def _params_np(m):
    return [np_(p).copy() for p in m.parameters()]


@pytest.mark.parametrize("name,kw", STATEFUL, ids=STATEFUL_IDS)
def test_load_state_dict_continues_identically(name, kw):
    cls = getattr(optim, name)
    m1 = pydl_model()
    o1 = cls(groups(m1.parameters(), True, kw["lr"] if "lr" in kw else 1.0), **kw)
    train(m1, o1, pydl_loss, 7)
    o1.param_groups[1]["lr"] *= 0.5  # a changed hyperparameter travels with the state dict
    sd = o1.state_dict()
    assert sorted(sd) == ["param_groups", "state"]
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2, 3]]

    m2 = pydl_model(seed=1)  # other parameters and a fresh optimizer...
    m2.load_state_dict(m1.state_dict())
    o2 = cls(groups(m2.parameters(), True, 1e-3), **{**kw, "lr": 1e-3})
    o2.load_state_dict(sd)
    assert [g["lr"] for g in o2.param_groups] == [g["lr"] for g in o1.param_groups]
    train(m1, o1, pydl_loss, 8)  # ...continue as the original does, bit for bit
    train(m2, o2, pydl_loss, 8)
    for a, b in zip(_params_np(m1), _params_np(m2)):
        np.testing.assert_array_equal(a, b)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        assert set(o1.state[p1]) == set(o2.state[p2])
        for k, v in o1.state[p1].items():
            if isinstance(v, pydl.Tensor):
                np.testing.assert_array_equal(np_(v), np_(o2.state[p2][k]))
            else:
                assert v == o2.state[p2][k]


@pytest.mark.parametrize("name,kw", STATEFUL, ids=STATEFUL_IDS)
def test_load_state_dict_matches_torch_continuation(name, kw):
    """pydl state loaded into a fresh pydl optimizer continues as torch's uninterrupted run."""
    pm, tm = pydl_model(), torch_model()
    po = getattr(optim, name)(pm.parameters(), **kw)
    to = getattr(torch.optim, name)(tm.parameters(), **kw)
    train(pm, po, pydl_loss, 6)
    train(tm, to, torch_loss, 6)
    po2 = getattr(optim, name)(pm.parameters(), **kw)
    po2.load_state_dict(po.state_dict())
    train(pm, po2, pydl_loss, 6)
    train(tm, to, torch_loss, 6)
    for a, b in zip(pm.parameters(), tm.parameters()):
        np.testing.assert_allclose(np_(a), np_(b), **TOL)


def test_state_dict_is_a_snapshot():
    pm = pydl_model()
    opt = optim.Adam(pm.parameters(), lr=0.01)
    train(pm, opt, pydl_loss, 2)
    sd = opt.state_dict()
    saved = np_(sd["state"][0]["exp_avg"]).copy()
    train(pm, opt, pydl_loss, 2)
    np.testing.assert_array_equal(np_(sd["state"][0]["exp_avg"]), saved)
    assert sd["state"][0]["step"] == 2 and opt.state_dict()["state"][0]["step"] == 4
    # loading copies too: an optimizer trained after loading leaves the dict as it was
    opt2 = optim.Adam(pm.parameters(), lr=0.01)
    opt2.load_state_dict(sd)
    train(pm, opt2, pydl_loss, 2)
    np.testing.assert_array_equal(np_(sd["state"][0]["exp_avg"]), saved)
    assert not np.array_equal(np_(opt2.state[next(iter(pm.parameters()))]["exp_avg"]), saved)


@pytest.mark.parametrize("name,kw", STATEFUL, ids=STATEFUL_IDS)
def test_checkpoint_round_trip_through_pydl_save(name, kw, tmp_path):
    cls = getattr(optim, name)
    m1 = pydl_model()
    o1 = cls(groups(m1.parameters(), True, kw.get("lr", 1.0)), **kw)
    train(m1, o1, pydl_loss, 5)
    path = tmp_path / "ckpt.safetensors"
    pydl.save({"model": m1.state_dict(), "optimizer": o1.state_dict(), "epoch": 3}, path)
    ck = pydl.load(path)
    assert ck["epoch"] == 3
    assert ck["optimizer"]["param_groups"] == o1.state_dict()["param_groups"]

    m2 = pydl_model(seed=7)
    m2.load_state_dict(ck["model"])
    o2 = cls(groups(m2.parameters(), True, kw.get("lr", 1.0)), **kw)
    o2.load_state_dict(ck["optimizer"])
    train(m1, o1, pydl_loss, 6)
    train(m2, o2, pydl_loss, 6)
    for a, b in zip(_params_np(m1), _params_np(m2)):
        np.testing.assert_array_equal(a, b)


def test_load_state_dict_mismatch_raises_and_leaves_optimizer_alone():
    pm = pydl_model()
    ps = list(pm.parameters())
    two = optim.SGD([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.5}], lr=0.1, momentum=0.9)
    one = optim.SGD(ps, lr=0.2, momentum=0.9)
    train(pm, one, pydl_loss, 1)
    with pytest.raises(ValueError):
        one.load_state_dict(two.state_dict())  # 2 groups into 1
    with pytest.raises(ValueError):
        two.load_state_dict(one.state_dict())  # 1 group into 2
    other = optim.SGD([{"params": ps[:1], "lr": 0.7}, {"params": ps[1:], "lr": 0.9}], lr=0.3, momentum=0.9)
    with pytest.raises(ValueError):
        two.load_state_dict(other.state_dict())  # 2 groups, of 1 + 3 parameters instead of 2 + 2
    other = optim.SGD([{"params": ps[:2], "lr": 0.7}, {"params": ps[2:3], "lr": 0.9}], lr=0.3, momentum=0.9)
    with pytest.raises(ValueError):
        two.load_state_dict(other.state_dict())  # the first group fits, the second does not
    # a refused state dict changes nothing
    assert [g["lr"] for g in two.param_groups] == [0.1, 0.5]
    assert one.param_groups[0]["lr"] == 0.2 and len(one.state) == 4
    # a state of another shape is refused too
    sd = one.state_dict()
    sd["param_groups"][0]["lr"] = 0.01
    sd["state"][3]["momentum_buffer"] = pydl.zeros(3)
    before = {p: np_(b["momentum_buffer"]).copy() for p, b in one.state.items()}
    with pytest.raises(ValueError):
        one.load_state_dict(sd)
    assert one.param_groups[0]["lr"] == 0.2 and len(one.state) == 4
    for p, b in before.items():
        np.testing.assert_array_equal(np_(one.state[p]["momentum_buffer"]), b)


# ---------------------------------------------------------------------- LR schedules
def _sched_pair(make, lrs=(0.1, 0.05)):
    """pydl and torch optimizers with two groups of the given lrs, and the schedules `make` builds."""
    pp = [pydl.zeros(2, requires_grad=True), pydl.zeros(3, requires_grad=True)]
    tp = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    po = optim.SGD([{"params": [pp[0]], "lr": lrs[0]}, {"params": [pp[1]], "lr": lrs[1]}], lr=1.0)
    to = torch.optim.SGD([{"params": [tp[0]], "lr": lrs[0]}, {"params": [tp[1]], "lr": lrs[1]}], lr=1.0)
    return po, to, make(lr_scheduler, po), make(torch.optim.lr_scheduler, to)


SCHEDULES = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
    "StepLR-1": lambda m, o: m.StepLR(o, step_size=1, gamma=0.9),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[20, 5, 12, 12], gamma=0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.93),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=30),
    "CosineAnnealingLR-periodic": lambda m, o: m.CosineAnnealingLR(o, T_max=8, eta_min=0.001),
    "CosineAnnealingLR-zero": lambda m, o: m.CosineAnnealingLR(o, T_max=10, eta_min=0.0),
}


def _assert_lrs(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("which", list(SCHEDULES))
def test_schedule_matches_torch(which):
    po, to, ps, ts = _sched_pair(SCHEDULES[which])
    _assert_lrs(ps.get_last_lr(), ts.get_last_lr())
    seen = []
    for _ in range(30):
        po.step()
        to.step()
        ps.step()
        ts.step()
        _assert_lrs(ps.get_last_lr(), ts.get_last_lr())
        _assert_lrs([g["lr"] for g in po.param_groups], [g["lr"] for g in to.param_groups])
        assert ps.get_last_lr() == [g["lr"] for g in po.param_groups]
        seen.append(ps.get_last_lr()[0])
    assert ps.last_epoch == ts.last_epoch == 30
    assert len(set(seen)) > 1  # the schedule did change the lr
    assert [g["initial_lr"] for g in po.param_groups] == [0.1, 0.05]


def test_get_last_lr_is_a_copy():
    po, _, ps, _ = _sched_pair(SCHEDULES["ExponentialLR"])
    last = ps.get_last_lr()
    last[0] = 123.0
    assert ps.get_last_lr()[0] == 0.1 and po.param_groups[0]["lr"] == 0.1


@pytest.mark.parametrize("which", list(SCHEDULES))
def test_schedule_state_dict_round_trip(which, tmp_path):
    make = SCHEDULES[which]
    po, _, ps, _ = _sched_pair(make)
    full = []
    for epoch in range(30):
        po.step()
        ps.step()
        full.append(ps.get_last_lr())
        if epoch == 11:
            pydl.save({"optimizer": po.state_dict(), "scheduler": ps.state_dict()}, tmp_path / "s.safetensors")
    ck = pydl.load(tmp_path / "s.safetensors")
    assert ck["scheduler"]["last_epoch"] == 12
    po2, _, ps2, _ = _sched_pair(make, lrs=(0.9, 0.8))
    po2.load_state_dict(ck["optimizer"])
    ps2.load_state_dict(ck["scheduler"])
    assert ps2.get_last_lr() == full[11]
    assert [g["lr"] for g in po2.param_groups] == full[11]
    resumed = []
    for _ in range(18):
        po2.step()
        ps2.step()
        resumed.append(ps2.get_last_lr())
    assert resumed == full[12:]
    assert ps2.optimizer is po2 and "optimizer" not in ps.state_dict()


# ReduceLROnPlateau: a metric that improves by large steps, by steps under the relative and
# over the absolute thresholds, and stays flat, so that every branch is taken.
_M = [1.0]
for _i, _kind in enumerate(np.random.default_rng(3).choice(["flat", "tiny", "small", "big", "worse"], 29)):
    _M.append({"flat": _M[-1], "tiny": _M[-1] * (1 - 3e-5), "small": _M[-1] - 0.02, "big": _M[-1] * 0.7,
               "worse": _M[-1] * 1.05}[_kind])
METRIC = _M

PLATEAU = {
    "min-rel": dict(mode="min", patience=2),
    "min-rel-p0": dict(mode="min", patience=0, factor=0.5),
    "min-abs": dict(mode="min", patience=1, threshold=0.05, threshold_mode="abs", factor=0.5),
    "min-cooldown": dict(mode="min", patience=1, cooldown=2, factor=0.5),
    "min-min_lr": dict(mode="min", patience=0, factor=0.3, min_lr=0.004),
    "min-min_lr-list": dict(mode="min", patience=0, factor=0.5, min_lr=[0.02, 0.001]),
    "max-rel": dict(mode="max", patience=1, factor=0.5, threshold=0.01),
    "max-abs-cooldown": dict(mode="max", patience=0, cooldown=1, threshold=0.01, threshold_mode="abs"),
    "min-eps": dict(mode="min", patience=0, factor=0.9, eps=0.004),
}


@pytest.mark.parametrize("which", list(PLATEAU))
def test_reduce_on_plateau_matches_torch(which):
    kw = PLATEAU[which]
    po, to, ps, ts = _sched_pair(lambda m, o: m.ReduceLROnPlateau(o, **kw))
    sign = -1.0 if kw["mode"] == "max" else 1.0
    lrs = []
    for epoch in range(30):
        po.step()
        to.step()
        ps.step(sign * METRIC[epoch])
        ts.step(sign * METRIC[epoch])
        _assert_lrs(ps.get_last_lr(), ts.get_last_lr())
        _assert_lrs([g["lr"] for g in po.param_groups], [g["lr"] for g in to.param_groups])
        assert ps.num_bad_epochs == ts.num_bad_epochs and ps.cooldown_counter == ts.cooldown_counter
        assert ps.best == ts.best
        lrs.append(ps.get_last_lr()[0])
    assert lrs[-1] < 0.1  # it did reduce


def test_reduce_on_plateau_state_dict_round_trip(tmp_path):
    kw = PLATEAU["min-cooldown"]
    po, _, ps, _ = _sched_pair(lambda m, o: m.ReduceLROnPlateau(o, **kw))
    full = []
    for epoch in range(30):
        po.step()
        ps.step(METRIC[epoch])
        full.append(ps.get_last_lr())
        if epoch == 9:
            pydl.save({"optimizer": po.state_dict(), "scheduler": ps.state_dict()}, tmp_path / "p.safetensors")
    ck = pydl.load(tmp_path / "p.safetensors")
    po2, _, ps2, _ = _sched_pair(lambda m, o: m.ReduceLROnPlateau(o, mode="max"), lrs=(0.9, 0.8))
    po2.load_state_dict(ck["optimizer"])
    ps2.load_state_dict(ck["scheduler"])
    assert ps2.mode == "min" and ps2.cooldown == 2 and ps2.last_epoch == 10
    resumed = []
    for epoch in range(10, 30):
        po2.step()
        ps2.step(METRIC[epoch])
        resumed.append(ps2.get_last_lr())
    assert resumed == full[10:]
    assert full[-1] != full[9]


def test_reduce_on_plateau_refused_arguments():
    po = optim.SGD([pydl.zeros(2, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError):
        lr_scheduler.ReduceLROnPlateau(po, factor=1.0)
    with pytest.raises(ValueError):
        lr_scheduler.ReduceLROnPlateau(po, mode="up")
    with pytest.raises(ValueError):
        lr_scheduler.ReduceLROnPlateau(po, threshold_mode="relative")
    with pytest.raises(ValueError):
        lr_scheduler.ReduceLROnPlateau(po, min_lr=[0.1, 0.2])  # one min_lr per group


def test_scheduler_with_last_epoch_needs_initial_lr():
    po = optim.SGD([pydl.zeros(2, requires_grad=True)], lr=0.1)
    with pytest.raises(KeyError):
        lr_scheduler.StepLR(po, step_size=2, last_epoch=4)
    s = lr_scheduler.StepLR(po, step_size=2, gamma=0.5)
    for _ in range(5):
        po.step()
        s.step()
    s2 = lr_scheduler.StepLR(po, step_size=2, gamma=0.5, last_epoch=4)  # resumes from initial_lr
    assert s2.last_epoch == 5 and math.isclose(s2.get_last_lr()[0], 0.1 * 0.5 ** 2)
