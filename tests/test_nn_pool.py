"""max_pool2d, avg_pool2d and adaptive_avg_pool2d: forward and backward against float64
numpy references and torch.nn.functional; indices; NaN; gradcheck; argument errors."""
import math

import numpy as np
import pytest

import pydl
import pydl.nn.functional as F


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _out_size(n, k, s, p, d, ceil_mode):
    span = n + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


# ---------------------------------------------------------------------- numpy references (float64)
def max_pool_ref(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False):
    """(values, flat indices within each plane, dx for a gradient of ones) by plain loops."""
    (kh, kw), (ph, pw), (dh, dw) = _pair(kernel), _pair(padding), _pair(dilation)
    sh, sw = _pair(stride if stride is not None else kernel)
    *lead, h, w = x.shape
    planes = x.reshape(-1, h, w)
    oh, ow = _out_size(h, kh, sh, ph, dh, ceil_mode), _out_size(w, kw, sw, pw, dw, ceil_mode)
    vals = np.zeros((len(planes), oh, ow))
    idx = np.zeros((len(planes), oh, ow), np.int64)
    for p, plane in enumerate(planes):
        for i in range(oh):
            for j in range(ow):
                best, best_at = -np.inf, None
                for a in range(kh):
                    for b in range(kw):
                        r, c = i * sh - ph + a * dh, j * sw - pw + b * dw
                        if 0 <= r < h and 0 <= c < w:
                            v = plane[r, c]
                            if best_at is None or v > best or np.isnan(v):
                                best, best_at = v, r * w + c
                vals[p, i, j], idx[p, i, j] = best, best_at
    return vals.reshape(*lead, oh, ow), idx.reshape(*lead, oh, ow)


def max_pool_grad_ref(x_shape, idx, gy):
    h, w = x_shape[-2:]
    dx = np.zeros((int(np.prod(x_shape[:-2])), h * w))
    for p, (ip, gp) in enumerate(zip(idx.reshape(len(dx), -1), gy.reshape(len(dx), -1))):
        np.add.at(dx[p], ip, gp)
    return dx.reshape(x_shape)


def avg_pool_ref(x, kernel, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None):
    """(values, the matrix M with y = M @ x per plane, so dx = M.T @ gy) by plain loops."""
    (kh, kw), (ph, pw) = _pair(kernel), _pair(padding)
    sh, sw = _pair(stride if stride is not None else kernel)
    *lead, h, w = x.shape
    oh, ow = _out_size(h, kh, sh, ph, 1, ceil_mode), _out_size(w, kw, sw, pw, 1, ceil_mode)
    m = np.zeros((oh * ow, h * w))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * sh - ph, j * sw - pw
            r1, c1 = min(r0 + kh, h + ph), min(c0 + kw, w + pw)
            pool = (r1 - r0) * (c1 - c0)
            r0, c0, r1, c1 = max(r0, 0), max(c0, 0), min(r1, h), min(c1, w)
            div = divisor_override or (pool if count_include_pad else (r1 - r0) * (c1 - c0))
            for r in range(r0, r1):
                for c in range(c0, c1):
                    m[i * ow + j, r * w + c] = 1.0 / div
    y = (x.reshape(-1, h * w) @ m.T).reshape(*lead, oh, ow)
    return y, m


def adaptive_ref(x, out):
    *lead, h, w = x.shape
    oh, ow = out
    m = np.zeros((oh * ow, h * w))
    for i in range(oh):
        r0, r1 = (i * h) // oh, math.ceil((i + 1) * h / oh)
        for j in range(ow):
            c0, c1 = (j * w) // ow, math.ceil((j + 1) * w / ow)
            for r in range(r0, r1):
                for c in range(c0, c1):
                    m[i * ow + j, r * w + c] = 1.0 / ((r1 - r0) * (c1 - c0))
    return (x.reshape(-1, h * w) @ m.T).reshape(*lead, oh, ow), m


def distinct(shape, rng):
    """Values well apart (no ties in any window), shuffled."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.37 - n * 0.15).reshape(shape)


# ---------------------------------------------------------------------- max_pool2d
# (input shape, kernel_size, stride, padding, dilation, ceil_mode)
MAX_CASES = [
    ((3, 2, 7, 7), 2, None, 0, 1, False),           # LeNet's 2x2 on an odd image
    ((1, 3, 7, 7), 3, 2, 1, 1, False),              # ResNet's stem pool, batch 1
    ((2, 3, 7, 7), 2, 2, 0, 1, True),               # ceil_mode keeps the last partial window
    ((2, 2, 9, 8), 3, 2, 1, 2, False),              # dilation 2
    ((2, 2, 7, 9), (3, 2), (2, 1), (1, 0), (1, 2), True),
    ((3, 5, 6), 2, 1, 1, 1, False),                 # unbatched (C, H, W)
    ((2, 3, 5, 5), 5, 1, 2, 1, False),              # windows mostly padding
]
MAX_IDS = ["2x2", "3s2p1-b1", "ceil", "dil2", "asym", "unbatched", "pad-heavy"]


@pytest.mark.parametrize("case", MAX_CASES, ids=MAX_IDS)
def test_max_pool2d_matches_numpy(case, rng):
    shape, k, s, p, d, ceil = case
    x = distinct(shape, rng)
    px = pydl.tensor(x, requires_grad=True)
    y, idx = F.max_pool2d(px, k, s, p, d, ceil, return_indices=True)
    vals, ridx = max_pool_ref(x, k, s, p, d, ceil)
    np.testing.assert_array_equal(y.detach().numpy(), vals)
    assert idx.dtype == pydl.int64
    np.testing.assert_array_equal(idx.numpy(), ridx)
    gy = rng.standard_normal(vals.shape)
    y.backward(pydl.tensor(gy))
    np.testing.assert_allclose(px.grad.numpy(), max_pool_grad_ref(shape, ridx, gy), rtol=1e-15, atol=0)


@pytest.mark.parametrize("case", MAX_CASES, ids=MAX_IDS)
def test_max_pool2d_matches_torch(case, rng):
    torch = pytest.importorskip("torch")
    shape, k, s, p, d, ceil = case
    x = rng.standard_normal(shape).astype(np.float32)
    px, tx = pydl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, idx = F.max_pool2d(px, k, s, p, d, ceil, return_indices=True)
    ty, tidx = torch.nn.functional.max_pool2d(tx, k, s, p, d, ceil, return_indices=True)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    gy = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    y.backward(pydl.tensor(gy))
    ty.backward(torch.tensor(gy))
    np.testing.assert_allclose(px.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_max_pool2d_nan_and_infinities_as_torch():
    torch = pytest.importorskip("torch")
    x = np.array([[[[1.0, np.nan, 3.0, -np.inf],
                    [np.nan, 2.0, -np.inf, -np.inf],
                    [np.inf, 0.0, 5.0, 6.0],
                    [7.0, 8.0, np.nan, 1e38]]]], np.float32)
    px, tx = pydl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, idx = F.max_pool2d(px, 2, return_indices=True)
    ty, tidx = torch.nn.functional.max_pool2d(tx, 2, return_indices=True)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())  # NaN == NaN here
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    assert np.isnan(y.detach().numpy()[0, 0, 0, 0]) and y.detach().numpy()[0, 0, 0, 1] == 3.0
    assert y.detach().numpy()[0, 0, 1, 0] == np.inf
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(px.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4, 8, 40, 36), (3, 5, 10, 10), (2, 3, 9, 11), (2, 2, 28, 28), (1, 1, 2, 2)],
                         ids=str)
def test_max_pool2d_2x2_ties_and_nans(shape, dtype, rng):
    """2x2 windows at stride 2 (their own kernel): rows shorter and longer than a vector, odd sizes, planes
    split among threads; few distinct values (ties keep the first maximum) and NaNs (the last one wins),
    values and indices exactly as the reference, and the gradient through them."""
    x = rng.integers(0, 4, shape).astype(dtype)
    x[rng.random(shape) < 0.05] = np.nan
    x[rng.random(shape) < 0.05] = -np.inf
    px = pydl.tensor(x, requires_grad=True)
    y, idx = F.max_pool2d(px, 2, return_indices=True)
    vals, ridx = max_pool_ref(x, 2)
    np.testing.assert_array_equal(y.detach().numpy(), vals.astype(dtype))
    np.testing.assert_array_equal(idx.numpy(), ridx)
    gy = rng.standard_normal(vals.shape).astype(dtype)
    y.backward(pydl.tensor(gy))
    np.testing.assert_array_equal(px.grad.numpy(), max_pool_grad_ref(shape, ridx, gy).astype(dtype))


def test_max_pool2d_non_contiguous_input(rng):
    base = distinct((2, 3, 9, 16), rng)
    x = pydl.tensor(base, requires_grad=True)
    xv = x[:, :, 1:, ::2].transpose(2, 3)   # (2, 3, 8, 8)
    assert not xv.is_contiguous()
    y = F.max_pool2d(xv, 3, 2, 1)
    xn = base[:, :, 1:, ::2].transpose(0, 1, 3, 2)
    vals, ridx = max_pool_ref(xn, 3, 2, 1)
    np.testing.assert_array_equal(y.detach().numpy(), vals)
    y.sum().backward()
    g = np.zeros_like(base)
    g[:, :, 1:, ::2] = max_pool_grad_ref(xn.shape, ridx, np.ones(vals.shape)).transpose(0, 1, 3, 2)
    np.testing.assert_array_equal(x.grad.numpy(), g)


def test_max_pool2d_gradcheck(rng):
    x = pydl.tensor(distinct((2, 2, 5, 5), rng) * 0.1, requires_grad=True)
    assert pydl.gradcheck(lambda t: F.max_pool2d(t, 3, 2, 1), (x,))
    assert pydl.gradcheck(lambda t: F.max_pool2d(t, 2, 1, dilation=2, ceil_mode=True), (x,))


# ---------------------------------------------------------------------- avg_pool2d
# (input shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVG_CASES = [
    ((3, 2, 7, 7), 2, None, 0, False, True, None),
    ((1, 3, 7, 7), 3, 2, 1, False, True, None),
    ((2, 3, 7, 7), 3, 2, 1, False, False, None),     # padding left out of the divisor
    ((2, 2, 7, 7), 3, 2, 1, True, True, None),       # ceil_mode: a window clipped by the edge
    ((2, 2, 8, 7), 3, 2, 1, True, False, None),
    ((2, 2, 9, 7), (3, 2), (2, 1), (1, 0), False, True, None),
    ((2, 2, 7, 7), 2, 2, 1, False, True, 3),         # divisor_override
    ((3, 5, 6), 2, 1, 1, False, True, None),         # unbatched
]
AVG_IDS = ["2x2", "3s2p1-b1", "no-pad-count", "ceil", "ceil-no-pad", "asym", "divisor", "unbatched"]


@pytest.mark.parametrize("case", AVG_CASES, ids=AVG_IDS)
def test_avg_pool2d_matches_numpy(case, rng):
    shape, k, s, p, ceil, cip, div = case
    x = rng.standard_normal(shape)
    px = pydl.tensor(x, requires_grad=True)
    y = F.avg_pool2d(px, k, s, p, ceil, cip, div)
    ref, m = avg_pool_ref(x, k, s, p, ceil, cip, div)
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-13, atol=1e-14)
    gy = rng.standard_normal(ref.shape)
    y.backward(pydl.tensor(gy))
    dx = (gy.reshape(-1, m.shape[0]) @ m).reshape(shape)
    np.testing.assert_allclose(px.grad.numpy(), dx, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("case", AVG_CASES, ids=AVG_IDS)
def test_avg_pool2d_matches_torch(case, rng):
    torch = pytest.importorskip("torch")
    shape, k, s, p, ceil, cip, div = case
    x = rng.standard_normal(shape).astype(np.float32)
    px, tx = pydl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = F.avg_pool2d(px, k, s, p, ceil, cip, div)
    ty = torch.nn.functional.avg_pool2d(tx, k, s, p, ceil, cip, div)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-6, atol=1e-6)
    gy = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    y.backward(pydl.tensor(gy))
    ty.backward(torch.tensor(gy))
    np.testing.assert_allclose(px.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_avg_pool2d_non_contiguous_input_and_gradcheck(rng):
    base = rng.standard_normal((2, 2, 7, 12))
    x = pydl.tensor(base, requires_grad=True)
    y = F.avg_pool2d(x[:, :, :, ::2].transpose(2, 3), 3, 2, 1)
    ref, m = avg_pool_ref(base[:, :, :, ::2].transpose(0, 1, 3, 2), 3, 2, 1)
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-13, atol=1e-14)
    small = pydl.tensor(rng.uniform(-1, 1, (2, 2, 5, 5)), requires_grad=True)
    assert pydl.gradcheck(lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), (small,))
    assert pydl.gradcheck(lambda t: F.avg_pool2d(t, 2), (small,))


# ---------------------------------------------------------------------- adaptive_avg_pool2d
@pytest.mark.parametrize("shape,out", [((2, 3, 7, 7), 1), ((2, 3, 7, 7), (3, 2)), ((2, 3, 7, 5), (None, 2)),
                                       ((1, 2, 7, 7), 5), ((3, 4, 6), 4), ((2, 3, 4, 4), 6)],
                         ids=["global", "3x2", "none", "5-overlap", "unbatched", "upsample"])
def test_adaptive_avg_pool2d_matches_numpy_and_torch(shape, out, rng):
    x = rng.standard_normal(shape)
    px = pydl.tensor(x, requires_grad=True)
    y = F.adaptive_avg_pool2d(px, out)
    full = tuple(shape[-2 + i] if o is None else o for i, o in enumerate(_pair(out)))
    ref, m = adaptive_ref(x, full)
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-13, atol=1e-14)
    gy = rng.standard_normal(ref.shape)
    y.backward(pydl.tensor(gy))
    np.testing.assert_allclose(px.grad.numpy(), (gy.reshape(-1, m.shape[0]) @ m).reshape(shape), rtol=1e-13,
                               atol=1e-14)
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.adaptive_avg_pool2d(tx, out)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    ty.backward(torch.tensor(gy))
    np.testing.assert_allclose(px.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_adaptive_avg_pool2d_gradcheck(rng):
    x = pydl.tensor(rng.uniform(-1, 1, (2, 2, 5, 4)), requires_grad=True)
    assert pydl.gradcheck(lambda t: F.adaptive_avg_pool2d(t, (3, 3)), (x,))
    assert pydl.gradcheck(lambda t: F.adaptive_avg_pool2d(t, 1), (x,))


def test_pooling_float32_keeps_dtype(rng):
    x = pydl.tensor(rng.standard_normal((2, 3, 8, 8)).astype(np.float32))
    for y in (F.max_pool2d(x, 2), F.avg_pool2d(x, 2), F.adaptive_avg_pool2d(x, 1)):
        assert y.dtype == pydl.float32


# ---------------------------------------------------------------------- errors
def _x(shape=(2, 3, 7, 7), dtype=pydl.float32):
    return pydl.zeros(shape, dtype=dtype)


@pytest.mark.parametrize("fn,exc,words", [
    (lambda: F.max_pool2d(_x(), 3, padding=2), ValueError, ["max_pool2d", "half of the kernel size"]),
    (lambda: F.avg_pool2d(_x(), 2, padding=2), ValueError, ["avg_pool2d", "half of the kernel size"]),
    (lambda: F.max_pool2d(_x((2, 3, 1, 1)), 2), ValueError, ["max_pool2d", "too small", "(2, 3, 1, 1)"]),
    (lambda: F.max_pool2d(_x((7, 7)), 2), ValueError, ["max_pool2d", "(7, 7)"]),
    (lambda: F.max_pool2d(_x(), 0), ValueError, ["max_pool2d", "kernel_size", "positive"]),
    (lambda: F.max_pool2d(_x(), 2, stride=0), ValueError, ["max_pool2d", "stride"]),
    (lambda: F.max_pool2d(_x(), 2, dilation=0), ValueError, ["max_pool2d", "dilation"]),
    (lambda: F.max_pool2d(_x(), (2, 2, 2)), RuntimeError, ["max_pool2d", "kernel_size"]),
    (lambda: F.max_pool2d(_x(dtype=pydl.bool), 2), TypeError, ["max_pool2d", "bool"]),
    (lambda: F.avg_pool2d(_x(dtype=pydl.int64), 2), TypeError, ["avg_pool2d", "int64"]),
    (lambda: F.avg_pool2d(_x(), 2, divisor_override=0), ValueError, ["avg_pool2d", "divisor_override"]),
    (lambda: F.adaptive_avg_pool2d(_x(), 0), ValueError, ["adaptive_avg_pool2d", "output_size"]),
    (lambda: F.adaptive_avg_pool2d(_x((3, 7)), 1), ValueError, ["adaptive_avg_pool2d", "(3, 7)"]),
    (lambda: F.max_pool2d(np.zeros((2, 3, 4, 4)), 2), TypeError, ["max_pool2d", "Tensor"]),
], ids=["max-pad", "avg-pad", "too-small", "rank", "kernel-0", "stride-0", "dilation-0", "kernel-triple",
        "max-bool", "avg-int", "divisor-0", "adaptive-0", "adaptive-rank", "not-tensor"])
def test_pooling_bad_arguments_raise(fn, exc, words):
    with pytest.raises(exc) as info:
        fn()
    for word in words:
        assert word in str(info.value), str(info.value)


def test_max_pool2d_window_wholly_in_the_padding_as_torch():
    # Dilation 2 with padding 1 on a 1-row image: the only row tap of each window falls
    # outside, so the window is empty: -inf, PyTorch's past-the-plane index, no gradient.
    torch = pytest.importorskip("torch")
    x = np.array([[[[1.0, -2.0, 3.0]]]], np.float32)
    kw = dict(kernel_size=(2, 1), stride=1, padding=(1, 0), dilation=(2, 1), return_indices=True)
    px, tx = pydl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, idx = F.max_pool2d(px, **kw)
    ty, tidx = torch.nn.functional.max_pool2d(tx, **kw)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    assert np.isneginf(y.detach().numpy()).all()
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    y.sum().backward()
    np.testing.assert_array_equal(px.grad.numpy(), np.zeros_like(x))


def test_max_pool2d_backward_checks_shapes_and_ignores_indices_past_the_plane():
    from pydl import _C
    g = pydl.ones((1, 1, 2, 2))
    idx = pydl.tensor(np.array([[[[0, 1], [1, 99]]]], np.int64))
    dx = _C.max_pool2d_backward(g._a, idx._a, (1, 1, 4, 4)).numpy()
    assert dx.reshape(-1).tolist() == [1.0, 2.0] + [0.0] * 14
    with pytest.raises(ValueError, match="max_pool2d_backward"):
        _C.max_pool2d_backward(g._a, idx._a, (1, 2, 4, 4))
    with pytest.raises(TypeError, match="max_pool2d_backward: expected int64 indices"):
        _C.max_pool2d_backward(g._a, g._a, (1, 1, 4, 4))


def test_pooling_random_configurations_match_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    r = np.random.default_rng(11)
    checked = 0
    while checked < 30:
        kh, kw, sh, sw, dh, dw = (int(v) for v in r.integers(1, 4, 6))
        ph, pw = int(r.integers(0, kh // 2 + 1)), int(r.integers(0, kw // 2 + 1))
        h, w, ceil = int(r.integers(1, 10)), int(r.integers(1, 10)), bool(r.integers(0, 2))
        if _out_size(h, kh, sh, ph, dh, ceil) < 1 or _out_size(w, kw, sw, pw, dw, ceil) < 1:
            continue
        x = r.standard_normal((2, 3, h, w))
        px, tx = pydl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        args = ((kh, kw), (sh, sw), (ph, pw))
        y, idx = F.max_pool2d(px, *args, (dh, dw), ceil, return_indices=True)
        ty, tidx = tf.max_pool2d(tx, *args, (dh, dw), ceil, return_indices=True)
        np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy(), err_msg=str(args))
        np.testing.assert_array_equal(idx.numpy(), tidx.numpy(), err_msg=str(args))
        if _out_size(h, kh, sh, ph, 1, ceil) >= 1 and _out_size(w, kw, sw, pw, 1, ceil) >= 1:
            cip = bool(r.integers(0, 2))
            a, ta = F.avg_pool2d(px, *args, ceil, cip), tf.avg_pool2d(tx, *args, ceil, cip)
            np.testing.assert_allclose(a.detach().numpy(), ta.detach().numpy(), rtol=1e-12, atol=1e-12)
            (y.sum() + a.sum()).backward()
            (ty.sum() + ta.sum()).backward()
        else:
            y.sum().backward()
            ty.sum().backward()
        np.testing.assert_allclose(px.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12, err_msg=str(args))
        checked += 1


@pytest.mark.parametrize("dtype", ["uint8", "int64"])
def test_max_pool2d_of_integers_matches_pytorch(dtype, device):
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(3).integers(0, 250, (2, 3, 7, 6)).astype(dtype)
    if dtype == "int64":
        data[0, 0, 0, 0] = -(2 ** 52)
    x = pydl.tensor(data, device=device)
    out, idx = F.max_pool2d(x, 3, stride=2, padding=1, return_indices=True)
    ref, ref_idx = torch.nn.functional.max_pool2d(torch.tensor(data), 3, stride=2, padding=1, return_indices=True)
    assert out.dtype == x.dtype and out.cpu().tolist() == ref.tolist() and idx.cpu().tolist() == ref_idx.tolist()
    with pytest.raises(ValueError, match="beyond 2\\*\\*53"):
        F.max_pool2d(pydl.tensor([[[[2 ** 60, 1], [2, 3]]]]), 2)
