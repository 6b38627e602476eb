"""cumsum, cumprod, logcumsumexp and prod: against float64 numpy and PyTorch, gradients exact through zeros,
integer promotion, empty dims, and the same bits on CUDA as on the CPU."""
import numpy as np
import pytest

import pydl


def _with_zeros(shape, seed=0):
    data = np.random.default_rng(seed).standard_normal(shape)
    flat = data.reshape(-1)
    flat[np.random.default_rng(seed + 1).choice(flat.size, max(1, flat.size // 8), replace=False)] = 0.0
    return data


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_forward_against_numpy(dim, device):
    data = np.random.default_rng(0).standard_normal((3, 4, 5))
    x = pydl.tensor(data, device=device)
    np.testing.assert_allclose(x.cumsum(dim).cpu().numpy(), np.cumsum(data, dim), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(x.cumprod(dim).cpu().numpy(), np.cumprod(data, dim), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(x.prod(dim).cpu().numpy(), np.prod(data, dim), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(pydl.prod(x, dim, keepdim=True).cpu().numpy(), np.prod(data, dim, keepdims=True),
                               rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("fn", ["cumsum", "cumprod", "prod"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gradients_through_zeros_match_pytorch(fn, dim, device):
    torch = pytest.importorskip("torch")
    data = _with_zeros((4, 6, 3))
    data[1, :, 0] = [0.0, 2.0, 0.0, 3.0, 0.5, 0.0]  # a row with several zeros
    x, t = pydl.tensor(data, device=device, requires_grad=True), torch.tensor(data, requires_grad=True)
    out, ref = getattr(x, fn)(dim), getattr(t, fn)(dim)
    weight = np.random.default_rng(5).standard_normal(tuple(ref.shape))
    (out * pydl.tensor(weight, device=device)).sum().backward()
    (ref * torch.tensor(weight)).sum().backward()
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(x.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_logcumsumexp_matches_pytorch(dim, device):
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(4).standard_normal((4, 6, 3)) * 30
    data[0, :, 0] = [-np.inf, -np.inf, 1.0, 1000.0, -1000.0, np.inf]
    x, t = pydl.tensor(data, device=device, requires_grad=True), torch.tensor(data, requires_grad=True)
    out, ref = x.logcumsumexp(dim), t.logcumsumexp(dim)
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-14)
    finite = pydl.tensor(np.random.default_rng(5).standard_normal((4, 6, 3)) * 30, device=device, requires_grad=True)
    tf = torch.tensor(finite.detach().cpu().numpy(), requires_grad=True)
    weight = np.random.default_rng(6).standard_normal((4, 6, 3))
    (pydl.logcumsumexp(finite, dim) * pydl.tensor(weight, device=device)).sum().backward()
    (tf.logcumsumexp(dim) * torch.tensor(weight)).sum().backward()
    np.testing.assert_allclose(finite.grad.cpu().numpy(), tf.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_running_extrema_match_pytorch(name, dim, device):
    torch = pytest.importorskip("torch")
    data = np.round(np.random.default_rng(7).standard_normal((5, 6, 3)), 1)  # ties
    data[1, 2, 0] = data[3, 1, 2] = np.nan
    x, t = pydl.tensor(data, device=device, requires_grad=True), torch.tensor(data, requires_grad=True)
    out, ref = getattr(x, name)(dim), getattr(t, name)(dim)
    np.testing.assert_array_equal(out.values.detach().cpu().numpy(), ref.values.detach().numpy())
    np.testing.assert_array_equal(out.indices.cpu().numpy(), ref.indices.numpy())
    weight = np.random.default_rng(8).standard_normal(data.shape)
    (out.values * pydl.tensor(weight, device=device)).sum().backward()
    (ref.values * torch.tensor(weight)).sum().backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), t.grad.numpy())
    ints = pydl.tensor([3, 1, 4, 1, 5, 9, 2, 6], dtype=pydl.uint8, device=device)
    mine, theirs = getattr(pydl, name)(ints, 0), getattr(torch, name)(torch.tensor([3, 1, 4, 1, 5, 9, 2, 6],
                                                                                    dtype=torch.uint8), 0)
    assert mine.values.dtype == pydl.uint8 and mine.values.tolist() == theirs.values.tolist()
    assert mine.indices.tolist() == theirs.indices.tolist()


def test_logcumsumexp_refuses_integers():
    with pytest.raises(TypeError, match="logcumsumexp"):
        pydl.tensor([1, 2]).logcumsumexp(0)


@pytest.mark.parametrize("fn", [lambda x: x.cumsum(1), lambda x: x.cumprod(0), lambda x: x.prod(1),
                                lambda x: x.logcumsumexp(1),
                                lambda x: pydl.prod(x), lambda x: pydl.cumprod(x * 2, -1)])
def test_gradcheck(fn):
    x = pydl.tensor(np.random.default_rng(3).uniform(0.5, 1.5, (3, 4)) * np.array([1, -1, 1, 0.0]),
                    requires_grad=True)  # a column of zeros
    assert pydl.gradcheck(fn, (x,))


def test_integers_scan_in_int64(device):
    b = pydl.tensor([True, False, True, True], device=device)
    assert b.cumsum(0).dtype == pydl.int64 and b.cumsum(0).tolist() == [1, 1, 2, 3]
    u = pydl.tensor([200, 100, 3], dtype=pydl.uint8, device=device)
    assert u.cumsum(0).tolist() == [200, 300, 303] and u.prod().tolist() == 60000
    big = pydl.tensor([3 ** 30, 3 ** 20, -1], device=device)
    wrapped = (3 ** 50 + 2 ** 63) % 2 ** 64 - 2 ** 63  # int64 wraps around, as PyTorch's
    assert big.cumprod(0).tolist() == [3 ** 30, wrapped, -wrapped]
    assert pydl.tensor([1.5, 2.0]).cumsum(0, dtype=pydl.float64).dtype == pydl.float64


def test_empty_and_0d(device):
    e = pydl.ones(2, 0, device=device)
    assert e.cumsum(1).shape == (2, 0) and e.prod(1).tolist() == [1.0, 1.0]
    assert pydl.tensor(3.0, device=device).cumsum(0).tolist() == 3.0
    assert pydl.prod(pydl.tensor([2.0, 3.0], device=device), keepdim=True).tolist() == [6.0]


def test_float32_accumulates_in_double():
    x = pydl.full((1 << 20,), 0.1)
    exact = np.cumsum(np.full(1 << 20, np.float32(0.1), dtype=np.float64)).astype(np.float32)
    np.testing.assert_array_equal(x.cumsum(0).numpy(), exact)


def test_bad_dim_raises():
    with pytest.raises(IndexError, match="cumsum: dim 2"):
        pydl.ones(2, 3).cumsum(2)
    with pytest.raises(TypeError, match="cumprod"):
        pydl.ones(2, dtype=pydl.float16).cumprod(0)


@pytest.mark.cuda
@pytest.mark.parametrize("shape, dim", [((5, 300), 1), ((300, 7), 0), ((4, 33, 9), 1)])
def test_cuda_gives_the_cpu_bits(shape, dim):
    data = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    for fn in ("cumsum", "cumprod", "prod", "logcumsumexp"):
        cpu = getattr(pydl.tensor(data), fn)(dim).numpy()
        gpu = getattr(pydl.tensor(data, device="cuda"), fn)(dim).cpu().numpy()
        np.testing.assert_array_equal(gpu, cpu)
