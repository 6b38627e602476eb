"""The small API that ported PyTorch code reaches for: LR schedules (LambdaLR, LinearLR, OneCycleLR,
against PyTorch's), inference_mode and bare grad-mode decorators, pydl.utils.data, pydl.Generator,
np.asarray's refusal, in-place scatter / masked_fill / clamp, and the AttributeError for a missing
name."""
import numpy as np
import pytest

import pydl

torch = pytest.importorskip("torch")


def _lrs_match(make_pydl, make_torch, optimizer, steps):
    p, t = pydl.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    opt_p, opt_t = optimizer(pydl.optim, p), optimizer(torch.optim, t)
    sched_p, sched_t = make_pydl(pydl.optim.lr_scheduler, opt_p), make_torch(torch.optim.lr_scheduler, opt_t)

    def momentum(group):
        return group["betas"][0] if "betas" in group else group.get("momentum")

    for step in range(steps):
        for gp, gt in zip(opt_p.param_groups, opt_t.param_groups):
            assert gp["lr"] == pytest.approx(gt["lr"], rel=1e-12, abs=1e-15), step
            assert momentum(gp) == pytest.approx(momentum(gt), rel=1e-12), step
        opt_p.step(), opt_t.step(), sched_p.step(), sched_t.step()
    assert sched_p.get_last_lr() == pytest.approx(sched_t.get_last_lr(), rel=1e-12)


def _sgd(module, model):
    return module.SGD(model.parameters(), lr=0.1, momentum=0.9)


SCHEDULES = {
    "lambda": (lambda s, o: s.LambdaLR(o, lambda e: 0.9 ** e + 0.01 * e), _sgd, 12),
    "linear": (lambda s, o: s.LinearLR(o, start_factor=0.25, total_iters=4), _sgd, 8),
    "one-cycle": (lambda s, o: s.OneCycleLR(o, max_lr=0.5, total_steps=20), _sgd, 20),
    "one-cycle-linear-three-phase": (lambda s, o: s.OneCycleLR(o, 0.5, total_steps=20, anneal_strategy="linear",
                                                                three_phase=True), _sgd, 20),
    "one-cycle-adam": (lambda s, o: s.OneCycleLR(o, 0.01, epochs=2, steps_per_epoch=5),
                       lambda m, model: m.Adam(model.parameters()), 10),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedules_match_pytorch(name):
    make, optimizer, steps = SCHEDULES[name]
    _lrs_match(make, make, optimizer, steps)


def test_one_cycle_refuses_steps_past_the_end_and_optimizers_without_momentum():
    opt = pydl.optim.SGD(pydl.nn.Linear(2, 2).parameters(), lr=0.1, momentum=0.9)
    sched = pydl.optim.lr_scheduler.OneCycleLR(opt, 0.5, total_steps=2)
    sched.step()
    sched.step()
    with pytest.raises(ValueError, match="total_steps is 2"):
        sched.step()
    with pytest.raises(ValueError, match="momentum or betas"):
        pydl.optim.lr_scheduler.OneCycleLR(pydl.optim.Adagrad(pydl.nn.Linear(2, 2).parameters()), 0.5, total_steps=5)


def test_inference_mode_and_bare_decorators():
    x = pydl.ones(2, requires_grad=True)

    @pydl.no_grad
    def bare(v):
        return v * 2

    @pydl.inference_mode
    def inferred(v):
        return v * 2

    @pydl.inference_mode()
    def called(v):
        return v * 2

    assert not bare(x).requires_grad and not inferred(x).requires_grad and not called(x).requires_grad
    assert bare.__name__ == "bare"
    with pydl.inference_mode():
        assert not (x * 2).requires_grad
    with pydl.inference_mode(False):
        assert (x * 2).requires_grad
    assert (x * 2).requires_grad and pydl.is_grad_enabled()


def test_utils_data_generator_and_numpy_refusal():
    import pydl.utils.data as data
    from pydl.utils.data import DataLoader

    assert data is pydl.data and DataLoader is pydl.data.DataLoader
    a, b = pydl.Generator().manual_seed(7), pydl.Generator(device="cpu").manual_seed(7)
    assert a.rng.integers(1 << 30) == b.rng.integers(1 << 30)
    with pytest.raises(RuntimeError, match="requires grad"):
        np.asarray(pydl.ones(2, requires_grad=True))
    np.testing.assert_array_equal(np.asarray(pydl.ones(2, requires_grad=True).detach()), [1.0, 1.0])


@pytest.mark.filterwarnings("ignore:The reduce argument")
def test_in_place_scatter_masked_fill_and_clamp_match_pytorch():
    index = [[0, 2, 0], [1, 1, 2]]
    src = np.arange(1.0, 7.0).reshape(2, 3)
    for name, args_p, args_t in [
        ("scatter_", (1, pydl.tensor(index), pydl.tensor(src)), (1, torch.tensor(index), torch.tensor(src))),
        ("scatter_", (1, pydl.tensor(index), 2.5), (1, torch.tensor(index), 2.5)),
        ("scatter_add_", (1, pydl.tensor(index), pydl.tensor(src)), (1, torch.tensor(index), torch.tensor(src))),
        ("scatter_reduce_", (1, pydl.tensor(index), pydl.tensor(src), "amax"),
         (1, torch.tensor(index), torch.tensor(src), "amax")),
    ]:
        p, t = pydl.ones(2, 4, dtype=pydl.float64) * 3, torch.ones(2, 4, dtype=torch.float64) * 3
        assert getattr(p, name)(*args_p) is p
        getattr(t, name)(*args_t)
        np.testing.assert_array_equal(p.numpy(), t.numpy())
    p, t = pydl.ones(3, dtype=pydl.float64) * 2, torch.ones(3, dtype=torch.float64) * 2
    p.scatter_(0, pydl.tensor([0, 0]), pydl.tensor([3.0, 4.0]), reduce="multiply")
    t.scatter_(0, torch.tensor([0, 0]), torch.tensor([3.0, 4.0], dtype=torch.float64), reduce="multiply")
    np.testing.assert_array_equal(p.numpy(), t.numpy())
    p.masked_fill_(p > 5, -1.0).clamp_(0, 1.5)
    t.masked_fill_(t > 5, -1.0).clamp_(0, 1.5)
    np.testing.assert_array_equal(p.numpy(), t.numpy())
    with pytest.raises(RuntimeError, match="scatter_: in-place write into a tensor that requires grad"):
        pydl.ones(3, requires_grad=True).scatter_(0, pydl.tensor([0]), 1.0)


@pytest.mark.parametrize("module,name", [(pydl, "compile"), (pydl.nn, "TransformerEncoderLayer"),
                                         (pydl.nn.functional, "ctc_loss"), (pydl.optim, "LBFGS")])
def test_a_missing_name_says_pydl_lacks_it(module, name):
    with pytest.raises(AttributeError, match=f"pydl has no torch.*{name} .*Porting from PyTorch"):
        getattr(module, name)
    assert not hasattr(module, "__wrapped__")
