"""Tensor creation against numpy: pydl.tensor (dtype inference, copies, bad input), zeros / ones /
full / eye / arange / linspace / empty, the *_like functions."""
import numpy as np
import pytest

import pydl
from conftest import assert_close

FLOATS = [pydl.float32, pydl.float64]


def ids(dtype):
    return dtype.name


def test_tensor_dtype_inference(device):
    cases = [
        ([1.5, 2.0], pydl.float32), ([1, 2], pydl.int64), ([True, False], pydl.bool), (3.0, pydl.float32),
        (3, pydl.int64), (True, pydl.bool), ([1, 2.5], pydl.float32), ([[1, 2], [3, 4]], pydl.int64),
        (np.array([1.0, 2.0]), pydl.float64), (np.array([1.0], np.float32), pydl.float32),
        (np.array([1, 2], np.int32), pydl.int32), (np.array([1, 2], np.int16), pydl.int64), (np.array([1, 2], np.uint8), pydl.uint8),
        (np.array([True]), pydl.bool), (np.float64(2.0), pydl.float64), ([], pydl.float32),
    ]
    for data, dtype in cases:
        t = pydl.tensor(data, device=device)
        assert t.dtype == dtype, (data, t.dtype)
        assert t.shape == np.asarray(data).shape, (data, t.shape)
        np.testing.assert_array_equal(t.cpu().numpy(), np.asarray(data))
    assert pydl.tensor([1, 2], dtype=pydl.float64).dtype == pydl.float64
    assert pydl.tensor([1.7, -1.7], dtype=pydl.int64).tolist() == [1, -1]
    assert pydl.tensor(2.5, dtype=float).dtype == pydl.float64
    assert pydl.Tensor([1.0, 2.0]).tolist() == [1.0, 2.0]


def test_zero_dim_tensors(device):
    t = pydl.tensor(3.5, device=device)
    assert t.shape == () and t.dim() == 0 and t.numel() == 1
    assert t.item() == 3.5 and t.tolist() == 3.5
    assert (t * pydl.ones(2, device=device)).shape == (2,)
    assert pydl.tensor(np.float32(1.5)).shape == ()
    with pytest.raises(TypeError, match="0-d"):
        len(t)


def test_tensor_copies_its_data():
    a = np.array([1.0, 2.0])
    t = pydl.tensor(a)
    a[0] = 100.0
    assert t.tolist() == [1.0, 2.0]
    b = pydl.tensor(t)
    b[0] = 5.0
    assert t[0].item() == 1.0
    nc = np.arange(12.0).reshape(3, 4).T  # non-contiguous numpy input
    assert_close(pydl.tensor(nc), nc, 0, 0)


def test_tensor_bad_input():
    with pytest.raises(TypeError):
        pydl.tensor([[1, 2], [3]])
    with pytest.raises(TypeError):
        pydl.tensor("abc")
    with pytest.raises(TypeError, match="None"):
        pydl.tensor(None)
    with pytest.raises(TypeError, match="None"):
        pydl.tensor([1.0, None])


@pytest.mark.parametrize("dtype", FLOATS + [pydl.int64], ids=ids)
def test_creation_functions(dtype, device):
    assert_close(pydl.zeros(2, 3, dtype=dtype, device=device), np.zeros((2, 3)), 0, 0)
    assert_close(pydl.zeros((2, 3), dtype=dtype, device=device), np.zeros((2, 3)), 0, 0)
    assert_close(pydl.ones(4, dtype=dtype, device=device), np.ones(4), 0, 0)
    assert_close(pydl.full((2, 2), 7, dtype=dtype, device=device), np.full((2, 2), 7), 0, 0)
    assert_close(pydl.eye(3, dtype=dtype, device=device), np.eye(3), 0, 0)
    assert_close(pydl.eye(2, 4, dtype=dtype, device=device), np.eye(2, 4), 0, 0)
    assert_close(pydl.eye(4, 2, dtype=dtype, device=device), np.eye(4, 2), 0, 0)
    assert_close(pydl.arange(5, dtype=dtype, device=device), np.arange(5), 0, 0)
    assert_close(pydl.arange(2, 11, 3, dtype=dtype, device=device), np.arange(2, 11, 3), 0, 0)
    assert_close(pydl.arange(5, 0, -2, dtype=dtype, device=device), np.arange(5, 0, -2), 0, 0)
    for fn in (pydl.zeros, pydl.ones, pydl.empty):
        t = fn(2, 3, dtype=dtype, device=device)
        assert t.shape == (2, 3) and t.dtype == dtype and t.device == pydl.device(device)
        assert not t.requires_grad
    assert pydl.zeros(0, 3, dtype=dtype, device=device).shape == (0, 3)
    assert pydl.zeros((), dtype=dtype, device=device).shape == ()


def test_creation_defaults_and_requires_grad(device):
    assert pydl.zeros(2).dtype == pydl.float32 and pydl.ones(2).dtype == pydl.float32
    assert pydl.empty(2).dtype == pydl.float32
    assert pydl.full((2,), 7).dtype == pydl.int64
    assert pydl.full((2,), 1.5).dtype == pydl.float32
    assert pydl.full((2,), True).dtype == pydl.bool
    assert pydl.arange(5).dtype == pydl.int64 and pydl.arange(5.0).dtype == pydl.float32
    assert pydl.arange(0, 1, 0.25).tolist() == [0.0, 0.25, 0.5, 0.75]
    assert pydl.arange(0, 1, 0.1).shape == (10,)
    assert pydl.eye(2).dtype == pydl.float32
    for t in (pydl.zeros(2, requires_grad=True, device=device), pydl.ones(2, 2, requires_grad=True, device=device),
              pydl.full((3,), 2.0, requires_grad=True, device=device),
              pydl.empty(3, dtype=pydl.float64, requires_grad=True, device=device),
              pydl.eye(2, requires_grad=True, device=device), pydl.arange(3.0, requires_grad=True, device=device),
              pydl.linspace(0, 1, 3, requires_grad=True, device=device)):
        assert t.requires_grad and t.is_leaf
    with pytest.raises(RuntimeError, match="floating"):
        pydl.zeros(2, dtype=pydl.int64, requires_grad=True)
    with pytest.raises(ValueError, match="step"):
        pydl.arange(0, 5, 0)
    with pytest.raises(ValueError, match="negative"):
        pydl.zeros(-1)


@pytest.mark.parametrize("dtype", FLOATS, ids=ids)
def test_linspace(dtype, device):
    rtol = 1e-6 if dtype == pydl.float32 else 1e-14
    for start, end, steps in [(0, 1, 5), (-3, 7, 11), (2.5, -1.5, 4), (0, 1, 1), (1, 2, 2), (0, 1, 100)]:
        t = pydl.linspace(start, end, steps, dtype=dtype, device=device)
        assert t.dtype == dtype and t.shape == (steps,)
        assert_close(t, np.linspace(start, end, steps), rtol, 1e-6 if dtype == pydl.float32 else 1e-14)
    assert pydl.linspace(0, 1, 0, dtype=dtype, device=device).shape == (0,)  # PyTorch: empty
    with pytest.raises(ValueError, match="linspace: steps must be non-negative"):
        pydl.linspace(0, 1, -1)


def test_linspace_integer_dtype(device):
    t = pydl.linspace(0, 10, 5, dtype=pydl.int64, device=device)
    assert t.dtype == pydl.int64
    assert t.tolist() == [0, 2, 5, 7, 10]  # truncated, as torch


def test_like_functions(device):
    x = pydl.ones(2, 3, dtype=pydl.float64, device=device)
    for fn in (pydl.zeros_like, pydl.ones_like, pydl.empty_like):
        t = fn(x)
        assert t.shape == (2, 3) and t.dtype == pydl.float64 and t.device == x.device
        assert t.data_ptr() != x.data_ptr()
    assert_close(pydl.zeros_like(x), np.zeros((2, 3)), 0, 0)
    assert_close(pydl.ones_like(x), np.ones((2, 3)), 0, 0)
    assert pydl.zeros_like(x, dtype=pydl.int64).dtype == pydl.int64
    assert pydl.ones_like(x, requires_grad=True).requires_grad
    f = pydl.full_like(x, 3)
    assert f.dtype == pydl.float64 and f.tolist() == [[3.0] * 3] * 2
    assert pydl.full_like(pydl.tensor([1, 2], device=device), 2.5).tolist() == [2, 2]
    assert pydl.zeros_like(pydl.tensor(1.0, device=device)).shape == ()
    assert pydl.full_like(x, 1.5, dtype=pydl.float32).dtype == pydl.float32


def test_new_methods_take_dtype_and_device_of_self(device):
    x = pydl.zeros(2, dtype=pydl.float64, device=device)
    for t, value in ((x.new_zeros(2, 3), 0.0), (x.new_ones((2, 3)), 1.0), (x.new_full((2, 3), 2.5), 2.5)):
        assert t.shape == (2, 3) and t.dtype == pydl.float64 and t.device == x.device
        assert t.tolist() == [[value] * 3] * 2
    e = x.new_empty(4)
    assert e.shape == (4,) and e.dtype == pydl.float64 and e.device == x.device
    n = x.new_tensor([1, 2])
    assert n.dtype == pydl.float64 and n.device == x.device and n.tolist() == [1.0, 2.0]
    assert x.new_ones(2, dtype=pydl.int64).dtype == pydl.int64
    assert x.new_tensor([1, 2], device="cpu").device == pydl.device("cpu")
    z = x.new_zeros(2, requires_grad=True)
    assert z.requires_grad and z.is_leaf
