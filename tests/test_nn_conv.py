"""conv2d: forward, input gradient, weight and bias gradients against a float64 numpy
reference and against torch.nn.functional.conv2d; gradcheck; argument errors."""
import numpy as np
import pytest

import pydl
import pydl.nn.functional as F
from pydl import nn


# ---------------------------------------------------------------------- numpy reference (float64)
def _pads(padding):
    """(top, left, bottom, right) from an int, a pair or a 4-tuple."""
    if isinstance(padding, int):
        return padding, padding, padding, padding
    if len(padding) == 2:
        return padding[0], padding[1], padding[0], padding[1]
    return tuple(padding)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _taps(x_shape, w_shape, stride, padding, dilation):
    """Output size and, per kernel tap (i, j), the slices of the padded input it reads."""
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    pt, pl, pb, pr = _pads(padding)
    h, w = x_shape[-2:]
    kh, kw = w_shape[-2:]
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (w + pl + pr - dw * (kw - 1) - 1) // sw + 1
    taps = [(i, j, slice(i * dh, i * dh + sh * (oh - 1) + 1, sh), slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))
            for i in range(kh) for j in range(kw)]
    return (oh, ow), (pt, pl, pb, pr), taps


def conv2d_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    (oh, ow), (pt, pl, pb, pr), taps = _taps(x.shape, w.shape, stride, padding, dilation)
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    cin_g, cout_g = x.shape[1] // groups, w.shape[0] // groups
    out = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for g in range(groups):
        xs, os_ = slice(g * cin_g, (g + 1) * cin_g), slice(g * cout_g, (g + 1) * cout_g)
        for i, j, hs, ws in taps:
            out[:, os_] += np.einsum("nchw,oc->nohw", xp[:, xs, hs, ws], w[os_, :, i, j])
    if b is not None:
        out += np.asarray(b, np.float64)[None, :, None, None]
    return out


def conv2d_grads_ref(x, w, gy, stride=1, padding=0, dilation=1, groups=1):
    """(dx, dw, db) of sum(conv2d(x, w, b) * gy)."""
    x, w, gy = np.asarray(x, np.float64), np.asarray(w, np.float64), np.asarray(gy, np.float64)
    _, (pt, pl, pb, pr), taps = _taps(x.shape, w.shape, stride, padding, dilation)
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    cin_g, cout_g = x.shape[1] // groups, w.shape[0] // groups
    for g in range(groups):
        xs, os_ = slice(g * cin_g, (g + 1) * cin_g), slice(g * cout_g, (g + 1) * cout_g)
        for i, j, hs, ws in taps:
            dxp[:, xs, hs, ws] += np.einsum("nohw,oc->nchw", gy[:, os_], w[os_, :, i, j])
            dw[os_, :, i, j] = np.einsum("nohw,nchw->oc", gy[:, os_], xp[:, xs, hs, ws])
    dx = dxp[:, :, pt:pt + x.shape[2], pl:pl + x.shape[3]]
    return dx, dw, gy.sum(axis=(0, 2, 3))


# ---------------------------------------------------------------------- cases
# (N, C_in, C_out, H, W, kernel, stride, padding, dilation, groups)
CASES = [
    (1, 1, 6, 7, 7, 5, 1, 2, 1, 1),            # LeNet-like, batch 1
    (3, 3, 5, 7, 7, 3, 2, 1, 1, 1),            # stride 2, padding 1, batch 3
    (3, 5, 7, 7, 7, 1, 1, 0, 1, 1),            # 1x1 pointwise (no im2col)
    (3, 5, 7, 7, 7, 1, 2, 0, 1, 1),            # 1x1 stride 2 (a downsampling shortcut)
    (3, 3, 5, 7, 9, 3, 1, 2, 2, 1),            # dilation 2, padding 2
    (2, 3, 5, 9, 7, 5, 2, 2, 1, 1),            # 5x5 stride 2 on an odd image
    (2, 3, 4, 8, 7, (3, 2), (2, 1), (1, 0), (1, 2), 1),  # every pair asymmetric
    (2, 4, 6, 7, 7, 3, 1, 1, 1, 2),            # groups 2
    (3, 3, 3, 7, 7, 3, 1, 1, 1, 3),            # depthwise
    (2, 3, 5, 5, 5, 5, 1, 0, 1, 1),            # kernel as large as the image: 1x1 output
]
IDS = ["lenet-b1", "s2p1-b3", "pointwise", "1x1-s2", "dil2", "5x5-s2", "asym", "groups2", "depthwise", "full"]


def _make(case, rng, dtype=np.float64):
    n, ci, co, h, w, k, s, p, d, g = case
    kh, kw = _pair(k)
    x = rng.standard_normal((n, ci, h, w)).astype(dtype)
    wt = rng.standard_normal((co, ci // g, kh, kw)).astype(dtype)
    b = rng.standard_normal(co).astype(dtype)
    return x, wt, b, dict(stride=s, padding=p, dilation=d, groups=g)


@pytest.fixture(params=["auto", "gemm", "direct"])
def path(request):
    """Runs a test with the kernel choice automatic, then forced to im2col + GEMM, then to
    the direct kernels (where a case allows them)."""
    pydl._C.conv_force_path(request.param)
    yield request.param
    pydl._C.conv_force_path("auto")


def _leaves(*arrays):
    return [pydl.tensor(a, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv2d_matches_numpy_float64(case, rng, path):
    x, w, b, kw = _make(case, rng)
    px, pw, pb = _leaves(x, w, b)
    y = F.conv2d(px, pw, pb, **kw)
    ref = conv2d_ref(x, w, b, **kw)
    assert y.dtype == pydl.float64
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-12, atol=1e-12)
    gy = rng.standard_normal(ref.shape)
    y.backward(pydl.tensor(gy))
    dx, dw, db = conv2d_grads_ref(x, w, gy, **kw)
    np.testing.assert_allclose(px.grad.numpy(), dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pw.grad.numpy(), dw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pb.grad.numpy(), db, rtol=1e-12, atol=1e-12)


# Stride 1 with at most 8 output channels (the forward) or input channels (the input gradient) and rows of
# 8 pixels or more: the kernel with the output's pixels in the vector lanes.
ROWS_CASES = [
    (3, 6, 16, 14, 14, 5, 1, 0, 1, 1),         # LeNet-5's second conv (its input gradient)
    (3, 1, 6, 28, 28, 5, 1, 2, 1, 1),          # LeNet-5's first (its forward)
    (2, 1, 4, 9, 40, (3, 5), 1, (1, 2), 1, 1),   # rows longer than a vector, odd height, asymmetric
    (2, 8, 3, 5, 17, 3, 1, 2, 1, 1),           # 8 channels each way, padding kh - 1
    (2, 7, 8, 6, 9, 2, 1, 0, 1, 1),            # an even kernel, rows of 9 and 8 (shorter than a vector)
    (1, 3, 2, 1, 9, (1, 3), 1, (0, 1), 1, 1),  # a single row
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ROWS_CASES, ids=str)
def test_conv2d_with_pixels_in_the_lanes(case, dtype, rng):
    """Forward (with bias, and with the fused ReLU) and gradients against float64."""
    from pydl.nn.functional.conv import conv2d_relu

    x, w, b, kw = _make(case, rng, dtype)
    px, pw, pb = _leaves(x, w, b)
    y = F.conv2d(px, pw, pb, **kw)
    ref = conv2d_ref(x, w, b, **kw)
    tol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=tol, atol=tol * np.abs(ref).max())
    np.testing.assert_array_equal(conv2d_relu(*_leaves(x, w, b), **kw).detach().numpy(),
                                  F.relu(y).detach().numpy())
    gy = rng.standard_normal(y.shape).astype(dtype)
    y.backward(pydl.tensor(gy))
    dx, dw, db = conv2d_grads_ref(x, w, gy, **kw)
    for got, want in ((px.grad, dx), (pw.grad, dw), (pb.grad, db)):
        np.testing.assert_allclose(got.numpy(), want, rtol=tol, atol=tol * np.abs(want).max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv2d_fused_relu_is_relu_of_conv2d(case, dtype, rng, path):
    """What Sequential runs for Conv2d + ReLU: the ReLU in the kernel's write-back (each path, with and
    without bias) gives the bits of relu(conv2d), and the same gradients."""
    from pydl.nn.functional.conv import conv2d_relu

    x, w, b, kw = _make(case, rng, dtype)
    for arrays in ((x, w, b), (x, w)):
        fused_in, plain_in = _leaves(*arrays), _leaves(*arrays)
        fused = conv2d_relu(*fused_in, **kw)
        plain = F.relu(F.conv2d(*plain_in, **kw))
        np.testing.assert_array_equal(fused.detach().numpy(), plain.detach().numpy())
        assert (fused.detach().numpy() == 0).any() and (fused.detach().numpy() > 0).any()
        gy = pydl.tensor(rng.standard_normal(fused.shape).astype(dtype))
        fused.backward(gy)
        plain.backward(gy)
        for a, c in zip(fused_in, plain_in):
            np.testing.assert_array_equal(a.grad.numpy(), c.grad.numpy())


@pytest.mark.parametrize("pool", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                  dict(kernel_size=2, stride=1, dilation=2), dict(kernel_size=3, ceil_mode=True)],
                         ids=["2x2", "3s2p1-overlapping", "dilated", "ceil"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sequential_conv_relu_max_pool_is_one_node_with_the_same_bits(pool, dtype, rng):
    """Sequential runs Conv2d, ReLU, MaxPool2d as one node (ReLU's mask on the pooled gradient): the
    output and every gradient have the bits of the three ops run apart."""
    x = rng.standard_normal((3, 2, 11, 11)).astype(dtype)
    x[0, 0, :3, :3] = -5.0  # windows whose maximum the ReLU sets to 0
    pydl.manual_seed(0)
    conv, pooling = nn.Conv2d(2, 4, 3, padding=1), nn.MaxPool2d(**pool)
    if dtype == np.float64:
        conv = conv.double()
    model = nn.Sequential(conv, nn.ReLU(), pooling)
    px, qx = pydl.tensor(x, requires_grad=True), pydl.tensor(x, requires_grad=True)
    fused = model(px)
    assert type(fused._node).__name__ == "Conv2d"
    params = [p.detach().clone().requires_grad_() for p in conv.parameters()]
    apart = F.max_pool2d(F.relu(F.conv2d(qx, *params, padding=1)), **pool)
    np.testing.assert_array_equal(fused.detach().numpy(), apart.detach().numpy())
    assert (apart.detach().numpy() == 0).any()
    gy = pydl.tensor(rng.standard_normal(fused.shape).astype(dtype))
    fused.backward(gy)
    apart.backward(gy)
    np.testing.assert_array_equal(px.grad.numpy(), qx.grad.numpy())
    for p, q in zip(conv.parameters(), params):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv2d_matches_torch_float32(case, rng, path):
    torch = pytest.importorskip("torch")
    x, w, b, kw = _make(case, rng, np.float32)
    px, pw, pb = _leaves(x, w, b)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(px, pw, pb, **kw)
    ty = torch.nn.functional.conv2d(tx, tw, tb, **kw)
    assert y.dtype == pydl.float32
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
    gy = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    y.backward(pydl.tensor(gy))
    ty.backward(torch.tensor(gy))
    for mine, theirs in ((px, tx), (pw, tw), (pb, tb)):
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-4, atol=1e-3)


def test_conv2d_large_image_is_processed_in_pixel_chunks(rng, path):
    # 3 * 3 * 3 rows of 8 bytes per output pixel: a 110 x 100 output overflows one 1 MiB col
    # buffer, so the kernels walk it in chunks that start and end mid-row.
    x, w, b, kw = _make((2, 3, 4, 110, 100, 3, 1, 1, 1, 1), rng)
    px, pw, pb = _leaves(x, w, b)
    y = F.conv2d(px, pw, pb, **kw)
    ref = conv2d_ref(x, w, b, **kw)
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-12, atol=1e-11)
    gy = rng.standard_normal(ref.shape)
    y.backward(pydl.tensor(gy))
    dx, dw, db = conv2d_grads_ref(x, w, gy, **kw)
    np.testing.assert_allclose(px.grad.numpy(), dx, rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(pw.grad.numpy(), dw, rtol=1e-11, atol=1e-9)
    np.testing.assert_allclose(pb.grad.numpy(), db, rtol=1e-11, atol=1e-9)


def test_conv2d_resnet_block_shape_float32_matches_torch(rng, path):
    torch = pytest.importorskip("torch")
    x, w, b, kw = _make((4, 16, 16, 16, 16, 3, 1, 1, 1, 1), rng, np.float32)
    px, pw, pb = _leaves(x, w, b)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y, ty = F.conv2d(px, pw, pb, **kw), torch.nn.functional.conv2d(tx, tw, tb, **kw)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
    y.sum().backward()  # the gradient arrives as a broadcast (stride-0) array
    ty.sum().backward()
    for mine, theirs in ((px, tx), (pw, tw), (pb, tb)):
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-4, atol=1e-3)


def test_conv2d_non_contiguous_operands(rng, path):
    base = rng.standard_normal((3, 4, 9, 14))
    wbase = rng.standard_normal((5, 3, 3, 4))
    x = pydl.tensor(base, requires_grad=True)
    w = pydl.tensor(wbase, requires_grad=True)
    xv = x[:, 1:, :, ::2].transpose(2, 3)      # (3, 3, 7, 9), strided and transposed
    wv = w.transpose(2, 3)                       # (5, 3, 4, 3)
    assert not xv.is_contiguous() and not wv.is_contiguous()
    y = F.conv2d(xv, wv, stride=(2, 1), padding=1)
    xn = base[:, 1:, :, ::2].transpose(0, 1, 3, 2)
    wn = wbase.transpose(0, 1, 3, 2)
    ref = conv2d_ref(xn, wn, stride=(2, 1), padding=1)
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-12, atol=1e-12)
    gy = rng.standard_normal(ref.shape)
    y.backward(pydl.tensor(gy))
    dx, dw, _ = conv2d_grads_ref(xn, wn, gy, stride=(2, 1), padding=1)
    gx = np.zeros_like(base)
    gx[:, 1:, :, ::2] = dx.transpose(0, 1, 3, 2)
    np.testing.assert_allclose(x.grad.numpy(), gx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), dw.transpose(0, 1, 3, 2), rtol=1e-12, atol=1e-12)


def test_conv2d_unbatched_input(rng):
    x, w, b, kw = _make((1, 3, 4, 7, 7, 3, 2, 1, 1, 1), rng)
    px, pw, pb = _leaves(x[0], w, b)
    y = F.conv2d(px, pw, pb, **kw)
    assert tuple(y.shape) == (4, 4, 4)
    np.testing.assert_allclose(y.detach().numpy(), conv2d_ref(x, w, b, **kw)[0], rtol=1e-12, atol=1e-12)
    gy = rng.standard_normal((1, 4, 4, 4))
    y.backward(pydl.tensor(gy[0]))
    dx, dw, db = conv2d_grads_ref(x, w, gy, **kw)
    np.testing.assert_allclose(px.grad.numpy(), dx[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pw.grad.numpy(), dw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pb.grad.numpy(), db, rtol=1e-12, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("padding,kernel,dilation", [("same", 3, 1), ("same", 4, 1), ("same", (2, 5), (1, 2)),
                                                     ("valid", 3, 1)])
def test_conv2d_string_padding_matches_torch(padding, kernel, dilation, rng):
    torch = pytest.importorskip("torch")
    kh, kw = _pair(kernel)
    x = rng.standard_normal((2, 3, 7, 8))
    w = rng.standard_normal((4, 3, kh, kw))
    px, pw = _leaves(x, w)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    y = F.conv2d(px, pw, padding=padding, dilation=dilation)
    ty = torch.nn.functional.conv2d(tx, tw, padding=padding, dilation=dilation)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    gy = rng.standard_normal(tuple(ty.shape))
    y.backward(pydl.tensor(gy))
    ty.backward(torch.tensor(gy))
    np.testing.assert_allclose(px.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pw.grad.numpy(), tw.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_conv2d_one_thread_and_all_threads_agree(rng, path):
    x, w, b, kw = _make((4, 3, 8, 12, 12, 3, 1, 1, 1, 1), rng)
    results = []
    before = pydl.get_num_threads()
    try:
        for threads in (1, max(before, 2)):
            pydl.set_num_threads(threads)
            px, pw, pb = _leaves(x, w, b)
            y = F.conv2d(px, pw, pb, **kw)
            y.backward(pydl.tensor(np.ones(tuple(y.shape))))
            results.append([y.detach().numpy(), px.grad.numpy(), pw.grad.numpy(), pb.grad.numpy()])
    finally:
        pydl.set_num_threads(before)
    for a, b_ in zip(*results):
        np.testing.assert_allclose(a, b_, rtol=1e-12, atol=1e-12)


def test_conv2d_nan_and_inf_reach_only_the_windows_that_see_them(path):
    torch = pytest.importorskip("torch")
    x = np.zeros((1, 1, 7, 7), np.float32)
    x[0, 0, 0, 0] = np.nan
    x[0, 0, 6, 6] = np.inf
    w = np.ones((2, 1, 3, 3), np.float32)
    y = F.conv2d(pydl.tensor(x), pydl.tensor(w), padding=1).numpy()
    ty = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ty))
    np.testing.assert_array_equal(np.isposinf(y), np.isposinf(ty))
    assert np.isnan(y[0, :, :2, :2]).all() and np.isposinf(y[0, :, 5:, 5:]).all()
    assert (y[0, :, 3, 3] == 0).all()


def test_conv2d_large_magnitudes_float32(rng):
    x = (rng.standard_normal((2, 3, 7, 7)) * 1e18).astype(np.float32)
    w = (rng.standard_normal((4, 3, 3, 3)) * 1e18).astype(np.float32)
    y = F.conv2d(pydl.tensor(x), pydl.tensor(w), padding=1).numpy()
    ref = conv2d_ref(x, w, padding=1)
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e33)


def test_conv2d_empty_batch():
    x = pydl.zeros((0, 3, 7, 7), requires_grad=True)
    w = pydl.ones((4, 3, 3, 3), requires_grad=True)
    y = F.conv2d(x, w, pydl.ones(4))
    assert tuple(y.shape) == (0, 4, 5, 5)
    y.sum().backward()
    assert tuple(x.grad.shape) == (0, 3, 7, 7)
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros((4, 3, 3, 3), np.float32))


def test_conv2d_gradients_only_where_asked(rng):
    x, w, b, kw = _make((2, 2, 3, 5, 5, 3, 1, 1, 1, 1), rng)
    px = pydl.tensor(x)
    pw = pydl.tensor(w, requires_grad=True)
    y = F.conv2d(px, pw, pydl.tensor(b), **kw)
    y.sum().backward()
    assert px.grad is None
    _, dw, _ = conv2d_grads_ref(x, w, np.ones(y.shape), **kw)
    np.testing.assert_allclose(pw.grad.numpy(), dw, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("kw", [
    dict(stride=1, padding=0),
    dict(stride=2, padding=1),
    dict(stride=(1, 2), padding=(2, 1), dilation=2),
    dict(padding=1, groups=2),
    dict(padding="same"),
], ids=["plain", "s2p1", "dil2", "groups2", "same"])
def test_conv2d_gradcheck(kw, rng, path):
    x = pydl.tensor(rng.uniform(-1, 1, (2, 2, 5, 5)), requires_grad=True)
    w = pydl.tensor(rng.uniform(-1, 1, (2, 2 // kw.get("groups", 1), 3, 2)), requires_grad=True)
    b = pydl.tensor(rng.uniform(-1, 1, 2), requires_grad=True)
    assert pydl.gradcheck(lambda a, c, d: F.conv2d(a, c, d, **kw), (x, w, b))


# ---------------------------------------------------------------------- errors
def _t(shape, dtype=pydl.float32):
    return pydl.zeros(shape, dtype=dtype)


@pytest.mark.parametrize("args,kwargs,exc,words", [
    ((_t((2, 3, 7, 7)), _t((4, 2, 3, 3))), {}, ValueError, ["conv2d", "(2, 3, 7, 7)", "(4, 2, 3, 3)", "3 channels"]),
    ((_t((2, 4, 7, 7)), _t((4, 3, 3, 3))), {"groups": 2}, ValueError, ["conv2d", "groups=2", "expects 6"]),
    ((_t((2, 3, 7, 7)), _t((5, 1, 3, 3))), {"groups": 3}, ValueError, ["conv2d", "not divisible by groups=3"]),
    ((_t((2, 3, 7, 7)), _t((4, 3, 3, 3))), {"groups": 0}, ValueError, ["conv2d", "groups"]),
    ((_t((3, 7, 7, 2, 1)), _t((4, 3, 3, 3))), {}, ValueError, ["conv2d", "4-d", "(3, 7, 7, 2, 1)"]),
    ((_t((7, 7)), _t((4, 3, 3, 3))), {}, ValueError, ["conv2d", "(7, 7)"]),
    ((_t((2, 3, 7, 7)), _t((4, 3, 3))), {}, ValueError, ["conv2d", "weight", "(4, 3, 3)"]),
    ((_t((2, 3, 2, 2)), _t((4, 3, 3, 3))), {}, ValueError, ["conv2d", "larger than the padded input"]),
    ((_t((2, 3, 5, 5)), _t((4, 3, 3, 3))), {"dilation": 3}, ValueError, ["conv2d", "7x7"]),
    ((_t((2, 3, 7, 7)), _t((4, 3, 3, 3)), _t((3,))), {}, ValueError, ["conv2d", "bias", "(4,)"]),
    ((_t((2, 3, 7, 7)), _t((4, 3, 3, 3))), {"stride": 0}, ValueError, ["conv2d", "stride", "positive"]),
    ((_t((2, 3, 7, 7)), _t((4, 3, 3, 3))), {"padding": -1}, ValueError, ["conv2d", "padding"]),
    ((_t((2, 3, 7, 7)), _t((4, 3, 3, 3))), {"padding": "same", "stride": 2}, ValueError, ["conv2d", "same"]),
    ((_t((2, 3, 7, 7)), _t((4, 3, 3, 3))), {"padding": "full"}, ValueError, ["conv2d", "'full'"]),
    ((_t((2, 3, 7, 7)), _t((4, 3, 3, 3))), {"stride": (1, 2, 3)}, RuntimeError, ["conv2d", "stride"]),
    ((_t((2, 3, 7, 7)), _t((4, 3, 3, 3), pydl.float64)), {}, TypeError, ["conv2d", "float32", "float64"]),
    ((_t((2, 3, 7, 7), pydl.int64), _t((4, 3, 3, 3), pydl.int64)), {}, TypeError, ["conv2d", "int64"]),
    ((np.zeros((2, 3, 7, 7)), _t((4, 3, 3, 3))), {}, TypeError, ["conv2d", "Tensor"]),
], ids=["channels", "channels-groups", "groups-divide", "groups-0", "rank-5", "rank-2", "weight-rank", "too-small",
        "dilated-too-small", "bias-shape", "stride-0", "padding-neg", "same-strided", "padding-str", "stride-triple",
        "dtype-mix", "int", "not-tensor"])
def test_conv2d_bad_arguments_raise(args, kwargs, exc, words):
    with pytest.raises(exc) as info:
        F.conv2d(*args, **kwargs)
    for word in words:
        assert word in str(info.value), str(info.value)


def test_conv2d_backward_rejects_a_gradient_of_the_wrong_shape():
    from pydl import _C
    with pytest.raises(ValueError, match="conv2d_backward_input.*expected a gradient of shape"):
        _C.conv2d_backward_input(_t((2, 4, 6, 6))._a, _t((4, 3, 3, 3))._a, (2, 3, 7, 7), [1, 1], [0, 0], [1, 1], 1)
    with pytest.raises(ValueError, match="conv2d_backward_weight.*expected a gradient of shape"):
        _C.conv2d_backward_weight(_t((2, 4, 6, 6))._a, _t((2, 3, 7, 7))._a, (4, 3, 3, 3), [1, 1], [0, 0], [1, 1], 1)


def test_conv2d_random_configurations_match_torch(path):
    """Many small random geometries (strides, dilations, paddings, groups, tiny images) in
    float64 against torch, forward and every gradient."""
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(7)
    checked = 0
    while checked < 15:
        g = int(r.integers(1, 4))
        n, ci, co = int(r.integers(1, 4)), g * int(r.integers(1, 4)), g * int(r.integers(1, 7))
        kh, kw, sh, sw, dh, dw = (int(v) for v in r.integers(1, 4, 6))
        h, w, ph, pw = int(r.integers(1, 10)), int(r.integers(1, 10)), int(r.integers(0, 3)), int(r.integers(0, 3))
        if h + 2 * ph < dh * (kh - 1) + 1 or w + 2 * pw < dw * (kw - 1) + 1:
            continue
        x, wt, b = r.standard_normal((n, ci, h, w)), r.standard_normal((co, ci // g, kh, kw)), r.standard_normal(co)
        kw_ = dict(stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw), groups=g)
        px, pw_, pb = _leaves(x, wt, b)
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, wt, b))
        y, ty = F.conv2d(px, pw_, pb, **kw_), torch.nn.functional.conv2d(tx, tw, tb, **kw_)
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12, err_msg=str(kw_))
        gy = r.standard_normal(tuple(ty.shape))
        y.backward(pydl.tensor(gy))
        ty.backward(torch.tensor(gy))
        for mine, theirs in ((px, tx), (pw_, tw), (pb, tb)):
            np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-12,
                                       err_msg=str(kw_))
        checked += 1


def test_conv2d_gradients_are_reproducible_run_to_run(rng, path):
    # Per-thread partial weight gradients are added in a fixed order: bit-identical results.
    x, w, b, kw = _make((8, 4, 8, 16, 16, 3, 1, 1, 1, 1), rng, np.float32)
    grads = []
    for _ in range(4):
        px, pw, pb = _leaves(x, w, b)
        F.conv2d(px, pw, pb, **kw).sum().backward()
        grads.append((px.grad.numpy(), pw.grad.numpy(), pb.grad.numpy()))
    for later in grads[1:]:
        for a, b_ in zip(grads[0], later):
            np.testing.assert_array_equal(a, b_)
