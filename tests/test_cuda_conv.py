"""CUDA conv2d and pooling against their CPU twins (and a float64 numpy reference, and PyTorch on
the GPU where it is installed): forward with bias and fused ReLU, input, weight and bias gradients
on odd shapes; max / average / adaptive pooling forward and backward; LeNet-5 and a ResNet
BasicBlock end to end through autograd; a seeded 2-epoch LeNet-5 run on the GPU against the same
run on the CPU. Every test here is marked `cuda` and skips where no GPU is present."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pydl
import pydl.nn.functional as F
from pydl import _C, nn, optim
from pydl.data import DataLoader, random_split
from pydl.data.datasets import mnist_5k
from pydl.nn.functional.conv import conv2d_relu
from pydl.nn.models import lenet5
from pydl.nn.residual import BasicBlock
from pydl.tensor import _wrap
from pydl.utils import accuracy
from test_nn_conv import conv2d_grads_ref, conv2d_ref

pytestmark = pytest.mark.cuda

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _np(t):
    return t.detach().cpu().numpy()


def _torch_cuda():
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    return torch


def _tol(dtype):
    return dict(rtol=1e-11, atol=1e-11) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-4)


# ---------------------------------------------------------------------- conv2d

# (batch, c_in, c_out, (h, w), (kh, kw), stride, padding, dilation, groups): 7x7 images, 1x1 / 3x3 /
# 5x5 kernels, channel counts that are not multiples of the tiles (16 and 64 wide), groups 2 and 4.
CONV_CASES = [
    (1, 1, 1, (7, 7), (3, 3), 1, 1, 1, 1),
    (5, 3, 13, (7, 7), (3, 3), 2, 1, 1, 1),
    (5, 3, 67, (7, 7), (1, 1), 1, 0, 1, 1),
    (1, 13, 3, (7, 9), (5, 5), 1, 2, 1, 1),
    (5, 67, 13, (7, 7), (5, 5), 2, 2, 1, 1),
    (1, 4, 6, (7, 7), (3, 3), (1, 2), (2, 1), 2, 2),
    (5, 6, 16, (14, 14), (5, 5), 1, 0, 1, 1),
    (5, 1, 6, (28, 28), (5, 5), 1, 2, 1, 1),
    (1, 67, 70, (5, 6), (3, 3), (2, 1), (1, 2), 1, 1),
    (1, 8, 8, (6, 6), (3, 2), (3, 2), (1, 0), (2, 1), 4),
    (5, 8, 8, (14, 14), (3, 3), 1, 1, 1, 2),
    (17, 2, 5, (9, 9), (3, 3), 2, 1, 1, 1),
    (5, 13, 67, (7, 7), (3, 3), 1, 1, 2, 1),
]


def _conv_inputs(case, dtype, rng):
    n, c_in, c_out, hw, k, stride, padding, dilation, groups = case
    x = rng.standard_normal((n, c_in) + hw).astype(dtype)
    w = (rng.standard_normal((c_out, c_in // groups) + k) / np.sqrt(c_in // groups * k[0] * k[1])).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    return x, w, b, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


def _conv_run(device, x, w, b, kw, relu, g=None):
    """(y, dx, dw, db) through autograd on `device`; g: the output gradient (default ones)."""
    px = pydl.tensor(x, device=device, requires_grad=True)
    pw = pydl.tensor(w, device=device, requires_grad=True)
    pb = pydl.tensor(b, device=device, requires_grad=True)
    y = (conv2d_relu if relu else F.conv2d)(px, pw, pb, **kw)
    y.backward(pydl.ones(y.shape, dtype=y.dtype, device=device) if g is None else pydl.tensor(g, device=device))
    assert str(y.device).startswith(device) and str(px.grad.device).startswith(device)
    return _np(y), _np(px.grad), _np(pw.grad), _np(pb.grad)


# The fused ReLU in float64 only: in float32 an output within rounding of 0 could take the
# other side of the kink on the two devices (and its gradient would differ by a whole term).
@pytest.mark.parametrize("case", CONV_CASES, ids=str)
@pytest.mark.parametrize("dtype,relu", [(np.float32, False), (np.float64, False), (np.float64, True)],
                         ids=["float32", "float64", "float64-relu"])
def test_conv2d_matches_cpu(case, dtype, relu):
    rng = np.random.default_rng(11)
    x, w, b, kw = _conv_inputs(case, dtype, rng)
    y_shape = F.conv2d(pydl.tensor(x), pydl.tensor(w), None, **kw).shape
    g = rng.standard_normal(y_shape).astype(dtype)
    cpu = _conv_run("cpu", x, w, b, kw, relu, g)
    gpu = _conv_run("cuda", x, w, b, kw, relu, g)
    for c, d, name in zip(cpu, gpu, ("y", "dx", "dw", "db")):
        assert c.shape == d.shape and c.dtype == d.dtype, name
        np.testing.assert_allclose(d, c, **_tol(dtype), err_msg=name)


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_float32_matches_float64_reference(case):
    """The CUDA float32 kernels against the float64 numpy reference (no ReLU: its kink would turn
    rounding into a jump)."""
    rng = np.random.default_rng(12)
    x, w, b, kw = _conv_inputs(case, np.float32, rng)
    ref_y = conv2d_ref(x, w, b, **kw)
    g = rng.standard_normal(ref_y.shape).astype(np.float32)
    ref_dx, ref_dw, ref_db = conv2d_grads_ref(x, w, g, **kw)
    y, dx, dw, db = _conv_run("cuda", x, w, b, kw, False, g)
    for got, ref, name in ((y, ref_y, "y"), (dx, ref_dx, "dx"), (dw, ref_dw, "dw"), (db, ref_db, "db")):
        scale = max(1.0, float(np.abs(ref).max()))
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=2e-5 * scale, err_msg=name)


@pytest.mark.parametrize("kw", [
    dict(),
    dict(stride=2, padding=1),
    dict(stride=(1, 2), padding=(2, 1), dilation=2),
    dict(padding=1, groups=2),
    dict(padding="same"),
], ids=["plain", "s2p1", "dil2", "groups2", "same"])
def test_conv2d_gradcheck_on_cuda(kw):
    """Finite differences (float64) through the CUDA kernels."""
    rng = np.random.default_rng(18)
    x = pydl.tensor(rng.uniform(-1, 1, (2, 2, 5, 6)), device="cuda", requires_grad=True)
    w = pydl.tensor(rng.uniform(-1, 1, (2, 2 // kw.get("groups", 1), 3, 2)), device="cuda", requires_grad=True)
    b = pydl.tensor(rng.uniform(-1, 1, 2), device="cuda", requires_grad=True)
    assert pydl.gradcheck(lambda a, c, d: F.conv2d(a, c, d, **kw), (x, w, b))


def test_conv2d_non_contiguous_unbatched_and_same_padding():
    """Strided views are made contiguous on the device; (C, H, W) inputs; padding='same' with an
    even kernel (asymmetric padding)."""
    rng = np.random.default_rng(19)
    x = rng.standard_normal((7, 9, 5, 3))  # (5, 3, 5, 6) once permuted and sliced below
    w = rng.standard_normal((4, 3, 2, 4))
    outs = {}
    for d in ("cpu", "cuda"):
        tx = pydl.tensor(x, device=d).permute(2, 3, 1, 0)[:, :, ::2, 1:]
        tw = pydl.tensor(w, device=d)
        assert not tx.is_contiguous()
        outs[d] = (_np(F.conv2d(tx, tw, padding="same")), _np(F.conv2d(tx[0], tw, padding=(1, 2))))
    for c, g in zip(outs["cpu"], outs["cuda"]):
        np.testing.assert_allclose(g, c, rtol=1e-12, atol=1e-12)
    assert outs["cuda"][1].ndim == 3


def test_conv2d_fused_relu_is_relu_of_conv2d():
    rng = np.random.default_rng(13)
    x, w, b, kw = _conv_inputs((5, 3, 13, (7, 7), (3, 3), 1, 1, 1, 1), np.float32, rng)
    px, pw, pb = (pydl.tensor(a, device="cuda") for a in (x, w, b))
    plain = _np(F.relu(F.conv2d(px, pw, pb, **kw)))
    fused = _np(conv2d_relu(px, pw, pb, **kw))
    np.testing.assert_array_equal(fused, plain)
    assert (fused == 0).any() and (fused > 0).any()


def _host(a):
    """A _C array (on any device) as a numpy array."""
    return _np(_wrap(a))


def test_conv2d_low_level_ops_without_bias():
    """The _C entry points directly: forward without bias, the three gradients, float64."""
    rng = np.random.default_rng(14)
    x, w, _, _ = _conv_inputs((5, 13, 67, (7, 7), (3, 3), 2, 1, 1, 1), np.float64, rng)
    args = ([2, 2], [1, 1], [1, 1], 1)
    on = {d: (pydl.tensor(x, device=d)._a, pydl.tensor(w, device=d)._a) for d in ("cpu", "cuda")}
    y = {d: _C.conv2d(xa, wa, None, *args) for d, (xa, wa) in on.items()}
    np.testing.assert_allclose(_host(y["cuda"]), _host(y["cpu"]), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(tuple(y["cpu"].shape))
    ga = {d: pydl.tensor(g, device=d)._a for d in on}
    for d in on:
        got = (_C.conv2d_backward_input(ga[d], on[d][1], list(x.shape), *args),
               _C.conv2d_backward_weight(ga[d], on[d][0], list(w.shape), *args), _C.conv2d_backward_bias(ga[d]))
        on[d] = on[d] + tuple(_host(a) for a in got)
    for c, gpu in zip(on["cpu"][2:], on["cuda"][2:]):
        np.testing.assert_allclose(gpu, c, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(on["cuda"][4], g.sum(axis=(0, 2, 3)), rtol=1e-12)


def test_conv2d_weight_gradient_is_reproducible():
    """Split-K partials are added in a fixed order: two runs give the same bits."""
    rng = np.random.default_rng(15)
    x, w, b, kw = _conv_inputs((17, 2, 5, (9, 9), (3, 3), 2, 1, 1, 1), np.float32, rng)
    first = _conv_run("cuda", x, w, b, kw, False)
    second = _conv_run("cuda", x, w, b, kw, False)
    for a, c in zip(first, second):
        np.testing.assert_array_equal(a, c)


def test_conv2d_large_batch_resnet_shape_matches_cpu():
    """The ResNet block's shape (64 -> 64, 3x3, padding 1) at batch 8: several M tiles, two N tiles
    and a split weight-gradient reduction."""
    rng = np.random.default_rng(16)
    x, w, b, kw = _conv_inputs((8, 64, 64, (32, 32), (3, 3), 1, 1, 1, 1), np.float32, rng)
    cpu = _conv_run("cpu", x, w, b, kw, False)
    gpu = _conv_run("cuda", x, w, b, kw, False)
    for c, d in zip(cpu, gpu):
        np.testing.assert_allclose(d, c, rtol=1e-3, atol=1e-3)


def test_conv2d_matches_torch_cuda():
    torch = _torch_cuda()
    if torch is None:
        pytest.skip("PyTorch with CUDA is not installed")
    rng = np.random.default_rng(17)
    for case in CONV_CASES:
        x, w, b, kw = _conv_inputs(case, np.float32, rng)
        y, dx, dw, db = _conv_run("cuda", x, w, b, kw, False)
        tx, tw, tb = (torch.tensor(a, device="cuda", requires_grad=True) for a in (x, w, b))
        ty = torch.nn.functional.conv2d(tx, tw, tb, **kw)
        ty.backward(torch.ones_like(ty))
        for got, ref in ((y, ty), (dx, tx.grad), (dw, tw.grad), (db, tb.grad)):
            np.testing.assert_allclose(got, ref.detach().cpu().numpy(), rtol=2e-4, atol=2e-4, err_msg=str(case))


def test_conv2d_device_mismatch_raises():
    x = pydl.ones((1, 1, 5, 5), device="cuda")
    w = pydl.ones((1, 1, 3, 3))
    with pytest.raises(RuntimeError, match="conv2d"):
        F.conv2d(x, w)


# ---------------------------------------------------------------------- pooling

def _pool_input(shape, dtype, rng, specials=False):
    x = rng.standard_normal(shape).astype(dtype)
    if specials:
        x.reshape(-1)[::7] = 0.5  # ties: the first maximum wins
        x[..., 0, 0] = np.nan      # NaN wins
    return x


def _grad_of(fn, x, device, g):
    px = pydl.tensor(x, device=device, requires_grad=True)
    y = fn(px)
    y.backward(pydl.tensor(g, device=device))
    return _np(y), _np(px.grad)


# (shape, kernel, stride, padding, dilation, ceil_mode): overlapping windows (stride < kernel),
# padding, dilation, ceil_mode, unbatched input; windows of padding only (-inf, and an index
# that may lie outside the window, where the CPU sends the gradient).
MAX_CASES = [
    ((5, 3, 7, 7), 2, None, 0, 1, False),
    ((5, 3, 7, 7), 3, 2, 1, 1, True),
    ((1, 2, 9, 8), (3, 2), (1, 2), 1, (2, 1), False),
    ((3, 5, 6), 3, 1, (1, 0), 1, True),
    ((1, 1, 5, 5), 3, 2, 1, 3, True),
    ((2, 1, 7, 1), (2, 3), (2, 3), 1, 2, True),  # dilated windows wholly in the padding
    ((64, 6, 28, 28), 2, 2, 0, 1, False),
]


@pytest.mark.parametrize("case", MAX_CASES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool2d_matches_cpu_exactly(case, dtype):
    shape, k, s, p, d, ceil = case
    rng = np.random.default_rng(21)
    x = _pool_input(shape, dtype, rng, specials=True)
    pc, ic = F.max_pool2d(pydl.tensor(x), k, s, p, d, ceil_mode=ceil, return_indices=True)
    g = rng.standard_normal(pc.shape).astype(dtype)
    fn = lambda t: F.max_pool2d(t, k, s, p, d, ceil_mode=ceil)  # noqa: E731
    yc, dxc = _grad_of(fn, x, "cpu", g)
    yg, dxg = _grad_of(fn, x, "cuda", g)
    _, ig = F.max_pool2d(pydl.tensor(x, device="cuda"), k, s, p, d, ceil_mode=ceil, return_indices=True)
    np.testing.assert_array_equal(yg, yc)
    np.testing.assert_array_equal(_np(ig), _np(ic))
    np.testing.assert_array_equal(dxg, dxc)  # the gather adds in the CPU scatter's order


def test_max_pool2d_backward_on_cuda_needs_the_window():
    idx = np.array([[[[4, 4], [4, 99]]]], np.int64)
    g = pydl.ones((1, 1, 2, 2), device="cuda")
    with pytest.raises(ValueError, match="max_pool2d_backward"):
        _C.max_pool2d_backward(g._a, pydl.tensor(idx, device="cuda")._a, (1, 1, 3, 3))
    # 2x2 windows, stride 1: the centre is picked by three windows; index 99 lies outside the
    # plane and carries no gradient, as on the CPU.
    window = ([2, 2], [1, 1], [0, 0], [1, 1])
    dx = _C.max_pool2d_backward(g._a, pydl.tensor(idx, device="cuda")._a, (1, 1, 3, 3), *window)
    cpu = _C.max_pool2d_backward(pydl.ones((1, 1, 2, 2))._a, pydl.tensor(idx)._a, (1, 1, 3, 3))
    np.testing.assert_array_equal(_host(dx), _host(cpu))
    assert _host(dx).reshape(-1).tolist() == [0.0] * 4 + [3.0] + [0.0] * 4


# (shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVG_CASES = [
    ((5, 3, 7, 7), 3, 2, 1, True, True, None),
    ((5, 3, 7, 7), 3, 2, 1, True, False, None),
    ((1, 2, 9, 8), (2, 3), (1, 2), 1, False, True, 5),
    ((3, 6, 5), 2, 2, 0, True, False, None),
    ((64, 16, 10, 10), 2, None, 0, False, True, None),
]


@pytest.mark.parametrize("case", AVG_CASES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_avg_pool2d_matches_cpu_exactly(case, dtype):
    shape, k, s, p, ceil, inc, div = case
    rng = np.random.default_rng(22)
    x = _pool_input(shape, dtype, rng)
    fn = lambda t: F.avg_pool2d(t, k, s, p, ceil_mode=ceil, count_include_pad=inc, divisor_override=div)  # noqa: E731
    g = rng.standard_normal(fn(pydl.tensor(x)).shape).astype(dtype)
    yc, dxc = _grad_of(fn, x, "cpu", g)
    yg, dxg = _grad_of(fn, x, "cuda", g)
    np.testing.assert_array_equal(yg, yc)
    np.testing.assert_array_equal(dxg, dxc)


@pytest.mark.parametrize("shape,out", [((2, 3, 7, 7), 3), ((2, 3, 7, 9), (4, 2)), ((2, 3, 5, 5), (7, 6)),
                                       ((3, 5, 8, 8), 1), ((70, 11, 3), 1), ((64, 64, 8, 8), 1)], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adaptive_avg_pool2d_matches_cpu(shape, out, dtype):
    rng = np.random.default_rng(23)
    x = _pool_input(shape, dtype, rng)
    fn = lambda t: F.adaptive_avg_pool2d(t, out)  # noqa: E731
    g = rng.standard_normal(fn(pydl.tensor(x)).shape).astype(dtype)
    yc, dxc = _grad_of(fn, x, "cpu", g)
    yg, dxg = _grad_of(fn, x, "cuda", g)
    if out == 1:  # the global pool sums a plane as a warp tree, the CPU in 8 lanes
        np.testing.assert_allclose(yg, yc, **_tol(dtype))
    else:
        np.testing.assert_array_equal(yg, yc)
    np.testing.assert_array_equal(dxg, dxc)


def test_pooling_matches_torch_cuda():
    torch = _torch_cuda()
    if torch is None:
        pytest.skip("PyTorch with CUDA is not installed")
    rng = np.random.default_rng(24)
    x = rng.standard_normal((4, 3, 11, 11)).astype(np.float32)
    for ours, theirs in (
            (lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True),
             lambda t: torch.nn.functional.max_pool2d(t, 3, 2, 1, ceil_mode=True)),
            (lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=False),
             lambda t: torch.nn.functional.avg_pool2d(t, 3, 2, 1, count_include_pad=False)),
            (lambda t: F.adaptive_avg_pool2d(t, (4, 3)), lambda t: torch.nn.functional.adaptive_avg_pool2d(t, (4, 3)))):
        tx = torch.tensor(x, device="cuda", requires_grad=True)
        ty = theirs(tx)
        g = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
        ty.backward(torch.tensor(g, device="cuda"))
        y, dx = _grad_of(ours, x, "cuda", g)
        np.testing.assert_allclose(y, ty.detach().cpu().numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(dx, tx.grad.cpu().numpy(), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- models end to end

def _model_parity(make, x, loss_of, rtol, atol):
    """The same model (same weights) on the CPU and on CUDA: outputs, loss and every gradient.
    In float64, so that no ReLU input or pooling tie lies within rounding of a flip."""
    pydl.manual_seed(0)
    cpu = make().double()
    gpu = make().double()
    gpu.load_state_dict(cpu.state_dict())
    gpu.to("cuda")
    results = []
    for model, device in ((cpu, "cpu"), (gpu, "cuda")):
        out = model(pydl.tensor(x, device=device))
        loss_of(out).backward()
        results.append((_np(out), {n: _np(p.grad) for n, p in model.named_parameters()}))
    (oc, gc), (og, gg) = results
    np.testing.assert_allclose(og, oc, rtol=rtol, atol=atol)
    assert gc.keys() == gg.keys()
    for name in gc:
        np.testing.assert_allclose(gg[name], gc[name], rtol=rtol, atol=atol, err_msg=name)


def test_lenet5_forward_backward_cuda_matches_cpu():
    x = np.random.default_rng(31).standard_normal((16, 1, 28, 28))
    labels = np.arange(16) % 10

    def loss_of(out):
        return F.cross_entropy(out, pydl.tensor(labels, device=str(out.device)))

    _model_parity(lenet5, x, loss_of, rtol=1e-9, atol=1e-12)


def test_basic_block_forward_backward_cuda_matches_cpu():
    x = np.random.default_rng(32).standard_normal((4, 8, 9, 9))

    def make():
        return nn.Sequential(BasicBlock(8, 16, stride=2), BasicBlock(16, 16), nn.AdaptiveAvgPool2d(1), nn.Flatten())

    _model_parity(make, x, lambda out: (out * out).sum(), rtol=1e-9, atol=1e-11)


def _train_lenet(device, epochs=2, seed=0):
    """The examples' recipe (SGD lr 0.02, momentum 0.9, batch 32) on the bundled digits' 80/20
    split; the same initial weights and batches on every device. Returns the validation accuracy."""
    pydl.manual_seed(seed)
    model = lenet5().to(device)
    train_set, val_set = random_split(mnist_5k(), [0.8, 0.2], generator=seed)
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True, generator=seed)
    val_loader = DataLoader(val_set, batch_size=500)
    opt = optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        model.train()
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    correct = count = 0
    with pydl.no_grad():
        for x, y in val_loader:
            correct += accuracy(model(x.to(device)), y.to(device)) * y.shape[0]
            count += y.shape[0]
    return correct / count


def test_lenet5_two_epochs_on_cuda_reach_the_cpu_accuracy():
    cpu = _train_lenet("cpu")
    gpu = _train_lenet("cuda")
    assert cpu > 0.85, cpu
    assert abs(gpu - cpu) <= 0.005, (gpu, cpu)


@pytest.mark.parametrize("model", ["lenet5", "resnet"])
def test_train_cnn_example_runs_on_cuda(tmp_path, model):
    out = subprocess.run([sys.executable, str(EXAMPLES / "train_cnn.py"), "--device", "cuda", "--epochs", "1",
                          "--model", model, "--no-progress", "--out", str(tmp_path)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "validation accuracy" in out.stdout and ", cuda" in out.stdout, out.stdout
