"""CUDA kernels of the MLP path against their CPU twins: activations, softmax, the fused
cross-entropy and the other losses, dropout masks (bit for bit), batch-norm, the
multi-tensor optimizers, autograd through a small MLP, and a seeded 3-epoch MNIST run.
PyTorch on the GPU is a second oracle where it is installed. Every test here is marked
`cuda` and skips where no GPU is present."""
import os
import sys

import numpy as np
import pytest

import pydl
from pydl import _C, nn, optim
import pydl.nn.functional as F
from pydl.tensor import _wrap

pytestmark = pytest.mark.cuda

GPU = "cuda"
FLOATS = [np.float32, np.float64]


def tol(dtype):
    return (2e-5, 1e-6) if dtype == np.float32 else (1e-12, 1e-13)


def both(a, requires_grad=False):
    """The same numpy data as a CPU tensor and a CUDA tensor."""
    a = np.ascontiguousarray(a)
    c = pydl.tensor(a, requires_grad=requires_grad)
    g = pydl.tensor(a, device=GPU, requires_grad=requires_grad)
    return c, g


def host(t):
    return t.detach().cpu().numpy()


def close(cpu, gpu, rtol, atol, exact_nan=True):
    """The CUDA result matches the CPU result: on the GPU, same shape and dtype, values within tolerance."""
    assert str(gpu.device).startswith(GPU), gpu.device
    assert cpu.dtype == gpu.dtype
    np.testing.assert_allclose(host(gpu), host(cpu), rtol=rtol, atol=atol, equal_nan=exact_nan)


def torch_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("PyTorch sees no GPU")
    return torch


@pytest.fixture
def rng():
    return np.random.default_rng(11)


# ---------------------------------------------------------------------- activations
ACTIVATIONS = {
    "relu": F.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.07),
    "sigmoid": F.sigmoid,
    "tanh": F.tanh,
    "softplus": lambda x: F.softplus(x, beta=1.5, threshold=7.0),
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", [1, 3, 4, 1001, 4099, 1 << 17])
def test_activation_forward_backward(name, dtype, n, rng):
    fn = ACTIVATIONS[name]
    x = rng.standard_normal(n + 1).astype(dtype) * 4
    x[:5] = np.array([0.0, -0.0, 30.0, -30.0, 1e-3])[: min(5, n + 1)].astype(dtype)
    up = rng.standard_normal(n).astype(dtype)
    xc, xg = both(x, requires_grad=True)
    # x[1:] starts 4 or 8 bytes into the buffer: the unaligned (scalar) kernel path
    for lo in (0, 1):
        yc, yg = fn(xc[lo:lo + n]), fn(xg[lo:lo + n])
        rtol, atol = tol(dtype)
        close(yc, yg, rtol, atol)
        uc, ug = both(up)
        xc.grad = xg.grad = None
        yc.backward(uc)
        yg.backward(ug)
        close(xc.grad, xg.grad, rtol, atol)


# ---------------------------------------------------------------------- softmax
def softmax_ref(x, dim, log):
    x = x.astype(np.float64)
    m = np.max(np.where(np.isnan(x), -np.inf, x), axis=dim, keepdims=True)
    e = np.exp(x - m)
    s = e.sum(axis=dim, keepdims=True)
    return (x - m) - np.log(s) if log else e / s


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,dim", [((7, 1), -1), ((33, 10), -1), ((64, 1000), -1), ((5, 1001), 1),
                                       ((3, 1025), -1), ((2, 32000), -1), ((3, 32003), -1), ((4, 5, 6), 1),
                                       ((4, 5, 6), 0), ((9, 130, 3), 1)], ids=str)
def test_softmax_forward_backward(shape, dim, log, dtype, rng):
    x = (rng.standard_normal(shape) * 5).astype(dtype)
    flat = x.reshape(-1)
    flat[::7] = 400.0  # large logits: the max is subtracted first
    flat[3::11] = -400.0
    flat[5::13] = -np.inf  # masked entries
    up = rng.standard_normal(shape).astype(dtype)
    fn = F.log_softmax if log else F.softmax
    xc, xg = both(x, requires_grad=True)
    yc, yg = fn(xc, dim=dim), fn(xg, dim=dim)
    rtol, atol = (2e-5, 2e-6) if dtype == np.float32 else (1e-12, 1e-13)
    close(yc, yg, rtol, atol)
    np.testing.assert_allclose(host(yg), softmax_ref(x, dim, log), rtol=max(rtol, 1e-5), atol=max(atol, 1e-6))
    uc, ug = both(up)
    yc.backward(uc)
    yg.backward(ug)
    close(xc.grad, xg.grad, rtol, 1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("log", [False, True])
def test_softmax_special_rows(log):
    """A row of all -inf gives NaN (as the CPU and PyTorch); +inf gives NaN; NaN spreads over its row only."""
    x = np.array([[-np.inf] * 5, [np.inf, 0, 1, 2, 3], [np.nan, 0, 1, 2, 3], [0, 1, 2, 3, 4]], np.float32)
    fn = F.log_softmax if log else F.softmax
    xc, xg = both(x)
    close(fn(xc, dim=1), fn(xg, dim=1), 1e-6, 1e-7)
    wide = np.tile(x, (1, 300))  # the block-per-row kernel
    xc, xg = both(wide)
    close(fn(xc, dim=1), fn(xg, dim=1), 1e-5, 1e-7)


def test_softmax_vs_torch(rng):
    torch = torch_cuda()
    x = rng.standard_normal((128, 3000)).astype(np.float32) * 8
    xg = pydl.tensor(x, device=GPU)
    ref = torch.softmax(torch.tensor(x, device="cuda"), dim=1).cpu().numpy()
    np.testing.assert_allclose(host(F.softmax(xg, dim=1)), ref, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------- cross-entropy
def ce_case(rng, n, c, dtype, extra=(), weighted=False, ignore=None, extreme=False):
    shape = (n, c) + tuple(extra)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    t = rng.integers(0, c, size=(n,) + tuple(extra)).astype(np.int64)
    if extreme:
        x.reshape(-1)[::5] = 400.0
        x.reshape(-1)[2::9] = -400.0
        xt = np.moveaxis(x, 1, -1).reshape(-1, c)
        tt = t.reshape(-1)
        for r in range(0, xt.shape[0], 3):  # -inf on non-target classes
            j = (tt[r] + 1) % c
            if c > 1:
                xt[r, j] = -np.inf
        x = np.ascontiguousarray(np.moveaxis(xt.reshape((n,) + tuple(extra) + (c,)), -1, 1))
    if ignore is not None:
        t.reshape(-1)[::4] = ignore
    w = rng.uniform(0.2, 2.0, size=c).astype(dtype) if weighted else None
    return x, t, w


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n,c,extra", [(1, 1, ()), (7, 3, ()), (64, 10, ()), (33, 1000, ()), (5, 1003, ()),
                                       (3, 32000, ()), (4, 5, (3, 2))], ids=str)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy(dtype, n, c, extra, weighted, smoothing, reduction, rng):
    x, t, w = ce_case(rng, n, c, dtype, extra, weighted, ignore=-100 if n > 1 else None, extreme=c > 2)
    xc, xg = both(x, requires_grad=True)
    tc, tg = both(t)
    wc, wg = both(w) if weighted else (None, None)
    lc = F.cross_entropy(xc, tc, weight=wc, reduction=reduction, label_smoothing=smoothing)
    lg = F.cross_entropy(xg, tg, weight=wg, reduction=reduction, label_smoothing=smoothing)
    rtol, atol = (3e-5, 1e-5) if dtype == np.float32 else (1e-11, 1e-12)
    close(lc, lg, rtol, atol)
    up = rng.standard_normal(lc.shape).astype(dtype)
    uc, ug = both(up)
    lc.backward(uc if reduction == "none" else None)
    lg.backward(ug if reduction == "none" else None)
    close(xc.grad, xg.grad, rtol, atol)


@pytest.mark.parametrize("ignore_index", [-100, 3])
def test_cross_entropy_ignore_index(ignore_index, rng):
    x, t, _ = ce_case(rng, 40, 7, np.float32, ignore=ignore_index)
    xc, xg = both(x, requires_grad=True)
    tc, tg = both(t)
    lc = F.cross_entropy(xc, tc, ignore_index=ignore_index)
    lg = F.cross_entropy(xg, tg, ignore_index=ignore_index)
    close(lc, lg, 2e-6, 1e-7)
    lc.backward()
    lg.backward()
    close(xc.grad, xg.grad, 2e-6, 1e-7)
    assert np.all(host(xg.grad)[t == ignore_index] == 0)


def test_cross_entropy_all_ignored_is_nan():
    x, t = np.zeros((3, 4), np.float32), np.full(3, -100, np.int64)
    xg, tg = both(x)[1], both(t)[1]
    assert np.isnan(F.cross_entropy(xg, tg).item())
    assert F.cross_entropy(xg, tg, reduction="sum").item() == 0.0


@pytest.mark.parametrize("bad", [10, 11, -1, -101])
def test_cross_entropy_bad_label_raises(bad, rng):
    x = rng.standard_normal((6, 10)).astype(np.float32)
    t = np.array([1, 2, bad, 3, bad, 0], np.int64)
    xg, tg = both(x, requires_grad=True)[1], both(t)[1]
    # Checked on the device without a read-back: raised at the next synchronization
    loss = F.cross_entropy(xg, tg)
    with pytest.raises(IndexError, match=rf"cross_entropy: target {bad} is out of bounds for 10 classes .*"
                                         r"found on cuda:0 by an earlier call"):
        loss.item()
    assert np.isnan(loss.item())  # raised once; the loss of a bad batch is nan, never a read out of bounds
    with pytest.raises(IndexError, match=f"target {bad}"):
        F.nll_loss(F.log_softmax(xg, dim=1), tg)  # NLL checks before it runs
    # the device is still usable afterwards
    ok = F.cross_entropy(xg, both(np.zeros(6, np.int64))[1])
    assert np.isfinite(ok.item())


def test_cross_entropy_weight_on_other_device_raises(rng):
    x, t, w = ce_case(rng, 4, 3, np.float32, weighted=True)
    with pytest.raises(RuntimeError, match="same device"):
        F.cross_entropy(both(x)[1], both(t)[1], weight=pydl.tensor(w))


@pytest.mark.parametrize("shape", [(64, 10), (1024, 1100)], ids=str)  # below and above the read-back size
def test_cross_entropy_gradient_handed_over(shape, rng):
    """loss.backward() may hand dlogits over as the gradient; in-place changes to it, a second
    backward through a retained graph and a scaled loss still match the CPU."""
    x = rng.standard_normal(shape).astype(np.float32)
    t = rng.integers(0, shape[1], shape[0]).astype(np.int64)
    grads = {}
    for dev in ("cpu", GPU):
        xt = pydl.tensor(x, device=dev, requires_grad=True)
        tt = pydl.tensor(t, device=dev)
        loss = F.cross_entropy(xt, tt)
        loss.backward(retain_graph=True)
        xt.grad.mul_(0.0)
        loss.backward()
        first = xt.grad
        xt.grad = None
        (F.cross_entropy(xt, tt) * 3).backward()
        grads[dev] = (first, xt.grad)
    close(grads["cpu"][0], grads[GPU][0], 1e-5, 1e-7)
    close(grads["cpu"][1], grads[GPU][1], 1e-5, 1e-7)
    np.testing.assert_allclose(host(grads[GPU][1]), 3 * host(grads[GPU][0]), rtol=1e-6)


def test_cross_entropy_vs_torch(rng):
    torch = torch_cuda()
    x, t, w = ce_case(rng, 256, 1000, np.float32, weighted=True, ignore=-100)
    xg = pydl.tensor(x, device=GPU, requires_grad=True)
    loss = F.cross_entropy(xg, pydl.tensor(t, device=GPU), weight=pydl.tensor(w, device=GPU), label_smoothing=0.1)
    loss.backward()
    xt = torch.tensor(x, device="cuda", requires_grad=True)
    lt = torch.nn.functional.cross_entropy(xt, torch.tensor(t, device="cuda"), weight=torch.tensor(w, device="cuda"),
                                           label_smoothing=0.1)
    lt.backward()
    np.testing.assert_allclose(loss.item(), lt.item(), rtol=1e-5)
    np.testing.assert_allclose(host(xg.grad), xt.grad.cpu().numpy(), rtol=1e-4, atol=1e-8)


# ---------------------------------------------------------------------- the other losses
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(9, 5), (4, 3, 2, 5)], ids=str)
def test_nll_loss(dtype, weighted, reduction, shape, rng):
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    t = rng.integers(0, shape[1], size=(shape[0],) + shape[2:]).astype(np.int64)
    t.reshape(-1)[::3] = -100
    w = rng.uniform(0.5, 2.0, shape[1]).astype(dtype) if weighted else None
    xc, xg = both(x, requires_grad=True)
    tc, tg = both(t)
    wc, wg = both(w) if weighted else (None, None)
    lc, lg = (F.nll_loss(a, b, weight=c, reduction=reduction) for a, b, c in ((xc, tc, wc), (xg, tg, wg)))
    rtol, atol = tol(dtype)
    close(lc, lg, rtol, atol)
    uc, ug = both(rng.standard_normal(lc.shape).astype(dtype))
    lc.backward(uc if reduction == "none" else None)
    lg.backward(ug if reduction == "none" else None)
    close(xc.grad, xg.grad, rtol, atol)


POINTWISE = {
    "mse": lambda x, y, w, r: F.mse_loss(x, y, reduction=r, weight=w),
    "l1": lambda x, y, w, r: F.l1_loss(x, y, reduction=r, weight=w),
    "bce": lambda x, y, w, r: F.binary_cross_entropy(x, y, weight=w, reduction=r),
    "bce_logits": lambda x, y, w, r: F.binary_cross_entropy_with_logits(x, y, weight=w, reduction=r),
}


@pytest.mark.parametrize("name", sorted(POINTWISE))
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("n", [1, 37, 70001])
def test_pointwise_losses(name, dtype, weighted, reduction, n, rng):
    if name == "bce":
        x = rng.uniform(0, 1, n).astype(dtype)
        x[:2] = [0.0, 1.0][: min(2, n)]  # the clamped logs
        y = rng.uniform(0, 1, n).astype(dtype)
    elif name == "bce_logits":
        x = (rng.standard_normal(n) * 30).astype(dtype)  # both tails
        y = (rng.uniform(0, 1, n) > 0.5).astype(dtype)
    else:
        x, y = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    w = rng.uniform(0.1, 2, n).astype(dtype) if weighted else None
    xc, xg = both(x, requires_grad=True)
    yc, yg = both(y, requires_grad=name != "bce")
    wc, wg = both(w) if weighted else (None, None)
    fn = POINTWISE[name]
    lc, lg = fn(xc, yc, wc, reduction), fn(xg, yg, wg, reduction)
    rtol, atol = (1e-5, 1e-6) if dtype == np.float32 else (1e-11, 1e-12)
    close(lc, lg, rtol, atol)
    uc, ug = both(rng.standard_normal(lc.shape).astype(dtype))
    lc.backward(uc if reduction == "none" else None)
    lg.backward(ug if reduction == "none" else None)
    close(xc.grad, xg.grad, rtol, atol)
    if name != "bce":
        close(yc.grad, yg.grad, rtol, atol)


def test_pos_weight_and_broadcast_target(rng):
    x = rng.standard_normal((6, 4)).astype(np.float32) * 5
    y = (rng.uniform(0, 1, (6, 4)) > 0.5).astype(np.float32)
    pw = rng.uniform(0.5, 3, 4).astype(np.float32)
    xc, xg = both(x, requires_grad=True)
    (yc, yg), (pc, pg) = both(y), both(pw)
    lc = F.binary_cross_entropy_with_logits(xc, yc, pos_weight=pc)
    lg = F.binary_cross_entropy_with_logits(xg, yg, pos_weight=pg)
    close(lc, lg, 1e-5, 1e-7)
    lc.backward()
    lg.backward()
    close(xc.grad, xg.grad, 1e-5, 1e-7)
    t = rng.standard_normal(4).astype(np.float32)  # broadcast target
    close(F.mse_loss(xc, both(t)[0]), F.mse_loss(xg, both(t)[1]), 1e-5, 1e-7)


def test_bce_outside_unit_interval_raises_at_the_next_synchronization():
    xg, yg = both(np.array([0.5, 1.5], np.float32))[1], both(np.array([0.0, 1.0], np.float32))[1]
    F.binary_cross_entropy(xg, yg)
    with pytest.raises(RuntimeError, match=r"binary_cross_entropy: .*between 0 and 1 \(element 1 is not"):
        pydl.cuda.synchronize()
    pydl.cuda.synchronize()  # reported once


# ---------------------------------------------------------------------- dropout
@pytest.mark.parametrize("seed", [0, 1, 1234, 2**63 + 5])
@pytest.mark.parametrize("dtype", FLOATS)
def test_dropout_masks_bit_identical(seed, dtype, rng):
    """The same sequence of dropout calls draws the same masks on the CPU and the GPU,
    and leaves the generator at the same offset (sizes not multiples of 4 included)."""
    sizes = [1, 3, 4, 5, 1023, 4097, 100003, (17, 33)]
    ps = [0.5, 0.1, 0.9, 0.0, 1.0, 0.3, 0.5, 0.25]
    xs = [rng.standard_normal(s).astype(dtype) for s in sizes]
    results = {}
    for dev in ("cpu", GPU):
        pydl.manual_seed(seed)
        outs = []
        for x, p in zip(xs, ps):
            out, mask = _C.dropout(pydl.tensor(x, device=dev)._a, p)
            outs.append((host(_wrap(out)), host(_wrap(mask)).astype(bool)))
        results[dev] = (outs, _C.rng_state())
    (cpu_outs, cpu_state), (gpu_outs, gpu_state) = results["cpu"], results[GPU]
    assert cpu_state == gpu_state
    for (oc, mc), (og, mg) in zip(cpu_outs, gpu_outs):
        np.testing.assert_array_equal(mg, mc)
        np.testing.assert_array_equal(og, oc)  # x * (keep * scale): the same expression, the same bits


def test_dropout_module_and_backward(rng):
    x = rng.standard_normal((64, 100)).astype(np.float32)
    grads = {}
    for dev in ("cpu", GPU):
        pydl.manual_seed(42)
        t = pydl.tensor(x, device=dev, requires_grad=True)
        layer = nn.Dropout(0.3)
        y = layer(t)
        (y * y).sum().backward()
        grads[dev] = (host(y), host(t.grad))
    np.testing.assert_array_equal(grads[GPU][0], grads["cpu"][0])
    np.testing.assert_allclose(grads[GPU][1], grads["cpu"][1], rtol=1e-6)


# ---------------------------------------------------------------------- batch-norm
BN_SHAPES = [(7, 5), (512, 256), (3, 4, 9), (2, 3, 5, 7), (64, 16, 8, 8), (2, 70, 1)]


@pytest.mark.parametrize("shape", BN_SHAPES, ids=str)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training(shape, dtype, affine, rng):
    c = shape[1]
    x = (rng.standard_normal(shape) * 3 + 1e4).astype(dtype)  # far from zero mean
    layer_kind = nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d
    layers = {}
    weight = rng.uniform(0.5, 2, c).astype(np.float32)  # the same scales on both devices
    for dev in ("cpu", GPU):
        layer = layer_kind(c, affine=affine, momentum=0.2).to(dev)
        if affine:
            with pydl.no_grad():
                layer.weight.copy_(pydl.tensor(weight).to(dev))
        layers[dev] = layer.to(dtype=pydl.float64) if dtype == np.float64 else layer
    up = rng.standard_normal(shape).astype(dtype)
    xc, xg = both(x, requires_grad=True)
    uc, ug = both(up)
    rtol, atol = (1e-4, 1e-4) if dtype == np.float32 else (1e-9, 1e-9)
    for _ in range(3):  # the running stats move three times
        yc, yg = layers["cpu"](xc), layers[GPU](xg)
        close(yc, yg, rtol, atol)
        xc.grad = xg.grad = None
        yc.backward(uc)
        yg.backward(ug)
        close(xc.grad, xg.grad, rtol, atol)
    close(layers["cpu"].running_mean, layers[GPU].running_mean, rtol, atol)
    close(layers["cpu"].running_var, layers[GPU].running_var, rtol, atol)
    if affine:
        close(layers["cpu"].weight.grad, layers[GPU].weight.grad, rtol, atol)
        close(layers["cpu"].bias.grad, layers[GPU].bias.grad, rtol, atol)
    for layer in layers.values():
        layer.eval()
    yc, yg = layers["cpu"](xc), layers[GPU](xg)
    close(yc, yg, rtol, atol)
    xc.grad = xg.grad = None
    yc.backward(uc)
    yg.backward(ug)
    close(xc.grad, xg.grad, rtol, atol)


def test_batch_norm_stats_vs_float64_reference(rng):
    x = (rng.standard_normal((256, 32)) * 0.01 + 100).astype(np.float32)
    layer = nn.BatchNorm1d(32, momentum=1.0).to(GPU)
    layer(pydl.tensor(x, device=GPU))
    xd = x.astype(np.float64)
    np.testing.assert_allclose(host(layer.running_mean), xd.mean(0), rtol=1e-6)
    np.testing.assert_allclose(host(layer.running_var), xd.var(0, ddof=1), rtol=1e-4)


def test_batch_norm_batch_of_one_raises():
    layer = nn.BatchNorm1d(4).to(GPU)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        layer(pydl.zeros(1, 4, device=GPU))


def test_batch_norm_vs_torch(rng):
    torch = torch_cuda()
    x = rng.standard_normal((64, 16, 8, 8)).astype(np.float32)
    layer = nn.BatchNorm2d(16).to(GPU)
    ref = torch.nn.BatchNorm2d(16).cuda()
    xg = pydl.tensor(x, device=GPU, requires_grad=True)
    xt = torch.tensor(x, device="cuda", requires_grad=True)
    y, yt = layer(xg), ref(xt)
    np.testing.assert_allclose(host(y), yt.detach().cpu().numpy(), rtol=1e-4, atol=1e-5)
    (y * y).sum().backward()
    (yt * yt).sum().backward()
    np.testing.assert_allclose(host(xg.grad), xt.grad.cpu().numpy(), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(host(layer.running_var), ref.running_var.cpu().numpy(), rtol=1e-5)


# ---------------------------------------------------------------------- optimizers
OPTIMIZERS = [
    ("sgd", lambda p: optim.SGD(p, lr=0.1)),
    ("sgd_momentum", lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("sgd_nesterov", lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("adam", lambda p: optim.Adam(p, lr=1e-2)),
    ("adam_l2_amsgrad", lambda p: optim.Adam(p, lr=1e-2, weight_decay=0.1, amsgrad=True)),
    ("adamw", lambda p: optim.AdamW(p, lr=1e-2, weight_decay=0.1)),
    ("rmsprop", lambda p: optim.RMSprop(p, lr=1e-2)),
    ("rmsprop_centered_momentum", lambda p: optim.RMSprop(p, lr=1e-2, momentum=0.9, centered=True,
                                                           weight_decay=0.01)),
    ("adagrad", lambda p: optim.Adagrad(p, lr=0.1, lr_decay=0.01, weight_decay=0.01)),
    ("adadelta", lambda p: optim.Adadelta(p, lr=1.0, weight_decay=0.01)),
]


@pytest.mark.parametrize("name,make", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
@pytest.mark.parametrize("dtype", FLOATS)
def test_optimizer_steps(name, make, dtype, rng):
    # odd sizes, one tensor of several 4096-element chunks, and more tensors than one launch takes
    shapes = [(1,), (3, 5), (4097,), (100, 130)] + [(7,)] * 50
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(5)]
    final = {}
    for dev in ("cpu", GPU):
        params = [pydl.tensor(a, device=dev, requires_grad=True) for a in init]
        opt = make(params)
        for step in grads:
            for p, g in zip(params, step):
                p.grad = pydl.tensor(g, device=dev)
            opt.step()
        final[dev] = params
    rtol, atol = (2e-5, 2e-6) if dtype == np.float32 else (1e-12, 1e-13)
    for pc, pg in zip(final["cpu"], final[GPU]):
        close(pc, pg, rtol, atol)


def test_optimizer_mixed_dtypes_and_frozen(rng):
    a = rng.standard_normal(10).astype(np.float32)
    b = rng.standard_normal(10)
    out = {}
    for dev in ("cpu", GPU):
        pa = pydl.tensor(a, device=dev, requires_grad=True)
        pb = pydl.tensor(b, device=dev, requires_grad=True)
        frozen = pydl.tensor(a, device=dev, requires_grad=True)  # no grad: left alone
        opt = optim.Adam([pa, pb, frozen], lr=0.1)
        for _ in range(3):
            pa.grad, pb.grad = pydl.ones_like(pa), pydl.ones_like(pb)
            opt.step()
        out[dev] = (pa, pb, frozen)
    for c, g in zip(out["cpu"], out[GPU]):
        close(c, g, 1e-6, 1e-7)


def test_adam_vs_torch_foreach(rng):
    torch = torch_cuda()
    init = [rng.standard_normal(s).astype(np.float32) for s in [(300,), (20, 30), (4100,)]]
    ps = [pydl.tensor(a, device=GPU, requires_grad=True) for a in init]
    ts = [torch.tensor(a, device="cuda", requires_grad=True) for a in init]
    o, ot = optim.Adam(ps, lr=1e-2), torch.optim.Adam(ts, lr=1e-2, foreach=True)
    for _ in range(4):
        gs = [rng.standard_normal(a.shape).astype(np.float32) for a in init]
        for p, t, g in zip(ps, ts, gs):
            p.grad, t.grad = pydl.tensor(g, device=GPU), torch.tensor(g, device="cuda")
        o.step()
        ot.step()
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(host(p), t.detach().cpu().numpy(), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- end to end
def mlp(dev):
    pydl.manual_seed(3)
    return nn.Sequential(nn.Flatten(), nn.Linear(20, 32), nn.ReLU(), nn.Dropout(0.2), nn.BatchNorm1d(32),
                         nn.Linear(32, 16), nn.Tanh(), nn.Linear(16, 5)).to(dev)


def test_mlp_gradients_match_cpu(rng):
    x = rng.standard_normal((48, 4, 5)).astype(np.float32)
    t = rng.integers(0, 5, 48).astype(np.int64)
    grads = {}
    for dev in ("cpu", GPU):
        model = mlp(dev)
        pydl.manual_seed(9)  # the same dropout mask on both devices
        loss = nn.CrossEntropyLoss(label_smoothing=0.05)(model(pydl.tensor(x, device=dev)), pydl.tensor(t, device=dev))
        loss.backward()
        grads[dev] = (loss, [p.grad for p in model.parameters()])
    close(grads["cpu"][0], grads[GPU][0], 1e-5, 1e-6)
    for gc, gg in zip(grads["cpu"][1], grads[GPU][1]):
        close(gc, gg, 1e-4, 1e-5)


def test_cross_entropy_loss_module_weight_moves_with_to(rng):
    loss_fn = nn.CrossEntropyLoss(weight=pydl.tensor(rng.uniform(0.5, 1.5, 5).astype(np.float32))).to(GPU)
    assert str(loss_fn.weight.device).startswith(GPU)
    x, t = pydl.randn(8, 5, device=GPU), pydl.tensor(rng.integers(0, 5, 8), device=GPU)
    assert np.isfinite(loss_fn(x, t).item())


def test_train_mlp_three_epochs_matches_cpu():
    """A seeded 3-epoch run of examples/train_mlp.py's model and loop: the GPU's validation
    accuracy is within 0.5 percentage points of the CPU's."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
    try:
        import common
    finally:
        sys.path.pop(0)
    from pydl.data import DataLoader
    from types import SimpleNamespace

    accs = {}
    for dev in ("cpu", GPU):
        args = SimpleNamespace(seed=0, data=None, batch_size=64, lr=0.05, optimizer="sgd", momentum=0.9)
        pydl.manual_seed(args.seed)
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10)).to(dev)
        train_set, val_set = common.load_data(args)
        train_loader = DataLoader(train_set, batch_size=64, shuffle=True, generator=args.seed)
        val_loader = DataLoader(val_set, batch_size=512)
        opt = common.make_optimizer(args, model.parameters())
        loss_fn = nn.CrossEntropyLoss()
        for _ in range(3):
            common.run_epoch(model, train_loader, loss_fn, dev, opt)
        _, accs[dev] = common.run_epoch(model, val_loader, loss_fn, dev)
        assert all(str(p.device).startswith(dev) for p in model.parameters())
    assert accs["cpu"] > 0.85
    assert abs(accs[GPU] - accs["cpu"]) <= 0.005, accs
