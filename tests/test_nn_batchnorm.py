"""pydl.nn.functional.batch_norm against a float64 numpy reference and PyTorch: forward,
backward, running statistics (updated in place, unbiased variance), extreme inputs,
gradcheck, non-contiguous inputs, errors."""
import numpy as np
import pytest

import pydl
import pydl.nn.functional as F

SHAPES = [(7, 5), (33, 19), (6, 3, 11), (5, 4, 3, 7)]


def reference(x, rm, rv, w, b, training, momentum, eps, g):
    """float64 numpy batch-norm: (y, new running mean, new running var, dx, dw, db)."""
    x, g = x.astype(np.float64), g.astype(np.float64)
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (1, -1) + (1,) * (x.ndim - 2)
    count = x.size // x.shape[1]
    w = np.ones(x.shape[1]) if w is None else w.astype(np.float64)
    b = np.zeros(x.shape[1]) if b is None else b.astype(np.float64)
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        rm = None if rm is None else (1 - momentum) * rm + momentum * mean
        rv = None if rv is None else (1 - momentum) * rv + momentum * var * count / (count - 1)
    else:
        mean, var = rm.astype(np.float64), rv.astype(np.float64)
    invstd = 1 / np.sqrt(var + eps)
    xhat = (x - mean.reshape(bshape)) * invstd.reshape(bshape)
    y = xhat * w.reshape(bshape) + b.reshape(bshape)
    db, dw = g.sum(axis=axes), (g * xhat).sum(axis=axes)
    if training:
        dx = (w * invstd).reshape(bshape) * (g - db.reshape(bshape) / count - xhat * dw.reshape(bshape) / count)
    else:
        dx = g * (w * invstd).reshape(bshape)
    return y, rm, rv, dx, dw, db


def make(shape, dtype, seed=0, offset=2.0, scale=3.0):
    r = np.random.default_rng(seed)
    c = shape[1]
    return dict(x=(r.standard_normal(shape) * scale + offset).astype(dtype), g=r.standard_normal(shape).astype(dtype),
                w=r.uniform(0.5, 1.5, c).astype(dtype), b=r.standard_normal(c).astype(dtype),
                rm=r.standard_normal(c).astype(dtype), rv=r.uniform(0.5, 2.0, c).astype(dtype))


def run_pydl(d, training, affine=True, momentum=0.1, eps=1e-5, stats=True):
    x = pydl.tensor(d["x"], requires_grad=True)
    w = pydl.tensor(d["w"], requires_grad=True) if affine else None
    b = pydl.tensor(d["b"], requires_grad=True) if affine else None
    rm = pydl.tensor(d["rm"].copy()) if stats else None
    rv = pydl.tensor(d["rv"].copy()) if stats else None
    y = F.batch_norm(x, rm, rv, w, b, training=training, momentum=momentum, eps=eps)
    y.backward(pydl.tensor(d["g"]))
    grads = [x.grad.numpy()] + ([w.grad.numpy(), b.grad.numpy()] if affine else [])
    return y.detach().numpy(), (rm.numpy() if stats else None), (rv.numpy() if stats else None), grads


# ---------------------------------------------------------------------- numpy reference
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_backward_running_stats_match_numpy(shape, training, affine, dtype):
    d = make(shape, dtype)
    y, rm, rv, grads = run_pydl(d, training, affine, momentum=0.3, eps=1e-3)
    ry, rrm, rrv, rdx, rdw, rdb = reference(d["x"], d["rm"].astype(np.float64), d["rv"].astype(np.float64),
                                            d["w"] if affine else None, d["b"] if affine else None, training, 0.3,
                                            1e-3, d["g"])
    tol = dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y, ry, **tol)
    np.testing.assert_allclose(grads[0], rdx, **tol)
    if affine:
        np.testing.assert_allclose(grads[1], rdw, **tol)
        np.testing.assert_allclose(grads[2], rdb, **tol)
    np.testing.assert_allclose(rm, rrm if training else d["rm"], **tol)
    np.testing.assert_allclose(rv, rrv if training else d["rv"], **tol)


def test_training_without_running_stats():
    d = make((9, 4, 5), np.float64)
    y, rm, rv, grads = run_pydl(d, True, stats=False)
    ry, _, _, rdx, rdw, rdb = reference(d["x"], None, None, d["w"], d["b"], True, 0.1, 1e-5, d["g"])
    np.testing.assert_allclose(y, ry, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads[0], rdx, rtol=1e-12, atol=1e-12)
    assert rm is None and rv is None


@pytest.mark.parametrize("shape", [(64, 16, 24, 24), (4099, 19)], ids=str)
def test_large_input_threaded_path_and_same_bits_for_any_thread_count(shape):
    d = make(shape, np.float32, seed=3)
    prev = pydl.get_num_threads()
    try:
        pydl.set_num_threads(1)
        one = run_pydl(d, True)
        pydl.set_num_threads(max(2, prev))
        many = run_pydl(d, True)
    finally:
        pydl.set_num_threads(prev)
    for a, b in zip([one[0], one[1], one[2]] + one[3], [many[0], many[1], many[2]] + many[3]):
        np.testing.assert_array_equal(a, b)
    ry, rrm, rrv, rdx, rdw, rdb = reference(d["x"], d["rm"].astype(np.float64), d["rv"].astype(np.float64), d["w"],
                                            d["b"], True, 0.1, 1e-5, d["g"])
    np.testing.assert_allclose(one[0], ry, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(one[3][0], rdx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(one[3][1], rdw, rtol=1e-4, atol=2e-2)  # sums of ~37000 products
    np.testing.assert_allclose(one[2], rrv, rtol=1e-5)


# ---------------------------------------------------------------------- extreme inputs
@pytest.mark.parametrize("offset,scale", [(1e4, 1e-1), (-3e3, 1e-2), (0.0, 1e18), (0.0, 1e-20)])
def test_numerically_safe_statistics_float32(offset, scale):
    # Far from zero mean (naive E[x^2] - E[x]^2 cancels), and magnitudes whose squares over- or underflow
    # float32 (eps = 0 for the tiny ones, so that the variance itself matters).
    d = make((40, 3, 33), np.float32, seed=7, offset=offset, scale=scale)
    y, rm, rv, grads = run_pydl(d, True, eps=0.0 if scale < 1e-10 else 1e-5)
    ry, rrm, rrv, rdx, _, _ = reference(d["x"], d["rm"].astype(np.float64), d["rv"].astype(np.float64), d["w"],
                                        d["b"], True, 0.1, 0.0 if scale < 1e-10 else 1e-5, d["g"])
    assert np.isfinite(y).all() and np.isfinite(rv).all()
    # float32 inputs hold ~7 digits of x - mean when |mean| >> std: compare at that resolution
    atol = 1e-5 + 4e-7 * abs(offset) / scale
    np.testing.assert_allclose(y, ry, rtol=1e-4, atol=atol)
    np.testing.assert_allclose(rv, rrv.astype(np.float32), rtol=1e-4)
    np.testing.assert_allclose(grads[0], rdx, rtol=1e-3, atol=atol * np.abs(rdx).max())


def test_constant_channel_gives_bias_and_finite_gradients():
    x = np.full((6, 2, 4), 3.5, dtype=np.float32)
    w, b = np.array([2.0, 3.0], np.float32), np.array([0.5, -1.0], np.float32)
    px, pw, pb = (pydl.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.batch_norm(px, None, None, pw, pb, training=True)
    np.testing.assert_array_equal(y.detach().numpy(), np.broadcast_to(b.reshape(1, 2, 1), x.shape))
    y.sum().backward()
    assert np.isfinite(px.grad.numpy()).all() and np.isfinite(pw.grad.numpy()).all()
    np.testing.assert_allclose(pb.grad.numpy(), [24.0, 24.0])


# ---------------------------------------------------------------------- running stats
def test_running_stats_updated_in_place_even_through_a_view():
    d = make((8, 3, 5), np.float64)
    rm = pydl.tensor(d["rm"].copy())
    ptr = rm.data_ptr()
    big = pydl.tensor(np.stack([d["rv"], np.zeros(3)], axis=1))  # rv is column 0: stride 2
    rv = big[:, 0]
    assert not rv.is_contiguous()
    F.batch_norm(pydl.tensor(d["x"]), rm, rv, training=True, momentum=0.25)
    _, rrm, rrv, *_ = reference(d["x"], d["rm"], d["rv"], None, None, True, 0.25, 1e-5, d["g"])
    assert rm.data_ptr() == ptr
    np.testing.assert_allclose(rm.numpy(), rrm, rtol=1e-13)
    np.testing.assert_allclose(big.numpy()[:, 0], rrv, rtol=1e-13)
    np.testing.assert_array_equal(big.numpy()[:, 1], 0.0)  # the other column untouched


def test_eval_leaves_running_stats_alone_and_momentum_none_is_fine_there():
    d = make((4, 3), np.float32)
    rm, rv = pydl.tensor(d["rm"].copy()), pydl.tensor(d["rv"].copy())
    F.batch_norm(pydl.tensor(d["x"]), rm, rv, training=False, momentum=None)
    np.testing.assert_array_equal(rm.numpy(), d["rm"])
    np.testing.assert_array_equal(rv.numpy(), d["rv"])


# ---------------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 5), (2, 3, 2, 3)], ids=str)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_gradcheck(shape, training):
    d = make(shape, np.float64, seed=11)
    x, w, b = (pydl.tensor(d[k], requires_grad=True) for k in ("x", "w", "b"))
    rm, rv = pydl.tensor(d["rm"]), pydl.tensor(d["rv"])
    assert pydl.gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=training), (x, w, b))
    assert pydl.gradcheck(lambda x: F.batch_norm(x, rm, rv, training=training) ** 2, (x,))


def test_gradcheck_weight_only_and_bias_only():
    d = make((5, 2, 3), np.float64, seed=12)
    x = pydl.tensor(d["x"], requires_grad=True)
    w, b = pydl.tensor(d["w"], requires_grad=True), pydl.tensor(d["b"], requires_grad=True)
    assert pydl.gradcheck(lambda w: F.batch_norm(x.detach(), None, None, w, None, training=True), (w,))
    assert pydl.gradcheck(lambda b: F.batch_norm(x.detach(), None, None, None, b, training=True), (b,))


# ---------------------------------------------------------------------- layouts
@pytest.mark.parametrize("view", ["permuted", "sliced", "transposed2d"])
def test_non_contiguous_input_and_gradient(view):
    r = np.random.default_rng(9)
    if view == "permuted":  # (N, C, H, W) made from an NHWC array
        base = r.standard_normal((4, 5, 6, 3))
        make_view = lambda t: t.permute(0, 3, 1, 2)  # noqa: E731
    elif view == "sliced":
        base = r.standard_normal((8, 3, 14))
        make_view = lambda t: t[::2, :, 1::2]  # noqa: E731
    else:
        base = r.standard_normal((5, 9))
        make_view = lambda t: t.t()  # noqa: E731
    x = make_view(pydl.tensor(base, requires_grad=True))
    assert not x.is_contiguous()
    xc = pydl.tensor(np.ascontiguousarray(make_view(pydl.tensor(base)).numpy()), requires_grad=True)
    c = x.shape[1]
    w = pydl.tensor(r.uniform(0.5, 1.5, c), requires_grad=True)
    g = r.standard_normal(tuple(x.shape))
    gt = pydl.tensor(np.ascontiguousarray(np.swapaxes(g, 0, 1))).transpose(0, 1)  # a strided gradient
    y = F.batch_norm(x, None, None, w, None, training=True)
    y.backward(gt)
    wgrad = w.grad.numpy().copy()
    w.grad = None
    yc = F.batch_norm(xc, None, None, w, None, training=True)
    yc.backward(pydl.tensor(g))
    np.testing.assert_allclose(y.detach().numpy(), yc.detach().numpy(), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(wgrad, w.grad.numpy(), rtol=1e-12)
    ry, _, _, rdx, _, _ = reference(xc.detach().numpy(), None, None, w.detach().numpy(), None, True, 0.1, 1e-5, g)
    np.testing.assert_allclose(yc.detach().numpy(), ry, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xc.grad.numpy(), rdx, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------- against PyTorch
@pytest.mark.parametrize("shape", SHAPES + [(2, 3, 1), (3, 2, 1, 1)], ids=str)
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_matches_torch_over_several_steps(shape, affine):
    torch = pytest.importorskip("torch")
    c = shape[1]
    r = np.random.default_rng(13)
    w0, b0 = r.uniform(0.5, 1.5, c).astype(np.float32), r.standard_normal(c).astype(np.float32)
    prm, prv = pydl.zeros(c), pydl.ones(c)
    trm, trv = torch.zeros(c), torch.ones(c)
    for step in range(4):
        training = step < 3
        x = (r.standard_normal(shape) * (1 + step) + step).astype(np.float32)
        g = r.standard_normal(shape).astype(np.float32)
        px, tx = pydl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        pw, tw = (pydl.tensor(w0, requires_grad=True), torch.tensor(w0, requires_grad=True)) if affine else (None, None)
        pb, tb = (pydl.tensor(b0, requires_grad=True), torch.tensor(b0, requires_grad=True)) if affine else (None, None)
        py = F.batch_norm(px, prm, prv, pw, pb, training=training, momentum=0.2, eps=1e-4)
        ty = torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, training=training, momentum=0.2, eps=1e-4)
        py.backward(pydl.tensor(g))
        ty.backward(torch.tensor(g))
        tol = dict(rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(py.detach().numpy(), ty.detach().numpy(), **tol)
        np.testing.assert_allclose(px.grad.numpy(), tx.grad.numpy(), **tol)
        if affine:
            np.testing.assert_allclose(pw.grad.numpy(), tw.grad.numpy(), **tol)
            np.testing.assert_allclose(pb.grad.numpy(), tb.grad.numpy(), **tol)
        np.testing.assert_allclose(prm.numpy(), trm.numpy(), **tol)
        np.testing.assert_allclose(prv.numpy(), trv.numpy(), **tol)


def test_batch_of_one_value_per_channel_raises_like_torch():
    torch = pytest.importorskip("torch")
    for shape in [(1, 3), (1, 3, 1), (1, 2, 1, 1)]:
        with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
            torch.nn.functional.batch_norm(torch.zeros(shape), None, None, training=True)
        with pytest.raises(ValueError, match=r"batch_norm: Expected more than 1 value per channel when training, "
                                             r"got input size \(1, "):
            F.batch_norm(pydl.zeros(*shape), None, None, training=True)
    # one sample with several positions, or evaluation, is fine
    F.batch_norm(pydl.randn(1, 3, 2), None, None, training=True)
    F.batch_norm(pydl.randn(1, 3), pydl.zeros(3), pydl.ones(3), training=False)


# ---------------------------------------------------------------------- errors
def test_bad_arguments_raise_naming_the_op():
    x = pydl.randn(4, 3)
    with pytest.raises(ValueError, match=r"batch_norm: expected running_mean of shape \(3,\) .* got shape \(4,\)"):
        F.batch_norm(x, pydl.zeros(4), pydl.ones(4), training=True)
    with pytest.raises(ValueError, match=r"batch_norm: expected weight of shape \(3,\)"):
        F.batch_norm(x, None, None, pydl.ones(3, 1), training=True)
    with pytest.raises(TypeError, match="batch_norm: expected bias of the input's dtype float32, got float64"):
        F.batch_norm(x, None, None, None, pydl.zeros(3, dtype=pydl.float64), training=True)
    with pytest.raises(TypeError, match="batch_norm: expected a float32 or float64 input, got int64"):
        F.batch_norm(pydl.tensor([[1, 2], [3, 4]]), None, None, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: expected an input of shape \(N, C\)"):
        F.batch_norm(pydl.randn(5), None, None, training=True)
    with pytest.raises(ValueError, match="batch_norm: expected running_mean and running_var in evaluation mode"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match="both given or both None"):
        F.batch_norm(x, pydl.zeros(3), None, training=True)
    with pytest.raises(ValueError, match="batch_norm: momentum=None"):
        F.batch_norm(x, pydl.zeros(3), pydl.ones(3), training=True, momentum=None)
    with pytest.raises(ValueError, match="batch_norm_backward: expected a gradient of the input's shape"):
        y, m, s = pydl._C.batch_norm(x._a, None, None, None, None, True, 0.1, 1e-5)
        pydl._C.batch_norm_backward(pydl.randn(4, 4)._a, x._a, m, s, None, True, True, False, False)
