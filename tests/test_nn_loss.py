"""Losses in pydl.nn.functional: the fused cross-entropy, NLL, BCE (probabilities and
logits), MSE and L1 against float64 numpy references and PyTorch, forward and backward,
extreme logits, finite-difference gradient checks, and errors that name the op."""
import math

import numpy as np
import pytest

import pydl
import pydl.nn.functional as F


# ---------------------------------------------------------------------- references (float64)
def ce_ref(x, t, w=None, ignore_index=-100, eps=0.0, reduction="mean", g=1.0):
    """Loss and d(loss * g)/dx of PyTorch's cross_entropy, in float64. x: (N, C, d...), t: (N, d...)."""
    x = np.asarray(x, np.float64)
    c = x.shape[1]
    xl = np.moveaxis(x, 1, -1).reshape(-1, c)
    tl = t.reshape(-1)
    w = np.ones(c) if w is None else np.asarray(w, np.float64)
    keep = tl != ignore_index
    tt = np.where(keep, tl, 0)
    m = xl.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(xl - m).sum(axis=1, keepdims=True))
    logp = xl - lse
    rows = np.arange(len(tl))
    per = ((1 - eps) * -w[tt] * logp[rows, tt] + eps / c * -(logp * w).sum(axis=1)) * keep
    p = np.exp(logp)
    onehot = np.zeros_like(p)
    onehot[rows, tt] = 1
    d = ((1 - eps) * w[tt, None] + eps / c * w.sum()) * p - eps / c * w - (1 - eps) * w[tt, None] * onehot
    d *= keep[:, None]
    if reduction == "none":
        loss = per.reshape(t.shape)
        d *= np.asarray(g, np.float64).reshape(-1, 1)
    else:
        scale = 1.0 / (w[tt] * keep).sum() if reduction == "mean" else 1.0
        loss = per.sum() * scale
        d *= scale * g
    d = np.moveaxis(d.reshape(x.shape[:1] + x.shape[2:] + (c,)), -1, 1)
    return loss, d


def targets(shape, classes, rng, ignore_every=0):
    t = rng.integers(0, classes, shape)
    if ignore_every:
        t.reshape(-1)[::ignore_every] = -100
    return t


def run(fn, x, t, g, **kw):
    """fn(x, t, **kw) in pydl with x requiring grad; backward with upstream g. Returns (loss, grad)."""
    xt = pydl.tensor(x, requires_grad=True)
    loss = fn(xt, pydl.tensor(t), **kw)
    loss.backward(pydl.tensor(np.asarray(g, dtype=x.dtype)))
    return loss.detach().numpy(), xt.grad.numpy()


# ---------------------------------------------------------------------- cross-entropy
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("eps", [0.0, 0.15])
@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 2, 3)], ids=["2d", "4d"])
def test_cross_entropy_vs_reference(dtype, reduction, weighted, eps, shape):
    rng = np.random.default_rng(sum(shape))
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    t = targets((shape[0],) + shape[2:], shape[1], rng, ignore_every=4)
    w = rng.uniform(0.2, 2.0, shape[1]).astype(dtype) if weighted else None
    g = rng.standard_normal(t.shape) if reduction == "none" else 1.7
    kw = dict(reduction=reduction, label_smoothing=eps)
    if weighted:
        kw["weight"] = pydl.tensor(w)
    loss, grad = run(F.cross_entropy, x, t, g, **kw)
    ref_loss, ref_grad = ce_ref(x, t, w, eps=eps, reduction=reduction, g=g)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(loss, ref_loss, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(grad, ref_grad, rtol=rtol * 10, atol=rtol)
    assert loss.dtype == np.dtype(dtype) and grad.shape == x.shape


@pytest.mark.parametrize("case", ["huge", "all_equal", "classes_1000", "single_row", "threaded"])
def test_cross_entropy_extremes_vs_reference(case):
    rng = np.random.default_rng(9)
    if case == "huge":  # logits of +-400: no overflow, no lost digits
        x = rng.choice([400.0, -400.0, 399.5, 0.0], size=(16, 7)).astype(np.float32)
    elif case == "all_equal":
        x = np.full((5, 9), 3.25, np.float32)
    elif case == "classes_1000":
        x = (rng.standard_normal((33, 1000)) * 10).astype(np.float32)
    elif case == "single_row":
        x = (rng.standard_normal((1, 11)) * 50).astype(np.float32)
    else:  # enough work for several threads
        x = rng.standard_normal((600, 300)).astype(np.float32)
    t = targets(x.shape[:1], x.shape[1], rng)
    for eps in (0.0, 0.1):
        loss, grad = run(F.cross_entropy, x, t, 1.0, label_smoothing=eps)
        ref_loss, ref_grad = ce_ref(x, t, eps=eps)
        assert np.isfinite(loss) and np.all(np.isfinite(grad))
        np.testing.assert_allclose(loss, ref_loss, rtol=2e-6, atol=1e-6)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-5, atol=1e-7)
    if case == "all_equal":
        np.testing.assert_allclose(loss, math.log(9), rtol=1e-6)


@pytest.mark.parametrize("kw", [
    {}, {"reduction": "sum"}, {"reduction": "none"}, {"label_smoothing": 0.2}, {"ignore_index": 2},
    {"weight": True}, {"weight": True, "label_smoothing": 0.3, "reduction": "none"},
    {"weight": True, "label_smoothing": 0.05, "ignore_index": 0},
], ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "default")
@pytest.mark.parametrize("shape", [(64, 10), (4096, 1000), (1, 1000), (6, 1000), (5, 4, 3)],
                         ids=lambda s: "x".join(map(str, s)))
def test_cross_entropy_against_torch(kw, shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(shape[0])
    x = (rng.standard_normal(shape) * 8).astype(np.float32)
    x.reshape(-1)[::13] = 400.0
    x.reshape(-1)[5::17] = -400.0
    t = targets((shape[0],) + shape[2:], shape[1], rng, ignore_every=5)
    t[t == -100] = kw.get("ignore_index", -100)
    kw = dict(kw)
    tkw = dict(kw)
    if kw.get("weight"):
        w = rng.uniform(0.1, 3.0, shape[1]).astype(np.float32)
        kw["weight"], tkw["weight"] = pydl.tensor(w), torch.tensor(w)
    g = rng.standard_normal(t.shape).astype(np.float32) if kw.get("reduction") == "none" else np.float32(0.75)
    loss, grad = run(F.cross_entropy, x, t, g, **kw)
    xq = torch.tensor(x, requires_grad=True)
    lq = torch.nn.functional.cross_entropy(xq, torch.tensor(t), **tkw)
    lq.backward(torch.tensor(g))
    np.testing.assert_allclose(loss, lq.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grad, xq.grad.numpy(), rtol=1e-4, atol=1e-7)


def test_cross_entropy_unbatched_and_no_grad():
    x = pydl.tensor([1.0, 2.0, 0.5], requires_grad=True)
    loss = F.cross_entropy(x, pydl.tensor(1))
    ref = -math.log(math.exp(2.0) / (math.exp(1.0) + math.exp(2.0) + math.exp(0.5)))
    assert loss.shape == () and abs(loss.item() - ref) < 1e-6
    loss.backward()
    assert x.grad.shape == (3,) and abs(x.grad.numpy().sum()) < 1e-6
    assert F.cross_entropy(x, pydl.tensor(1), reduction="none").shape == ()
    with pydl.no_grad():
        again = F.cross_entropy(x, pydl.tensor(1))
    assert again.item() == loss.item() and again.grad_fn is None


@pytest.mark.parametrize("classes", [1, 3, 10, 15])
def test_short_rows_in_blocks_give_the_bits_of_rows_alone(classes):
    """Rows shorter than a vector take their exps a block of rows at a time (the CPU kernel): a batch
    spanning several blocks, ignored rows among them, gives each row the loss, gradient and (log-)softmax
    it gets alone."""
    rng = np.random.default_rng(classes)
    x = (rng.standard_normal((300, classes)) * 5).astype(np.float32)
    y = rng.integers(0, classes, 300)
    y[::7] = -100
    logits = pydl.tensor(x, requires_grad=True)
    losses = F.cross_entropy(logits, pydl.tensor(y), ignore_index=-100, reduction="none")
    losses.backward(pydl.ones(300))
    for r in range(0, 300, 13):
        alone = pydl.tensor(x[r:r + 1], requires_grad=True)
        loss = F.cross_entropy(alone, pydl.tensor(y[r:r + 1]), ignore_index=-100, reduction="none")
        loss.backward(pydl.ones(1))
        assert loss.item() == losses[r].item()
        np.testing.assert_array_equal(alone.grad.numpy()[0], logits.grad.numpy()[r])
        for fn in (F.softmax, F.log_softmax):
            np.testing.assert_array_equal(fn(pydl.tensor(x[r:r + 1]), 1).numpy()[0], fn(pydl.tensor(x), 1).numpy()[r])


def test_cross_entropy_all_ignored():
    # As PyTorch: the mean over no targets is nan, and the gradient is zero.
    x = pydl.tensor(np.ones((3, 4), np.float32), requires_grad=True)
    t = pydl.tensor([-100, -100, -100])
    loss = F.cross_entropy(x, t)
    assert math.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)
    assert F.cross_entropy(x, t, reduction="sum").item() == 0.0


def test_cross_entropy_gradient_handed_over_and_retained_graph():
    """loss.backward() hands the fused dlogits over as the gradient (no pass scaling it by 1);
    the caller may change it in place, and a second backward through a retained graph, or
    a scaled loss, still gets the right values."""
    rng = np.random.default_rng(5)
    x = pydl.tensor(rng.standard_normal((6, 4)).astype(np.float32), requires_grad=True)
    t = pydl.tensor(np.array([0, 1, 2, 3, 0, 1]))
    loss = F.cross_entropy(x, t)
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    x.grad.mul_(0.0)  # in place, as zero_grad(set_to_none=False) or clipping would
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), first, rtol=1e-6)
    x.grad = None
    (F.cross_entropy(x, t) * 3).backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * first, rtol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_gradcheck(reduction):
    rng = np.random.default_rng(1)
    w = pydl.tensor(rng.uniform(0.5, 2.0, 4), dtype=pydl.float64)
    x = pydl.tensor(rng.standard_normal((5, 4)), dtype=pydl.float64, requires_grad=True)
    t = pydl.tensor([0, 3, -100, 1, 2])
    assert pydl.gradcheck(lambda v: F.cross_entropy(v, t, weight=w, label_smoothing=0.2, reduction=reduction), (x,))
    x3 = pydl.tensor(rng.standard_normal((2, 3, 2)), dtype=pydl.float64, requires_grad=True)
    t3 = pydl.tensor([[0, 2], [1, 1]])
    assert pydl.gradcheck(lambda v: F.cross_entropy(v, t3, reduction=reduction), (x3,))


def test_cross_entropy_bad_labels_raise_index_error():
    x = pydl.tensor(np.zeros((3, 4), np.float32), requires_grad=True)
    for bad in (4, 7, -1, -101):
        with pytest.raises(IndexError, match=rf"cross_entropy: target {bad} is out of bounds for 4 classes"):
            F.cross_entropy(x, pydl.tensor([0, bad, 1]))
    with pytest.raises(IndexError, match="nll_loss: target 9 is out of bounds"):
        F.nll_loss(x, pydl.tensor([9, 0, 0]))
    # ignore_index is not a label: allowed anywhere, even outside [0, C)
    assert F.cross_entropy(x, pydl.tensor([0, 55, 1]), ignore_index=55).item() == pytest.approx(math.log(4))


def test_cross_entropy_argument_errors():
    x = pydl.tensor(np.zeros((3, 4), np.float32))
    t = pydl.tensor([0, 1, 2])
    with pytest.raises(ValueError, match=r"cross_entropy: a float32 target holds class probabilities and must have "
                                         r"the input's shape \(3, 4\), got \(3,\) \(class indices are int64\)"):
        F.cross_entropy(x, pydl.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"cross_entropy: target has shape \(2,\), expected \(3,\)"):
        F.cross_entropy(x, pydl.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"cross_entropy: weight has shape \(3,\), expected \(4,\)"):
        F.cross_entropy(x, t, weight=pydl.ones(3))
    with pytest.raises(ValueError, match="cross_entropy: reduction must be"):
        F.cross_entropy(x, t, reduction="avg")
    with pytest.raises(ValueError, match="cross_entropy: label_smoothing must be in"):
        F.cross_entropy(x, t, label_smoothing=1.5)
    with pytest.raises(TypeError, match="cross_entropy: expected a float32 or float64 logits, got int64"):
        F.cross_entropy(pydl.tensor([[1, 2]]), pydl.tensor([0]))


def test_legacy_reduction_arguments():
    x = pydl.tensor([[1.0, 2.0], [0.5, -1.0]])
    t = pydl.tensor([0, 1])
    total = F.cross_entropy(x, t, reduction="sum").item()
    assert F.cross_entropy(x, t, size_average=False).item() == pytest.approx(total)
    assert F.cross_entropy(x, t, reduce=False).shape == (2,)


# ---------------------------------------------------------------------- NLL
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("shape", [(9, 6), (2, 5, 3, 2)], ids=["2d", "4d"])
def test_nll_loss_against_torch(reduction, weighted, shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(np.float32)
    t = targets((shape[0],) + shape[2:], shape[1], rng, ignore_every=3)
    kw, tkw = {"reduction": reduction}, {"reduction": reduction}
    if weighted:
        w = rng.uniform(0.2, 2, shape[1]).astype(np.float32)
        kw["weight"], tkw["weight"] = pydl.tensor(w), torch.tensor(w)
    g = rng.standard_normal(t.shape).astype(np.float32) if reduction == "none" else np.float32(1.3)
    loss, grad = run(F.nll_loss, x, t, g, **kw)
    xq = torch.tensor(x, requires_grad=True)
    lq = torch.nn.functional.nll_loss(xq, torch.tensor(t), **tkw)
    lq.backward(torch.tensor(g))
    np.testing.assert_allclose(loss, lq.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(grad, xq.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_nll_of_log_softmax_matches_cross_entropy():
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((8, 5)) * 100).astype(np.float64)
    t = targets((8,), 5, rng, ignore_every=3)
    a, ga = run(lambda v, tt: F.nll_loss(F.log_softmax(v, 1), tt), x, t, 1.0)
    b, gb = run(F.cross_entropy, x, t, 1.0)
    np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(ga, gb, rtol=1e-10, atol=1e-15)


def test_nll_loss_gradcheck():
    rng = np.random.default_rng(5)
    x = pydl.tensor(rng.standard_normal((4, 3, 2)), dtype=pydl.float64, requires_grad=True)
    t = pydl.tensor([[0, 2], [1, -100], [2, 2], [0, 1]])
    w = pydl.tensor([0.5, 2.0, 1.5], dtype=pydl.float64)
    for reduction in ("mean", "none"):
        assert pydl.gradcheck(lambda v: F.nll_loss(v, t, weight=w, reduction=reduction), (x,))


# ---------------------------------------------------------------------- BCE, MSE, L1
def torch_and_pydl(name):
    torch = pytest.importorskip("torch")
    return getattr(F, name), getattr(torch.nn.functional, name), torch


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("extra", ["none", "weight", "pos_weight", "both"])
def test_bce_with_logits_against_torch(reduction, extra):
    fn, tfn, torch = torch_and_pydl("binary_cross_entropy_with_logits")
    rng = np.random.default_rng(6)
    x = (rng.standard_normal((33, 7)) * 20).astype(np.float32)
    x[0, :4] = [400.0, -400.0, 88.8, -104.0]  # no exp overflows: loss and gradient stay finite
    y = rng.uniform(0, 1, (33, 7)).astype(np.float32)
    y[1] = 0.0
    y[2] = 1.0
    kw, tkw = {"reduction": reduction}, {"reduction": reduction}
    if extra in ("weight", "both"):
        w = rng.uniform(0.1, 2, (7,)).astype(np.float32)
        kw["weight"], tkw["weight"] = pydl.tensor(w), torch.tensor(w)
    if extra in ("pos_weight", "both"):
        pw = rng.uniform(0.5, 3, (7,)).astype(np.float32)
        kw["pos_weight"], tkw["pos_weight"] = pydl.tensor(pw), torch.tensor(pw)
    g = rng.standard_normal(x.shape).astype(np.float32) if reduction == "none" else np.float32(2.0)
    xp, yp = pydl.tensor(x, requires_grad=True), pydl.tensor(y, requires_grad=True)
    lp = fn(xp, yp, **kw)
    lp.backward(pydl.tensor(g))
    xq, yq = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    lq = tfn(xq, yq, **tkw)
    lq.backward(torch.tensor(g))
    assert np.all(np.isfinite(lp.detach().numpy())) and np.all(np.isfinite(xp.grad.numpy()))
    np.testing.assert_allclose(lp.detach().numpy(), lq.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(xp.grad.numpy(), xq.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(yp.grad.numpy(), yq.grad.numpy(), rtol=1e-5, atol=1e-4)


def test_bce_with_logits_stable_form_vs_reference():
    x = np.array([-400.0, -30.0, -1.0, 0.0, 1e-8, 2.0, 30.0, 400.0])
    y = np.array([1.0, 0.0, 0.3, 0.5, 1.0, 0.0, 1.0, 0.0])
    ref = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    out = F.binary_cross_entropy_with_logits(pydl.tensor(x, dtype=pydl.float64), pydl.tensor(y, dtype=pydl.float64),
                                             reduction="none")
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_bce_against_torch(reduction, weighted):
    fn, tfn, torch = torch_and_pydl("binary_cross_entropy")
    rng = np.random.default_rng(7)
    p = rng.uniform(0, 1, (40, 3)).astype(np.float32)
    p[0] = [0.0, 1.0, 1e-30]  # logs clamped at -100, gradient denominators at 1e-12
    y = rng.uniform(0, 1, (40, 3)).astype(np.float32)
    y[0] = [1.0, 0.0, 1.0]
    kw, tkw = {"reduction": reduction}, {"reduction": reduction}
    if weighted:
        w = rng.uniform(0.1, 2, (40, 1)).astype(np.float32)
        kw["weight"], tkw["weight"] = pydl.tensor(w), torch.tensor(w)
    g = rng.standard_normal(p.shape).astype(np.float32) if reduction == "none" else np.float32(0.5)
    pp = pydl.tensor(p, requires_grad=True)
    lp = fn(pp, pydl.tensor(y), **kw)
    lp.backward(pydl.tensor(g))
    pq = torch.tensor(p, requires_grad=True)
    lq = tfn(pq, torch.tensor(y), **tkw)
    lq.backward(torch.tensor(g))
    np.testing.assert_allclose(lp.detach().numpy(), lq.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(pp.grad.numpy(), pq.grad.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_mse_l1_against_torch(name, reduction, weighted):
    fn, tfn, torch = torch_and_pydl(name)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((5, 9)).astype(np.float32)
    y = rng.standard_normal((5, 9)).astype(np.float32)
    y[0, 0] = x[0, 0]  # L1's kink: gradient 0, as PyTorch's sign
    kw, tkw = {"reduction": reduction}, {"reduction": reduction}
    if weighted:
        w = rng.uniform(0.1, 2, (5, 9)).astype(np.float32)
        kw["weight"], tkw["weight"] = pydl.tensor(w), torch.tensor(w)
    g = rng.standard_normal(x.shape).astype(np.float32) if reduction == "none" else np.float32(1.5)
    xp, yp = pydl.tensor(x, requires_grad=True), pydl.tensor(y, requires_grad=True)
    lp = fn(xp, yp, **kw)
    lp.backward(pydl.tensor(g))
    xq, yq = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    lq = tfn(xq, yq, **tkw)
    lq.backward(torch.tensor(g))
    np.testing.assert_allclose(lp.detach().numpy(), lq.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(xp.grad.numpy(), xq.grad.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(yp.grad.numpy(), yq.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_mse_reference_broadcast_and_non_contiguous():
    rng = np.random.default_rng(10)
    a = rng.standard_normal((6, 4))
    b = rng.standard_normal((4,))
    x = pydl.tensor(a, dtype=pydl.float64, requires_grad=True)
    loss = F.mse_loss(x.T, pydl.tensor(b[:, None], dtype=pydl.float64))  # (4, 6) view against (4, 1)
    np.testing.assert_allclose(loss.item(), np.mean((a.T - b[:, None]) ** 2), rtol=1e-14)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), (2 * (a.T - b[:, None]) / 24).T, rtol=1e-13)
    l1 = F.l1_loss(pydl.tensor(a, dtype=pydl.float64), pydl.tensor(a * 0.5, dtype=pydl.float64), reduction="sum")
    np.testing.assert_allclose(l1.item(), np.abs(a * 0.5).sum(), rtol=1e-14)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_pointwise_gradcheck(name, reduction):
    rng = np.random.default_rng(11)
    if name == "binary_cross_entropy":
        x = pydl.tensor(rng.uniform(0.1, 0.9, (3, 4)), dtype=pydl.float64, requires_grad=True)
    else:
        x = pydl.tensor(rng.standard_normal((3, 4)) * 2, dtype=pydl.float64, requires_grad=True)
    y = pydl.tensor(rng.uniform(0.05, 0.95, (3, 4)), dtype=pydl.float64, requires_grad=True)
    w = pydl.tensor(rng.uniform(0.5, 2, (3, 4)), dtype=pydl.float64)
    kw = {"pos_weight": pydl.tensor([0.5, 1.0, 2.0, 3.0], dtype=pydl.float64)} \
        if name == "binary_cross_entropy_with_logits" else {}
    fn = getattr(F, name)
    assert pydl.gradcheck(lambda a, b: fn(a, b, weight=w, reduction=reduction, **kw), (x, y))


def test_pointwise_errors():
    with pytest.raises(RuntimeError, match="binary_cross_entropy: all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(pydl.tensor([0.5, 1.5]), pydl.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: target has shape \(3,\), expected \(2,\)"):
        F.binary_cross_entropy_with_logits(pydl.ones(2), pydl.ones(3))
    with pytest.raises(ValueError, match=r"mse_loss: weight has shape \(3,\), expected \(2, 3\)"):
        F.mse_loss(pydl.ones(2, 3), pydl.ones(2, 3), weight=pydl.ones(3))
    with pytest.raises(ValueError, match="l1_loss: reduction must be"):
        F.l1_loss(pydl.ones(2), pydl.ones(2), reduction="mean_all")
    with pytest.raises(ValueError, match="mse_loss"):
        F.mse_loss(pydl.ones(2, 3), pydl.ones(4))
    with pytest.raises(TypeError, match="mse_loss: expected a float32 or float64 input, got int64"):
        F.mse_loss(pydl.tensor([1, 2]), pydl.tensor([1, 2]))
