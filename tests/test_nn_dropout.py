"""pydl.nn.functional.dropout: the Philox mask (reproducible, a pure function of (seed,
offset + i)), keep rate, scaling, the backward's reuse of the mask, PyTorch's semantics."""
import math

import numpy as np
import pytest

import pydl
import pydl.nn.functional as F


def ones(n, dtype=pydl.float32, requires_grad=False):
    return pydl.tensor(np.ones(n), dtype=dtype, requires_grad=requires_grad)


def kept(y):
    return y.detach().numpy() != 0


def reference_mask(seed, offset, n, p):
    """Element i is kept iff the top 24 bits of Philox word (offset+i) % 4 of block (offset+i) // 4,
    keyed by the seed, are >= ceil(p * 2^24): i.e. iff the float32 uniform drawn there is >= p."""
    threshold = math.ceil(p * 2 ** 24)
    words = [pydl._C.philox((offset + i) >> 2, 0, seed)[(offset + i) & 3] for i in range(n)]
    return np.array([(w >> 8) >= threshold for w in words])


# ---------------------------------------------------------------------- the mask
def test_mask_is_philox_of_seed_and_offset():
    pydl.manual_seed(987654321)
    pydl.rand(5)  # move the offset: the next draw starts at 8 (offsets stay multiples of 4)
    seed, offset = pydl._C.rng_state()
    assert offset == 8
    y = F.dropout(ones(37), 0.3)
    np.testing.assert_array_equal(kept(y), reference_mask(seed, offset, 37, 0.3))
    assert pydl._C.rng_state() == (seed, offset + 40)  # 37 positions reserved, rounded up to 4


def test_mask_matches_rand_at_the_same_stream_positions():
    pydl.manual_seed(42)
    u = pydl.rand(10007).numpy()
    pydl.manual_seed(42)
    y = F.dropout(ones(10007), 0.37)
    np.testing.assert_array_equal(kept(y), u >= np.float32(0.37))


def test_reproducible_from_the_seed_and_fresh_on_each_call():
    x = pydl.randn(1000)
    pydl.manual_seed(5)
    a, b = F.dropout(x, 0.5), F.dropout(x, 0.5)
    pydl.manual_seed(5)
    a2, b2 = F.dropout(x, 0.5), F.dropout(x, 0.5)
    np.testing.assert_array_equal(a.numpy(), a2.numpy())
    np.testing.assert_array_equal(b.numpy(), b2.numpy())
    assert (kept(a) != kept(b)).sum() > 300  # consecutive calls draw different masks


def test_mask_does_not_depend_on_dtype_or_layout():
    x = np.random.default_rng(0).uniform(1, 2, size=(13, 21))
    pydl.manual_seed(11)
    m32 = kept(F.dropout(pydl.tensor(x, dtype=pydl.float32), 0.6))
    pydl.manual_seed(11)
    m64 = kept(F.dropout(pydl.tensor(x, dtype=pydl.float64), 0.6))
    np.testing.assert_array_equal(m32, m64)
    # Non-contiguous input: element i in logical (row-major) order takes stream position offset + i.
    xt = pydl.tensor(np.ascontiguousarray(x.T)).t()
    assert not xt.is_contiguous()
    pydl.manual_seed(11)
    yt = F.dropout(xt, 0.6)
    np.testing.assert_array_equal(kept(yt), m32)
    np.testing.assert_allclose(yt.numpy(), x * m32 / 0.4, rtol=1e-6)


def test_same_mask_with_one_thread_or_several():
    x = pydl.randn(300_001)  # above the grain: the threaded path
    prev = pydl.get_num_threads()
    try:
        pydl.set_num_threads(1)
        pydl.manual_seed(3)
        one = F.dropout(x, 0.25).numpy()
        pydl.set_num_threads(max(2, prev))
        pydl.manual_seed(3)
        many = F.dropout(x, 0.25).numpy()
    finally:
        pydl.set_num_threads(prev)
    np.testing.assert_array_equal(one, many)


# ---------------------------------------------------------------------- rate and scale
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_keep_rate_within_five_sigma(p):
    n = 200_003
    pydl.manual_seed(int(p * 100))
    k = kept(F.dropout(ones(n), p)).sum()
    mean, sigma = n * (1 - p), math.sqrt(n * p * (1 - p))
    assert abs(k - mean) < 5 * sigma, (k, mean, sigma)


@pytest.mark.parametrize("dtype", [pydl.float32, pydl.float64])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9, 0.999])
def test_kept_values_scaled_by_inverse_keep_probability(p, dtype):
    x = np.random.default_rng(1).uniform(0.5, 2.0, size=4099)  # never 0: a zero output means dropped
    pydl.manual_seed(17)
    y = F.dropout(pydl.tensor(x, dtype=dtype), p).numpy()
    m = y != 0
    assert 0 < m.sum() < 4099 or p == 0.999
    ref = (x * (1.0 / (1.0 - p))).astype(y.dtype)  # float64 reference, rounded to the dtype
    np.testing.assert_allclose(y[m], ref[m], rtol=2e-7 if dtype == pydl.float32 else 1e-15)
    assert (y[~m] == 0).all()


def test_p_close_to_one_keeps_few_and_scales_a_lot():
    p = 1 - 1e-3
    pydl.manual_seed(2)
    y = F.dropout(ones(100_000, dtype=pydl.float64), p).numpy()
    k = (y != 0).sum()
    assert abs(k - 100) < 5 * math.sqrt(100)
    np.testing.assert_allclose(y[y != 0], 1000.0, rtol=1e-9)


def test_p_one_gives_zeros_and_draws_nothing():
    x = pydl.tensor(np.arange(1.0, 8.0), requires_grad=True)
    state = pydl._C.rng_state()
    y = F.dropout(x, 1.0)
    assert pydl._C.rng_state() == state
    np.testing.assert_array_equal(y.detach().numpy(), np.zeros(7))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(7))


def test_p_zero_and_eval_return_the_input_unchanged():
    x = pydl.randn(4, 5, requires_grad=True)
    state = pydl._C.rng_state()
    assert F.dropout(x, 0.0) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0, training=False) is x
    assert pydl._C.rng_state() == state


def test_empty_input():
    y = F.dropout(pydl.zeros(0, 3), 0.5)
    assert tuple(y.shape) == (0, 3)


# ---------------------------------------------------------------------- backward
@pytest.mark.parametrize("p", [0.2, 0.7])
def test_backward_reuses_the_forward_mask(p):
    r = np.random.default_rng(4)
    x = pydl.tensor(r.uniform(1, 2, size=(33, 17)), requires_grad=True)
    g = r.standard_normal((33, 17)).astype(np.float32)
    pydl.manual_seed(21)
    y = F.dropout(x, p)
    F.dropout(pydl.ones(50), 0.5)  # a draw between forward and backward changes nothing
    y.backward(pydl.tensor(g))
    m = kept(y)
    np.testing.assert_allclose(x.grad.numpy(), g * m / np.float32(1 - p), rtol=1e-6)
    assert (x.grad.numpy()[~m] == 0).all()


def test_backward_of_non_contiguous_gradient():
    x = pydl.randn(8, 6, requires_grad=True)
    pydl.manual_seed(8)
    y = F.dropout(x, 0.5)
    y.sum().backward()  # the gradient reaching dropout is a broadcast (stride-0) view
    np.testing.assert_allclose(x.grad.numpy(), kept(y) * 2.0)


@pytest.mark.parametrize("p", [0.3, 0.8])
def test_gradcheck_with_a_fixed_seed(p):
    def fn(x):
        pydl.manual_seed(1234)  # every evaluation draws the same mask
        return F.dropout(x, p)

    x = pydl.tensor(np.random.default_rng(5).uniform(-1, 1, size=(4, 7)), dtype=pydl.float64, requires_grad=True)
    assert pydl.gradcheck(fn, (x,))


# ---------------------------------------------------------------------- extremes
def test_extreme_values_follow_input_times_mask_times_scale():
    # As PyTorch (input * mask * scale): a dropped inf or nan gives nan, a kept huge value overflows to inf.
    x = np.array([np.inf, -np.inf, np.nan, 3e38, -3e38, 1e-45, 0.0, -0.0] * 64, dtype=np.float32)
    pydl.manual_seed(9)
    y = F.dropout(pydl.tensor(x), 0.5).numpy()
    seed_mask = reference_mask(9, 0, x.size, 0.5)
    with np.errstate(invalid="ignore", over="ignore"):
        ref = x * (seed_mask.astype(np.float32) * np.float32(2.0))
    ref[np.abs(ref) < np.finfo(np.float32).tiny] *= 0  # pydl flushes denormals (signs kept)
    np.testing.assert_array_equal(y, ref)


# ---------------------------------------------------------------------- against PyTorch
def test_scale_and_gradient_agree_with_torch_where_both_keep():
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(6)
    x = r.uniform(0.5, 2.0, size=50_000).astype(np.float32)
    g = r.standard_normal(50_000).astype(np.float32)
    for p in (0.1, 0.5, 0.9):
        tx = torch.tensor(x, requires_grad=True)
        ty = torch.nn.functional.dropout(tx, p)
        ty.backward(torch.tensor(g))
        px = pydl.tensor(x, requires_grad=True)
        py = F.dropout(px, p)
        py.backward(pydl.tensor(g))
        both = (ty.detach().numpy() != 0) & kept(py)
        assert both.sum() > 200  # ~ n * (1 - p)^2
        np.testing.assert_allclose(py.detach().numpy()[both], ty.detach().numpy()[both], rtol=2e-7)
        np.testing.assert_allclose(px.grad.numpy()[both], tx.grad.numpy()[both], rtol=2e-7)
        # keep rates agree (5 sigma of the difference of two binomials)
        sigma = math.sqrt(2 * x.size * p * (1 - p))
        assert abs(kept(py).sum() - (ty.detach().numpy() != 0).sum()) < 5 * sigma
    # p = 1 and eval as torch
    t1 = torch.nn.functional.dropout(torch.tensor(x), 1.0).numpy()
    np.testing.assert_array_equal(F.dropout(pydl.tensor(x), 1.0).numpy(), t1)
    with pytest.raises(ValueError):
        torch.nn.functional.dropout(torch.tensor(x), 1.5)


# ---------------------------------------------------------------------- inplace
def test_inplace_without_grad_writes_into_the_input():
    x = pydl.tensor(np.full(64, 2.0, dtype=np.float32))
    pydl.manual_seed(3)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x
    pydl.manual_seed(3)
    np.testing.assert_array_equal(x.numpy(), F.dropout(pydl.full((64,), 2.0), 0.5).numpy())
    with pytest.raises(RuntimeError, match="dropout"):
        F.dropout(pydl.randn(4, requires_grad=True), 0.5, inplace=True)


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_p_outside_zero_one_raises(p):
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(pydl.randn(3), p)
    with pytest.raises(ValueError, match="dropout: expected a probability p in"):
        pydl._C.dropout(pydl.randn(3)._a, p)


def test_bad_inputs_raise_naming_the_op():
    with pytest.raises(TypeError, match="dropout: expected a float32 or float64 input, got int64"):
        F.dropout(pydl.tensor([1, 2, 3]), 0.5)
    mask = pydl._C.dropout(pydl.randn(4)._a, 0.5)[1]
    with pytest.raises(ValueError, match="dropout_backward: expected the gradient's shape"):
        pydl._C.dropout_backward(pydl.randn(5)._a, mask, 0.5)
    with pytest.raises(TypeError, match="dropout_backward: expected a bool mask, got float32"):
        pydl._C.dropout_backward(pydl.randn(4)._a, pydl.randn(4)._a, 0.5)
