"""nn.functional.linear (and the fused linear + ReLU) against numpy and PyTorch."""
import numpy as np
import pytest

import pydl
from conftest import assert_close
from pydl.nn.functional.linear import linear, linear_relu


def _inputs(rng, shape_x, out_features, dtype=np.float64):
    x = rng.standard_normal(shape_x).astype(dtype)
    w = rng.standard_normal((out_features, shape_x[-1])).astype(dtype)
    b = rng.standard_normal(out_features).astype(dtype)
    return x, w, b


@pytest.mark.parametrize("shape_x", [(5, 7), (1, 7), (2, 3, 7), (33, 130)])
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_linear_matches_numpy(rng, shape_x, dtype, tol):
    x, w, b = _inputs(rng, shape_x, 9, dtype)
    ref = x.astype(np.float64) @ w.astype(np.float64).T + b
    assert_close(linear(pydl.tensor(x), pydl.tensor(w), pydl.tensor(b)), ref, rtol=tol, atol=tol)
    assert_close(linear(pydl.tensor(x), pydl.tensor(w)), ref - b, rtol=tol, atol=tol)
    assert_close(linear_relu(pydl.tensor(x), pydl.tensor(w), pydl.tensor(b)), np.maximum(ref, 0), rtol=tol, atol=tol)


def test_linear_non_contiguous_operands(rng):
    x, w, b = _inputs(rng, (8, 6), 4)
    xt = pydl.tensor(np.ascontiguousarray(x.T)).T  # a transposed view
    wt = pydl.tensor(np.ascontiguousarray(w.T)).T
    assert not xt.is_contiguous() and not wt.is_contiguous()
    assert_close(linear(xt, wt, pydl.tensor(b)), x @ w.T + b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fn", [linear, linear_relu])
@pytest.mark.parametrize("shape_x", [(4, 5), (2, 3, 5)])
def test_linear_gradcheck(rng, fn, shape_x):
    x, w, b = (pydl.tensor(a, requires_grad=True) for a in _inputs(rng, shape_x, 3))
    assert pydl.gradcheck(fn, [x, w, b])
    assert pydl.gradcheck(lambda x, w: fn(x, w), [x, w])


def test_linear_matches_torch(rng):
    torch = pytest.importorskip("torch")
    x, w, b = _inputs(rng, (16, 20), 7, np.float32)
    px, pw, pb = (pydl.tensor(a, requires_grad=True) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    g = rng.standard_normal((16, 7)).astype(np.float32)
    linear_relu(px, pw, pb).backward(pydl.tensor(g))
    torch.relu(torch.nn.functional.linear(tx, tw, tb)).backward(torch.tensor(g))
    for p, t in ((px, tx), (pw, tw), (pb, tb)):
        assert_close(p.grad, t.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_linear_bad_shapes():
    with pytest.raises(ValueError, match=r"linear: input has 6 features.*weight expects 7"):
        linear(pydl.zeros(4, 6), pydl.zeros(3, 7))
    with pytest.raises(ValueError, match=r"linear: expected a float32 bias of shape \(3,\)"):
        linear(pydl.zeros(4, 7), pydl.zeros(3, 7), pydl.zeros(4))
    with pytest.raises(ValueError, match="linear: expected a 2-d weight"):
        linear(pydl.zeros(4, 7), pydl.zeros(7))
