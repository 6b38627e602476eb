"""fmod, remainder (%), floor_divide (//), div(rounding_mode=), isnan/isinf/isfinite,
isclose/allclose, lerp and logaddexp: PyTorch's results, dtypes and gradients."""
import numpy as np
import pytest

import pydl

A = [5, -5, 5, -5, 7, -7, 0, 9223372036854775807, -9223372036854775808, -9223372036854775808]
B = [3, 3, -3, -3, 2, 2, 5, 10, 7, -1]


@pytest.mark.parametrize("name", ["fmod", "remainder", "floor_divide"])
def test_integer_division_family_matches_pytorch(name, device):
    torch = pytest.importorskip("torch")
    a, b = pydl.tensor(A, device=device), pydl.tensor(B, device=device)
    out = getattr(pydl, name)(a, b)
    ref = getattr(torch, name)(torch.tensor(A), torch.tensor(B))
    assert out.dtype == pydl.int64 and out.cpu().tolist() == ref.tolist()


def test_operators_and_scalars(device):
    a = pydl.tensor([7, -7, 8], device=device)
    assert (a % 3).tolist() == [1, 2, 2] and (a // 3).tolist() == [2, -3, 2]
    assert (20 % a).tolist() == [6, -1, 4] and (20 // a).tolist() == [2, -3, 2]
    assert pydl.div(a, 2, rounding_mode="trunc").tolist() == [3, -3, 4]
    assert pydl.div(a, 2, rounding_mode="floor").tolist() == [3, -4, 4]
    u = pydl.tensor([250, 7], dtype=pydl.uint8, device=device)
    assert (u % 255).tolist() == [250, 7] and (u // 255).tolist() == [0, 0] and (u % 255).dtype == pydl.uint8


@pytest.mark.parametrize("name", ["fmod", "remainder", "floor_divide"])
def test_float_division_family_matches_pytorch(name, device):
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(0)
    a = np.concatenate([r.standard_normal(200) * 10, [0.0, -0.0, 5.0, -5.0, np.inf, -np.inf, np.nan, 1.0, 1e30]])
    b = np.concatenate([r.standard_normal(200) * 3, [3.0, 3.0, 0.0, -0.0, 2.0, 2.0, 1.0, np.inf, 1e-30]])
    for dtype in (np.float32, np.float64):
        pa, pb = pydl.tensor(a.astype(dtype), device=device), pydl.tensor(b.astype(dtype), device=device)
        out = getattr(pydl, name)(pa, pb)
        ref = getattr(torch, name)(torch.tensor(a.astype(dtype)), torch.tensor(b.astype(dtype)))
        mine, theirs = out.cpu().numpy(), ref.numpy()
        np.testing.assert_array_equal(mine, theirs)
        signed = ~np.isnan(theirs)  # a NaN's sign is not promised
        np.testing.assert_array_equal(np.signbit(mine[signed]), np.signbit(theirs[signed]))


def test_trunc_division_matches_pytorch():
    torch = pytest.importorskip("torch")
    a, b = np.array([7.5, -7.5, 1.0, -0.5]), np.array([2.0, 2.0, 3.0, 4.0])
    out = pydl.div(pydl.tensor(a), pydl.tensor(b), rounding_mode="trunc")
    ref = torch.div(torch.tensor(a), torch.tensor(b), rounding_mode="trunc")
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    np.testing.assert_array_equal(np.signbit(out.numpy()), np.signbit(ref.numpy()))


def test_integer_division_by_zero_raises():
    a = pydl.tensor([1, 2])
    for fn in (lambda: a // pydl.tensor([1, 0]), lambda: a % 0, lambda: pydl.fmod(a, pydl.tensor([0, 1])),
               lambda: pydl.div(a, 0, rounding_mode="trunc")):
        with pytest.raises(ZeroDivisionError, match="integer division by zero"):
            fn()
    assert (pydl.tensor([1.0]) // 0).tolist() == [float("inf")]  # floats: IEEE, as PyTorch


def test_bad_rounding_mode():
    with pytest.raises(ValueError, match="rounding_mode must be None, 'trunc' or 'floor', got 'round'"):
        pydl.div(pydl.ones(2), 2, rounding_mode="round")


@pytest.mark.parametrize("name", ["fmod", "remainder"])
def test_gradients_match_pytorch(name):
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(1)
    a, b = r.uniform(-10, 10, 20), r.uniform(0.5, 3, 20) * r.choice([-1, 1], 20)
    pa, pb = pydl.tensor(a, requires_grad=True), pydl.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    getattr(pydl, name)(pa, pb).sum().backward()
    getattr(torch, name)(ta, tb).sum().backward()
    np.testing.assert_array_equal(pa.grad.numpy(), ta.grad.numpy())
    np.testing.assert_array_equal(pb.grad.numpy(), tb.grad.numpy())
    assert pydl.gradcheck(lambda x, y: getattr(pydl, name)(x, y), (pa.detach().requires_grad_(),
                                                                     pb.detach().requires_grad_()))


def test_classification(device):
    x = pydl.tensor([1.0, float("nan"), float("inf"), float("-inf"), -0.0, 3e38], device=device)
    assert pydl.isnan(x).tolist() == [False, True, False, False, False, False]
    assert pydl.isinf(x).tolist() == [False, False, True, True, False, False]
    assert pydl.isfinite(x).tolist() == [True, False, False, False, True, True]
    assert pydl.isposinf(x).tolist() == [False, False, True, False, False, False]
    assert pydl.isneginf(x).tolist() == [False, False, False, True, False, False]
    ints = pydl.tensor([1, 2], device=device)
    assert ints.isfinite().tolist() == [True, True] and ints.isnan().tolist() == [False, False]


def test_isclose_and_allclose_match_pytorch():
    torch = pytest.importorskip("torch")
    a = np.array([1.0, 1.0 + 1e-6, 1.0 + 1e-4, np.inf, np.inf, np.nan, 0.0, 1e-9])
    b = np.array([1.0, 1.0, 1.0, np.inf, -np.inf, np.nan, 1e-9, 0.0])
    for kw in ({}, {"equal_nan": True}, {"rtol": 1e-3, "atol": 0.0}):
        assert pydl.isclose(pydl.tensor(a), pydl.tensor(b), **kw).tolist() == \
            torch.isclose(torch.tensor(a), torch.tensor(b), **kw).tolist()
    assert pydl.allclose(pydl.tensor([1.0, 2.0]), pydl.tensor([1.0, 2.0 + 1e-9]))
    assert not pydl.tensor([1.0, 2.0]).allclose(pydl.tensor([1.0, 2.1]))


def test_lerp_and_logaddexp_match_pytorch():
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(2)
    s, e, w = r.standard_normal(10), r.standard_normal(10), r.uniform(-0.5, 1.5, 10)
    for weight in (0.3, 0.75, 1.0):  # PyTorch's vector kernel fuses a multiply-add: equal to an ulp
        np.testing.assert_allclose(pydl.lerp(pydl.tensor(s), pydl.tensor(e), weight).numpy(),
                                   torch.lerp(torch.tensor(s), torch.tensor(e), weight).numpy(), rtol=1e-15, atol=1e-16)
    np.testing.assert_array_equal(pydl.lerp(pydl.tensor(s), pydl.tensor(e), 1.0).numpy(), e)  # the end, exactly
    np.testing.assert_allclose(pydl.tensor(s).lerp(pydl.tensor(e), pydl.tensor(w)).numpy(),
                               torch.lerp(torch.tensor(s), torch.tensor(e), torch.tensor(w)).numpy(), rtol=1e-15)
    a = np.array([1.0, 1000.0, -1000.0, np.inf, -np.inf, np.inf, 3.0])
    b = np.array([2.0, 999.0, -1001.0, np.inf, -np.inf, 1.0, np.nan])
    np.testing.assert_allclose(pydl.logaddexp(pydl.tensor(a), pydl.tensor(b)).numpy(),
                               torch.logaddexp(torch.tensor(a), torch.tensor(b)).numpy(), rtol=1e-15)
    x, y = (pydl.tensor(r.standard_normal(5), requires_grad=True) for _ in range(2))
    assert pydl.gradcheck(pydl.logaddexp, (x, y))
