"""pydl.nn layers and losses against PyTorch: the same parameters copied in, then forward
outputs, input gradients, parameter gradients and buffers compared; train()/eval()
behaviour; shape and hyperparameter errors; state_dict round trips through pydl.save."""
import re

import numpy as np
import pytest

import pydl
from pydl import nn

torch = pytest.importorskip("torch")
tnn = torch.nn



# ---------------------------------------------------------------------- helpers
def _np(t):
    return t.detach().cpu().numpy()


def copy_params(pmodel, tmodel):
    """Loads torch's parameters and buffers into the pydl model (strict: the names must match)."""
    pmodel.load_state_dict({k: pydl.tensor(v.detach().numpy().copy()) for k, v in tmodel.state_dict().items()})


def assert_state_matches(pmodel, tmodel, rtol=1e-5, atol=1e-6):
    p_state, t_state = pmodel.state_dict(), tmodel.state_dict()
    assert list(p_state) == list(t_state)
    for k in t_state:
        np.testing.assert_allclose(_np(p_state[k]), t_state[k].numpy(), rtol=rtol, atol=atol, err_msg=k)


def run_both(pmodel, tmodel, x, seed=0, loss=None):
    """One forward and backward in each framework from the same input and upstream gradient.
    Returns (pydl output, torch output, pydl input grad, torch input grad)."""
    px = pydl.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    py, ty = pmodel(px), tmodel(tx)
    assert tuple(py.shape) == tuple(ty.shape)
    g = np.random.default_rng(seed).standard_normal(tuple(ty.shape)).astype(np.float32)
    py.backward(pydl.tensor(g))
    ty.backward(torch.tensor(g))
    return py, ty, px.grad, tx.grad


def assert_matches(pmodel, tmodel, x, rtol=1e-5, atol=1e-5, seed=0):
    """Outputs, the input gradient and every parameter gradient agree; atol is relative to each array's
    scale where that exceeds 1 (a float32 sum of terms of size 20 that cancels to 0.04 is only good to
    some 1e-5, whatever the order of its terms)."""
    def close(got, want, name):
        scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * scale, err_msg=name)

    py, ty, pg, tg = run_both(pmodel, tmodel, x, seed)
    close(_np(py), ty.detach().numpy(), "output")
    close(_np(pg), tg.numpy(), "input grad")
    p_params, t_params = dict(pmodel.named_parameters()), dict(tmodel.named_parameters())
    assert list(p_params) == list(t_params)
    for name, tp in t_params.items():
        assert p_params[name].grad is not None, f"no gradient for {name}"
        close(_np(p_params[name].grad), tp.grad.numpy(), name)
    return py, ty


def randn(*shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def _example_lenet5():
    """LeNet-5 as examples/train_cnn.py builds it."""
    from pydl.nn.models import lenet5

    return lenet5


def torch_lenet5():
    return tnn.Sequential(
        tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Flatten(),
        tnn.Linear(16 * 5 * 5, 120), tnn.ReLU(),
        tnn.Linear(120, 84), tnn.ReLU(),
        tnn.Linear(84, 10),
    )


class TorchResidual(tnn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return x + self.fn(x)


class TorchBasicBlock(tnn.Module):
    """The same block as pydl.nn.BasicBlock, with the same attribute names."""

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = tnn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.conv2 = tnn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        if stride != 1 or in_planes != planes:
            self.shortcut = tnn.Sequential(tnn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                                           tnn.BatchNorm2d(planes))
        else:
            self.shortcut = tnn.Sequential()

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


def _randomize_bn(pmodel, tmodel, seed=0):
    """Non-trivial affine parameters and running stats in torch's batch norms, copied into pydl."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for m in tmodel.modules():
            if isinstance(m, tnn.modules.batchnorm._BatchNorm):
                c = m.num_features
                if m.affine:
                    m.weight.copy_(torch.tensor(rng.uniform(0.5, 1.5, c).astype(np.float32)))
                    m.bias.copy_(torch.tensor(rng.standard_normal(c).astype(np.float32)))
                m.running_mean.copy_(torch.tensor(rng.standard_normal(c).astype(np.float32)))
                m.running_var.copy_(torch.tensor(rng.uniform(0.5, 2.0, c).astype(np.float32)))
    copy_params(pmodel, tmodel)


# ---------------------------------------------------------------------- Linear, Conv2d
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 7), (2, 3, 7)], ids=str)
def test_linear(bias, shape):
    torch.manual_seed(0)
    t = tnn.Linear(7, 4, bias=bias)
    p = nn.Linear(7, 4, bias=bias)
    copy_params(p, t)
    assert_matches(p, t, randn(*shape))


CONV_CASES = [
    dict(),
    dict(stride=2),
    dict(padding=1),
    dict(stride=2, padding=1),
    dict(dilation=2, padding=2),
    dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
    dict(padding="same", dilation=2),
    dict(padding=1, bias=False),
]


@pytest.mark.parametrize("kwargs", CONV_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "plain")
def test_conv2d(kwargs):
    torch.manual_seed(1)
    t = tnn.Conv2d(3, 5, 3, **kwargs)
    p = nn.Conv2d(3, 5, 3, **kwargs)
    copy_params(p, t)
    assert_matches(p, t, randn(2, 3, 11, 9, seed=1), rtol=1e-5, atol=1e-5)


def test_conv2d_rectangular_kernel_unbatched():
    torch.manual_seed(2)
    t = tnn.Conv2d(2, 3, (3, 2), stride=(1, 2), padding=(0, 1))
    p = nn.Conv2d(2, 3, (3, 2), stride=(1, 2), padding=(0, 1))
    copy_params(p, t)
    assert_matches(p, t, randn(2, 7, 8, seed=2))  # (C, H, W)


# ---------------------------------------------------------------------- batch norm
BN_CASES = [
    ("bn1d-2d", nn.BatchNorm1d, tnn.BatchNorm1d, (16, 5)),
    ("bn1d-3d", nn.BatchNorm1d, tnn.BatchNorm1d, (8, 5, 7)),
    ("bn2d", nn.BatchNorm2d, tnn.BatchNorm2d, (4, 5, 6, 3)),
]


@pytest.mark.parametrize("name,pcls,tcls,shape", BN_CASES, ids=[c[0] for c in BN_CASES])
@pytest.mark.parametrize("momentum", [0.1, 0.3])
def test_batchnorm_train_then_eval(name, pcls, tcls, shape, momentum):
    t = tcls(5, momentum=momentum)
    p = pcls(5, momentum=momentum)
    _randomize_bn(p, t)
    for step in range(3):
        x = randn(*shape, seed=10 + step, scale=2.0) + 1.5
        for m in (p, t):
            m.zero_grad()
        assert_matches(p, t, x, seed=step)
        assert_state_matches(p, t)  # running mean / var (unbiased) after each step
    assert p.num_batches_tracked.item() == t.num_batches_tracked.item() == 3
    assert p.num_batches_tracked.dtype == pydl.int64
    # eval: normalizes with the running stats, which stay put
    p.eval()
    t.eval()
    for m in (p, t):
        m.zero_grad()
    assert_matches(p, t, randn(*shape, seed=99, scale=3.0), seed=7)
    assert_state_matches(p, t)
    assert p.num_batches_tracked.item() == 3


@pytest.mark.parametrize("affine,track", [(False, True), (True, False)], ids=["no-affine", "no-running-stats"])
def test_batchnorm_options(affine, track):
    t = tnn.BatchNorm2d(3, affine=affine, track_running_stats=track)
    p = nn.BatchNorm2d(3, affine=affine, track_running_stats=track)
    copy_params(p, t)
    x = randn(4, 3, 5, 5, seed=3) * 2 + 1
    assert_matches(p, t, x)
    p.eval()
    t.eval()
    assert_matches(p, t, x)  # without running stats, eval still uses the batch's
    assert_state_matches(p, t)


# ---------------------------------------------------------------------- dropout
@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_train_zeroes_about_p_and_scales(p):
    pydl.manual_seed(0)
    layer = nn.Dropout(p)
    assert layer.training
    x = pydl.tensor(np.random.default_rng(0).uniform(1.0, 2.0, (200, 500)).astype(np.float32), requires_grad=True)
    y = layer(x)
    out, xin = _np(y), _np(x)
    kept = out != 0
    n = kept.size
    frac_zero = 1 - kept.mean()
    assert abs(frac_zero - p) < 4 * np.sqrt(p * (1 - p) / n) + 1e-3, frac_zero
    np.testing.assert_allclose(out[kept], xin[kept] / (1 - p), rtol=1e-6)
    # the backward passes the same mask, with the same scale
    y.backward(pydl.ones_like(y))
    np.testing.assert_allclose(_np(x.grad), kept / (1 - p), rtol=1e-6)
    # a fresh mask each call
    assert not np.array_equal(_np(layer(x)) != 0, kept)


def test_dropout_eval_is_identity_and_edge_probabilities():
    x = pydl.randn(50, 40)
    layer = nn.Dropout(0.5).eval()
    np.testing.assert_array_equal(_np(layer(x)), _np(x))
    np.testing.assert_array_equal(_np(nn.Dropout(0.0)(x)), _np(x))
    assert (_np(nn.Dropout(1.0)(x)) == 0).all()  # as torch: everything dropped, no NaN


# ---------------------------------------------------------------------- activations
ACTIVATIONS = [
    ("relu", lambda: nn.ReLU(), lambda: tnn.ReLU()),
    ("leaky_relu", lambda: nn.LeakyReLU(0.2), lambda: tnn.LeakyReLU(0.2)),
    ("leaky_relu_default", lambda: nn.LeakyReLU(), lambda: tnn.LeakyReLU()),
    ("sigmoid", lambda: nn.Sigmoid(), lambda: tnn.Sigmoid()),
    ("tanh", lambda: nn.Tanh(), lambda: tnn.Tanh()),
    ("softplus", lambda: nn.Softplus(), lambda: tnn.Softplus()),
    ("softplus_beta", lambda: nn.Softplus(beta=2.0, threshold=5.0), lambda: tnn.Softplus(beta=2.0, threshold=5.0)),
    ("gelu", lambda: nn.GELU(), lambda: tnn.GELU()),
    ("gelu_tanh", lambda: nn.GELU("tanh"), lambda: tnn.GELU("tanh")),
    ("softmax_1", lambda: nn.Softmax(dim=1), lambda: tnn.Softmax(dim=1)),
    ("softmax_last", lambda: nn.Softmax(dim=-1), lambda: tnn.Softmax(dim=-1)),
    ("log_softmax_1", lambda: nn.LogSoftmax(dim=1), lambda: tnn.LogSoftmax(dim=1)),
    ("log_softmax_0", lambda: nn.LogSoftmax(dim=0), lambda: tnn.LogSoftmax(dim=0)),
]


@pytest.mark.parametrize("name,make_p,make_t", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation(name, make_p, make_t):
    x = randn(4, 6, 5, seed=5, scale=4.0)  # wide enough to cross softplus's threshold and saturate
    # atol 1e-5: in GELU-tanh's far tail (x < -5) torch's float32 derivative loses digits that pydl keeps
    # (at x = -5: float64 -1.546e-6, pydl -1.546e-6, torch -2.011e-6)
    assert_matches(make_p(), make_t(), x, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------- shape layers
SHAPE_LAYERS = [
    ("flatten", lambda: nn.Flatten(), lambda: tnn.Flatten()),
    ("flatten_0_1", lambda: nn.Flatten(0, 1), lambda: tnn.Flatten(0, 1)),
    ("flatten_2_last", lambda: nn.Flatten(2, -1), lambda: tnn.Flatten(2, -1)),
    ("unflatten", lambda: nn.Unflatten(1, (2, 3)), lambda: tnn.Unflatten(1, (2, 3))),
    ("unflatten_neg", lambda: nn.Unflatten(-1, (5, 1)), lambda: tnn.Unflatten(-1, (5, 1))),
    ("identity", lambda: nn.Identity(54, unused=True), lambda: tnn.Identity(54, unused=True)),
]


@pytest.mark.parametrize("name,make_p,make_t", SHAPE_LAYERS, ids=[a[0] for a in SHAPE_LAYERS])
def test_shape_layers(name, make_p, make_t):
    assert_matches(make_p(), make_t(), randn(4, 6, 5, seed=6), rtol=0, atol=0)


def test_flatten_then_unflatten_round_trip():
    x = pydl.randn(2, 3, 4, 5)
    y = nn.Unflatten(1, (3, 4, 5))(nn.Flatten()(x))
    np.testing.assert_array_equal(_np(y), _np(x))


# ---------------------------------------------------------------------- pooling
POOLS = [
    ("max2", lambda: nn.MaxPool2d(2), lambda: tnn.MaxPool2d(2)),
    ("max3_s2_p1", lambda: nn.MaxPool2d(3, stride=2, padding=1), lambda: tnn.MaxPool2d(3, stride=2, padding=1)),
    ("max2_ceil", lambda: nn.MaxPool2d(2, stride=2, ceil_mode=True),
     lambda: tnn.MaxPool2d(2, stride=2, ceil_mode=True)),
    ("max_dilated", lambda: nn.MaxPool2d(2, dilation=2), lambda: tnn.MaxPool2d(2, dilation=2)),
    ("avg2", lambda: nn.AvgPool2d(2), lambda: tnn.AvgPool2d(2)),
    ("avg3_s2_p1", lambda: nn.AvgPool2d(3, stride=2, padding=1), lambda: tnn.AvgPool2d(3, stride=2, padding=1)),
    ("avg3_s2_p1_nopad", lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False),
     lambda: tnn.AvgPool2d(3, 2, 1, count_include_pad=False)),
    ("adaptive1", lambda: nn.AdaptiveAvgPool2d(1), lambda: tnn.AdaptiveAvgPool2d(1)),
    ("adaptive_3x2", lambda: nn.AdaptiveAvgPool2d((3, 2)), lambda: tnn.AdaptiveAvgPool2d((3, 2))),
]


@pytest.mark.parametrize("name,make_p,make_t", POOLS, ids=[a[0] for a in POOLS])
@pytest.mark.parametrize("shape", [(2, 3, 9, 8), (3, 7, 7)], ids=["nchw", "chw"])
def test_pooling(name, make_p, make_t, shape):
    assert_matches(make_p(), make_t(), randn(*shape, seed=7), rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------- residual blocks
def test_residual():
    torch.manual_seed(3)
    t = TorchResidual(tnn.Sequential(tnn.Linear(6, 6), tnn.Tanh()))
    p = nn.Residual(nn.Sequential(nn.Linear(6, 6), nn.Tanh()))
    copy_params(p, t)
    assert_matches(p, t, randn(5, 6, seed=8))


@pytest.mark.parametrize("in_planes,planes,stride", [(4, 4, 1), (4, 8, 2), (4, 6, 1)],
                         ids=["identity", "stride2-projection", "widen-projection"])
def test_basic_block(in_planes, planes, stride):
    torch.manual_seed(4)
    t = TorchBasicBlock(in_planes, planes, stride)
    p = nn.BasicBlock(in_planes, planes, stride)
    has_projection = stride != 1 or in_planes != planes
    assert (len(p.shortcut) == 2) == has_projection
    _randomize_bn(p, t)
    for step in range(2):
        for m in (p, t):
            m.zero_grad()
        py, _ = assert_matches(p, t, randn(3, in_planes, 8, 8, seed=20 + step), rtol=1e-4, atol=1e-5, seed=step)
        assert_state_matches(p, t)
    h = (8 + 2 - 3) // stride + 1
    assert tuple(py.shape) == (3, planes, h, h)
    p.eval()
    t.eval()
    for m in (p, t):
        m.zero_grad()
    assert_matches(p, t, randn(3, in_planes, 8, 8, seed=30), rtol=1e-4, atol=1e-5)
    assert_state_matches(p, t)


# ---------------------------------------------------------------------- losses
REDUCTIONS = ["mean", "sum", "none"]


def _loss_inputs(kind, rng):
    """(input, target, torch target dtype) as numpy arrays."""
    if kind in ("mse", "l1"):
        return rng.standard_normal((6, 5)).astype(np.float32), rng.standard_normal((6, 5)).astype(np.float32)
    if kind == "bce":
        return (1 / (1 + np.exp(-rng.standard_normal((6, 5)) * 2))).astype(np.float32), \
            rng.uniform(0, 1, (6, 5)).astype(np.float32)
    if kind == "bce_logits":
        return (rng.standard_normal((6, 5)) * 3).astype(np.float32), rng.integers(0, 2, (6, 5)).astype(np.float32)
    if kind in ("ce", "nll", "ce_spatial"):
        shape = (6, 5, 3) if kind == "ce_spatial" else (6, 5)
        x = (rng.standard_normal(shape) * 2).astype(np.float32)
        if kind == "nll":
            x = (x - np.log(np.exp(x).sum(axis=1, keepdims=True))).astype(np.float32)
        target_shape = (6, 3) if kind == "ce_spatial" else (6,)
        return x, rng.integers(0, 5, target_shape).astype(np.int64)
    raise AssertionError(kind)


LOSSES = [
    ("mse", lambda **k: nn.MSELoss(**k), lambda **k: tnn.MSELoss(**k)),
    ("l1", lambda **k: nn.L1Loss(**k), lambda **k: tnn.L1Loss(**k)),
    ("bce", lambda **k: nn.BCELoss(**k), lambda **k: tnn.BCELoss(**k)),
    ("bce_logits", lambda **k: nn.BCEWithLogitsLoss(**k), lambda **k: tnn.BCEWithLogitsLoss(**k)),
    ("ce", lambda **k: nn.CrossEntropyLoss(**k), lambda **k: tnn.CrossEntropyLoss(**k)),
    ("ce_spatial", lambda **k: nn.CrossEntropyLoss(**k), lambda **k: tnn.CrossEntropyLoss(**k)),
    ("nll", lambda **k: nn.NLLLoss(**k), lambda **k: tnn.NLLLoss(**k)),
]


def _check_loss(ploss, tloss, x, y, seed=0):
    px, tx = pydl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    pl, tl = ploss(px, pydl.tensor(y)), tloss(tx, torch.tensor(y))
    assert tuple(pl.shape) == tuple(tl.shape)
    np.testing.assert_allclose(_np(pl), tl.detach().numpy(), rtol=1e-5, atol=1e-6, err_msg="loss")
    g = np.random.default_rng(seed).standard_normal(tuple(tl.shape)).astype(np.float32)
    pl.backward(pydl.tensor(g))
    tl.backward(torch.tensor(g))
    np.testing.assert_allclose(_np(px.grad), tx.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg="input grad")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kind,make_p,make_t", LOSSES, ids=[a[0] for a in LOSSES])
def test_loss(kind, make_p, make_t, reduction):
    x, y = _loss_inputs(kind, np.random.default_rng(11))
    _check_loss(make_p(reduction=reduction), make_t(reduction=reduction), x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_loss_options(reduction):
    rng = np.random.default_rng(12)
    w = rng.uniform(0.5, 2.0, 5).astype(np.float32)
    x, y = _loss_inputs("ce", rng)
    y[1] = 3
    y[2] = 3
    for kwargs in (dict(weight=w), dict(ignore_index=3), dict(label_smoothing=0.1),
                   dict(weight=w, ignore_index=3, label_smoothing=0.2)):
        pk = {k: pydl.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        tk = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        _check_loss(nn.CrossEntropyLoss(reduction=reduction, **pk), tnn.CrossEntropyLoss(reduction=reduction, **tk),
                    x, y)
        if "label_smoothing" not in kwargs:
            logp = (x - np.log(np.exp(x).sum(axis=1, keepdims=True))).astype(np.float32)
            _check_loss(nn.NLLLoss(reduction=reduction, **pk), tnn.NLLLoss(reduction=reduction, **tk), logp, y)
    x, y = _loss_inputs("bce_logits", rng)
    pw = rng.uniform(0.5, 3.0, 5).astype(np.float32)
    _check_loss(nn.BCEWithLogitsLoss(reduction=reduction, pos_weight=pydl.tensor(pw)),
                tnn.BCEWithLogitsLoss(reduction=reduction, pos_weight=torch.tensor(pw)), x, y)


def test_bce_clamps_log_at_saturated_probabilities():
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.5], dtype=np.float32)
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0], dtype=np.float32)
    pl = nn.BCELoss(reduction="none")(pydl.tensor(x), pydl.tensor(y))
    tl = tnn.BCELoss(reduction="none")(torch.tensor(x), torch.tensor(y))
    np.testing.assert_allclose(_np(pl), tl.numpy(), rtol=1e-6)


# ---------------------------------------------------------------------- whole models
def test_sequential_mlp_matches_torch():
    """Flatten-Linear-ReLU-Linear (the fused Linear+ReLU path) with a cross-entropy on top."""
    torch.manual_seed(5)
    t = tnn.Sequential(tnn.Flatten(), tnn.Linear(784, 100), tnn.ReLU(), tnn.Linear(100, 10))
    p = nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))
    copy_params(p, t)
    x = np.random.default_rng(13).uniform(0, 1, (32, 1, 28, 28)).astype(np.float32)
    y = np.random.default_rng(13).integers(0, 10, 32)
    pl = nn.CrossEntropyLoss()(p(pydl.tensor(x)), pydl.tensor(y))
    tl = tnn.CrossEntropyLoss()(t(torch.tensor(x)), torch.tensor(y))
    np.testing.assert_allclose(pl.item(), tl.item(), rtol=1e-5)
    pl.backward()
    tl.backward()
    for (pn, pp), (tn, tp) in zip(p.named_parameters(), t.named_parameters()):
        assert pn == tn
        np.testing.assert_allclose(_np(pp.grad), tp.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=pn)
    p.zero_grad()
    t.zero_grad()
    assert_matches(p, t, x)  # and with an arbitrary upstream gradient


def test_deeper_sequential_mixed_layers():
    torch.manual_seed(6)
    t = tnn.Sequential(tnn.Linear(12, 16), tnn.Tanh(), tnn.Linear(16, 16), tnn.ReLU(), tnn.Linear(16, 8),
                       tnn.LeakyReLU(0.1), tnn.Linear(8, 3), tnn.LogSoftmax(dim=1))
    p = nn.Sequential(nn.Linear(12, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 8),
                      nn.LeakyReLU(0.1), nn.Linear(8, 3), nn.LogSoftmax(dim=1))
    copy_params(p, t)
    assert_matches(p, t, randn(9, 12, seed=14))


def test_lenet5_matches_torch():
    lenet5 = _example_lenet5()
    torch.manual_seed(7)
    t = torch_lenet5()
    p = lenet5()
    copy_params(p, t)
    x = np.random.default_rng(15).uniform(0, 1, (16, 1, 28, 28)).astype(np.float32)
    y = np.random.default_rng(15).integers(0, 10, 16)
    pout, tout = p(pydl.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(_np(pout), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    pl, tl = nn.CrossEntropyLoss()(pout, pydl.tensor(y)), tnn.CrossEntropyLoss()(tout, torch.tensor(y))
    pl.backward()
    tl.backward()
    names = [n for n, _ in t.named_parameters()]
    assert [n for n, _ in p.named_parameters()] == names and len(names) == 10
    for (n, pp), tp in zip(p.named_parameters(), t.parameters()):
        scale = np.abs(tp.grad.numpy()).max()
        np.testing.assert_allclose(_np(pp.grad), tp.grad.numpy(), rtol=1e-4, atol=1e-5 * scale, err_msg=n)


def test_resnet_small_matches_torch():
    from pydl.nn.models import resnet_small

    torch.manual_seed(8)
    t = tnn.Sequential(
        tnn.Conv2d(1, 4, 3, padding=1, bias=False), tnn.BatchNorm2d(4), tnn.ReLU(),
        TorchBasicBlock(4, 4), TorchBasicBlock(4, 8, stride=2), TorchBasicBlock(8, 16, stride=2),
        tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(16, 10))
    p = resnet_small(width=4)
    _randomize_bn(p, t)
    py, _ = assert_matches(p, t, randn(4, 1, 28, 28, seed=40), rtol=1e-4, atol=1e-5)
    assert tuple(py.shape) == (4, 10)
    assert_state_matches(p, t)  # running statistics too


# ---------------------------------------------------------------------- train / eval
def _bn_dropout_mlp(lib):
    m = lib.nn if lib is torch else nn
    return m.Sequential(m.Linear(10, 32), m.BatchNorm1d(32), m.ReLU(), m.Dropout(0.5), m.Linear(32, 4))


def test_train_eval_switch_dropout_and_batchnorm():
    torch.manual_seed(8)
    t = _bn_dropout_mlp(torch)
    p = _bn_dropout_mlp(pydl)
    copy_params(p, t)
    x = pydl.tensor(randn(64, 10, seed=16) * 2 + 1)
    assert p.training and all(m.training for m in p.modules())

    assert p.eval() is p
    assert not any(m.training for m in p.modules())
    t.eval()
    before = {k: _np(v).copy() for k, v in p.state_dict().items()}
    y1, y2 = _np(p(x)), _np(p(x))
    np.testing.assert_array_equal(y1, y2)  # deterministic: no dropout, running stats
    np.testing.assert_allclose(y1, t(torch.tensor(_np(x))).detach().numpy(), rtol=1e-5, atol=1e-6)
    for k, v in p.state_dict().items():  # eval leaves the running stats and the counter alone
        np.testing.assert_array_equal(_np(v), before[k], err_msg=k)

    p.train()
    assert all(m.training for m in p.modules())
    pydl.manual_seed(1)
    z1, z2 = _np(p(x)), _np(p(x))
    assert not np.array_equal(z1, z2)  # dropout draws a fresh mask
    assert not np.allclose(z1, y1)
    assert p[1].num_batches_tracked.item() == 2
    assert not np.allclose(_np(p[1].running_mean), before["1.running_mean"])

    p.train(False)
    assert not p[3].training and not p[1].training
    np.testing.assert_array_equal(_np(p(x)), _np(p(x)))


# ---------------------------------------------------------------------- errors
def _shape_re(shape):
    return re.escape(str(tuple(shape)))


def test_wrong_shape_errors_name_layer_and_shapes():
    with pytest.raises(ValueError) as e:
        nn.Linear(4, 3)(pydl.randn(2, 5))
    msg = str(e.value)
    assert "Linear" in msg or "linear" in msg
    assert "(2, 5)" in msg and "(3, 4)" in msg, msg

    with pytest.raises(ValueError) as e:  # the fused Linear+ReLU path of Sequential too
        nn.Sequential(nn.Linear(4, 3), nn.ReLU())(pydl.randn(2, 5))
    assert "(2, 5)" in str(e.value) and "(3, 4)" in str(e.value), str(e.value)

    with pytest.raises(ValueError) as e:
        nn.Conv2d(3, 4, 3)(pydl.randn(2, 2, 8, 8))
    msg = str(e.value)
    assert "conv2d" in msg.lower()
    assert "(2, 2, 8, 8)" in msg and "(4, 3, 3, 3)" in msg, msg

    with pytest.raises(ValueError) as e:
        nn.BatchNorm2d(3)(pydl.randn(2, 3, 8))
    msg = str(e.value)
    assert "BatchNorm2d" in msg and "(2, 3, 8)" in msg and "(N, 3, H, W)" in msg, msg

    with pytest.raises(ValueError, match=r"BatchNorm1d.*\(2, 4\)"):
        nn.BatchNorm1d(3)(pydl.randn(2, 4))


@pytest.mark.parametrize("make", [
    lambda: nn.Dropout(p=1.5),
    lambda: nn.Dropout(p=-0.1),
    lambda: nn.CrossEntropyLoss(reduction="bogus"),
    lambda: nn.NLLLoss(reduction="bogus"),
    lambda: nn.MSELoss(reduction="avg"),
    lambda: nn.BCEWithLogitsLoss(reduction=None),
    lambda: nn.CrossEntropyLoss(label_smoothing=1.5),
    lambda: nn.GELU(approximate="fast"),
], ids=["dropout>1", "dropout<0", "ce-reduction", "nll-reduction", "mse-reduction", "bce-reduction-none",
        "ce-smoothing", "gelu-approx"])
def test_invalid_hyperparameters(make):
    with pytest.raises(ValueError):
        make()


def test_invalid_hyperparameter_messages():
    with pytest.raises(ValueError, match=r"Dropout.*1\.5"):
        nn.Dropout(p=1.5)
    with pytest.raises(ValueError, match=r"CrossEntropyLoss.*bogus"):
        nn.CrossEntropyLoss(reduction="bogus")


# ---------------------------------------------------------------------- checkpoints
def _train_steps(model, steps, seed, input_shape, classes=10):
    rng = np.random.default_rng(seed)
    opt = pydl.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    for _ in range(steps):
        x = pydl.tensor(rng.uniform(0, 1, input_shape).astype(np.float32))
        y = pydl.tensor(rng.integers(0, classes, input_shape[0]))
        loss = nn.CrossEntropyLoss()(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_lenet5_state_dict_round_trip_is_bitwise(tmp_path):
    lenet5 = _example_lenet5()
    pydl.manual_seed(0)
    model = lenet5()
    _train_steps(model, 2, 0, (8, 1, 28, 28))
    model.eval()
    x = pydl.tensor(np.random.default_rng(17).uniform(0, 1, (20, 1, 28, 28)).astype(np.float32))
    with pydl.no_grad():
        expected = _np(model(x)).copy()
    path = tmp_path / "lenet5.safetensors"
    pydl.save(model.state_dict(), path)

    pydl.manual_seed(123)
    fresh = lenet5().eval()
    with pydl.no_grad():
        assert not np.allclose(_np(fresh(x)), expected)  # a different init really predicts differently
    fresh.load_state_dict(pydl.load(path))
    with pydl.no_grad():
        got = _np(fresh(x))
    np.testing.assert_array_equal(got, expected)
    for (k, a), (k2, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert k == k2
        np.testing.assert_array_equal(_np(a), _np(b), err_msg=k)


def _bn_cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.BasicBlock(4, 8, stride=2), nn.Flatten(), nn.Linear(8 * 4 * 4, 16),
                         nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 10))


def test_batchnorm_checkpoint_reproduces_eval_predictions(tmp_path):
    pydl.manual_seed(0)
    model = _bn_cnn()
    _train_steps(model, 3, 1, (16, 1, 16, 16))
    model.eval()
    x = pydl.tensor(np.random.default_rng(18).uniform(0, 1, (10, 1, 16, 16)).astype(np.float32))
    with pydl.no_grad():
        expected = _np(model(x)).copy()
    state = model.state_dict()
    bn_keys = [k for k in state if k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert len(bn_keys) == 3 * 5  # two batch norms of their own and three in the BasicBlock
    assert all(_np(state[k]) == 3 for k in bn_keys if k.endswith("num_batches_tracked"))
    path = tmp_path / "bn.safetensors"
    pydl.save({"model": state, "epoch": 3}, path)

    pydl.manual_seed(99)
    fresh = _bn_cnn().eval()
    with pydl.no_grad():
        assert not np.allclose(_np(fresh(x)), expected)
    ckpt = pydl.load(path)
    assert ckpt["epoch"] == 3
    fresh.load_state_dict(ckpt["model"])
    for k in bn_keys:
        np.testing.assert_array_equal(_np(fresh.state_dict()[k]), _np(state[k]), err_msg=k)
    assert fresh.state_dict()[bn_keys[2]].dtype == pydl.int64
    with pydl.no_grad():
        np.testing.assert_array_equal(_np(fresh(x)), expected)
