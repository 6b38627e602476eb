"""Tensor's own attributes: metadata (shape, size, dim, dtype, device), to() and the cast methods,
repr."""
import pytest

import pydl


def test_metadata(device):
    x = pydl.zeros(2, 3, 4, dtype=pydl.float64, device=device)
    assert x.shape == (2, 3, 4) and isinstance(x.shape, tuple)
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert x.shape.numel() == 24 and x.numel() == 24
    assert x.dim() == 3 and x.ndim == 3 and len(x) == 2
    assert x.dtype == pydl.float64 and x.dtype is pydl.double
    assert x.device == pydl.device(device) and x.device.type == pydl.device(device).type
    assert x.is_floating_point() and not pydl.zeros(1, dtype=pydl.int64).is_floating_point()
    assert repr(pydl.float32) == "pydl.float32"
    with pytest.raises(IndexError, match="size"):
        x.size(3)
    assert [r.shape for r in x] == [(3, 4), (3, 4)]


def test_to_and_casts(device):
    x = pydl.tensor([1.5, -2.5, 3.0], device=device)
    assert x.to(pydl.float32) is x and x.to(device) is x
    d = x.to(pydl.float64)
    assert d.dtype == pydl.float64 and d.tolist() == [1.5, -2.5, 3.0]
    assert x.double().dtype == pydl.float64 and x.double().float().dtype == pydl.float32
    assert x.long().dtype == pydl.int64 and x.long().tolist() == [1, -2, 3]
    assert x.to(dtype=pydl.int64).tolist() == [1, -2, 3]
    assert x.to(device, pydl.float64).dtype == pydl.float64
    assert x.to(pydl.zeros(1, dtype=pydl.uint8)).dtype == pydl.uint8
    assert x.bool().tolist() == [True, True, True]
    assert pydl.tensor([0, 2]).bool().tolist() == [False, True]
    assert x.cpu().device == pydl.device("cpu")
    c = x.to(pydl.float64)
    c[0] = 0.0
    assert x[0].item() == 1.5  # a cast is a copy
    with pytest.raises(TypeError):
        x.to(pydl.float32, foo=1)


def test_repr_is_readable():
    r = repr(pydl.tensor([1.5, 2.25, -3.0]))
    assert r.startswith("tensor(") and "1.5" in r and "2.25" in r and "-3." in r
    assert "dtype" not in r
    r = repr(pydl.tensor([[1, 2], [3, 4]]))
    assert "[[1, 2]," in r and "[3, 4]]" in r
    r = repr(pydl.tensor([1.0], dtype=pydl.float64))
    assert "dtype=pydl.float64" in r
    assert "requires_grad=True" in repr(pydl.ones(2, requires_grad=True))
    assert repr(pydl.tensor(3.5)) == "tensor(3.5)"
    assert "grad_fn" in repr(pydl.ones(2, requires_grad=True) * 2)
    big = repr(pydl.arange(10_000))
    assert "..." in big and len(big) < 500
    assert str(pydl.tensor([True, False])) == "tensor([ True, False])"


def test_methods_are_the_op_functions():
    """Tensor's op methods are declared in its class body and, once looked up, are the functions
    themselves: x.exp() and pydl.exp(x) are the same call."""
    x = pydl.tensor([1.0, 2.0])
    assert (x + 1).tolist() == [2.0, 3.0] and (1 - x).tolist() == [0.0, -1.0]
    for name, fn in (("exp", pydl.exp), ("sum", pydl.sum), ("reshape", pydl.reshape), ("__add__", pydl.add),
                     ("__matmul__", pydl.matmul), ("clip", pydl.clamp), ("gather", pydl.gather)):
        assert name in vars(pydl.Tensor)
        assert getattr(pydl.Tensor, name) is fn and vars(pydl.Tensor)[name] is fn
