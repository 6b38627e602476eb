"""Corners where pydl once differed from PyTorch: exception types, dims of 0-d tensors,
linspace's edge cases, numpy-style keyword aliases, tuple and non-adjacent advanced indices."""
import numpy as np
import pytest

import pydl
from pydl.nn import functional as F

SHAPE_ERRORS = {
    "matmul": lambda: pydl.ones(2, 3) @ pydl.ones(4, 5),
    "permute arity": lambda: pydl.ones(2, 3).permute(0),
    "reshape -1 twice": lambda: pydl.ones(2, 3).reshape(-1, -1),
    "conv kernel larger than input": lambda: F.conv2d(pydl.ones(1, 1, 3, 3), pydl.ones(1, 1, 5, 5)),
    "gather index rank": lambda: pydl.ones(2, 3).gather(1, pydl.tensor([0, 1])),
    "cat of 0-d": lambda: pydl.cat([pydl.tensor(1.0), pydl.tensor(2.0)]),
    "pool padding length": lambda: F.max_pool2d(pydl.ones(1, 1, 4, 4), 2, padding=(1, 1, 1)),
    "mm of 3-d": lambda: pydl.mm(pydl.ones(2, 2, 2), pydl.ones(2, 2)),
    "split sections": lambda: pydl.ones(5).split([2, 2]),
    "linspace steps": lambda: pydl.linspace(0, 1, -1),
}


@pytest.mark.parametrize("name", SHAPE_ERRORS)
def test_argument_errors_are_valueerror_and_runtimeerror(name):
    """PyTorch raises RuntimeError for these; pydl's ArgumentError is caught as either."""
    with pytest.raises(RuntimeError) as caught:
        SHAPE_ERRORS[name]()
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, pydl.ArgumentError)
    assert str(caught.value)  # and it still says what was wrong


def test_dtype_errors_are_typeerror_and_runtimeerror():
    with pytest.raises(RuntimeError) as caught:
        pydl.ones(2) & pydl.ones(2)
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, pydl.DTypeError)
    assert issubclass(pydl.DTypeError, TypeError) and issubclass(pydl.ArgumentError, ValueError)
    assert pydl.ArgumentError.__module__ == "pydl"


def test_squeeze_of_a_0d_tensor_checks_the_dim():
    x = pydl.tensor(1.0)
    assert x.squeeze(0).shape == () and x.squeeze(-1).shape == ()
    for dim in (10, 1, -2):
        with pytest.raises(IndexError, match="squeeze: dim"):
            x.squeeze(dim)


def test_linspace_with_no_steps_is_empty():
    out = pydl.linspace(5, 10, 0)
    assert out.shape == (0,) and out.dtype == pydl.float32
    assert pydl.linspace(5, 10, 1).tolist() == [5.0]


def test_linspace_refuses_bool():
    with pytest.raises(TypeError, match="linspace: bool"):
        pydl.linspace(5, 10, 3, dtype=pydl.bool)


@pytest.mark.parametrize("name", ["sum", "mean", "var", "std", "amax", "amin", "argmax", "argmin", "all", "any"])
def test_reductions_take_axis_and_keepdims(name, rng):
    data = rng.standard_normal((3, 4))
    x = pydl.tensor(data)
    expected = getattr(pydl, name)(x, dim=1, keepdim=True)
    for out in (getattr(pydl, name)(x, axis=1, keepdims=True), getattr(x, name)(axis=1, keepdims=True)):
        assert out.shape == expected.shape
        np.testing.assert_array_equal(out.numpy(), expected.numpy())
    with pytest.raises(TypeError, match="both dim and its alias axis"):
        getattr(pydl, name)(x, 1, axis=1)


def test_max_takes_axis():
    x = pydl.tensor([[1.0, 5.0], [7.0, 2.0]])
    values, indices = x.max(axis=1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]


def test_a_tuple_inside_the_index_is_an_index_list():
    x = pydl.arange(10).reshape(5, 2)
    assert x[(0, 2), ].tolist() == [[0, 1], [4, 5]]
    assert x[(0, 2), (1, 0)].tolist() == [1, 4]
    assert x[(0, 2), 1].tolist() == [1, 5]


def test_advanced_indices_on_non_adjacent_dims(rng):
    data = rng.standard_normal((2, 3, 4, 5))
    x = pydl.tensor(data, requires_grad=True)
    out = x[[0, 1], :, [1, 2]]  # indexed dims apart: their broadcast dim goes first
    np.testing.assert_array_equal(out.detach().numpy(), data[[0, 1], :, [1, 2]])
    assert out.shape == (2, 3, 5)
    out.sum().backward()
    grad = np.zeros_like(data)
    grad[[0, 1], :, [1, 2]] = 1
    np.testing.assert_array_equal(x.grad.numpy(), grad)
    out = x[[[0], [1]], 1:, [[1, 3]], 2]  # the int is a basic index (as PyTorch): dims 0 and 2 are apart
    assert out.shape == (2, 2, 2)
    np.testing.assert_array_equal(out.detach().numpy(), data[:, 1:, :, 2][[[0], [1]], :, [[1, 3]]])


def test_non_adjacent_indices_against_pytorch(rng):
    torch = pytest.importorskip("torch")
    data = rng.standard_normal((2, 3, 4, 5))
    x, t = pydl.tensor(data), torch.tensor(data)
    for index in ((slice(None), [0, 2], slice(None), [1, 4]), ([1, 0], 0, slice(None), [2, 3]),
                  ([[0], [1]], slice(None), [[1, 2, 3]])):
        np.testing.assert_array_equal(x[index].numpy(), t[index].numpy())


def test_view_as_another_dtype_matches_pytorch():
    torch = pytest.importorskip("torch")
    data = np.array([[1.5, -2.0, 3.25, 0.0], [7.0, 1e-3, -0.5, 2.0]], dtype=np.float32)
    x, t = pydl.tensor(data), torch.tensor(data)
    assert x.view(pydl.float32) is x
    as_bytes = x.view(pydl.uint8)
    assert as_bytes.shape == (2, 16) and as_bytes.tolist() == t.view(torch.uint8).tolist()
    assert as_bytes.view(pydl.float32).tolist() == x.tolist()
    wide = x.view(pydl.float64)
    assert wide.shape == (2, 2) and wide.tolist() == t.view(torch.float64).tolist()
    as_bytes[0, 0] = 1  # the same memory
    assert x.view(pydl.uint8)[0, 0].item() == 1
    with pytest.raises(ValueError, match="multiples of 2"):
        x[:, :3].view(pydl.float64)
    with pytest.raises(ValueError, match="stride 1"):
        x.t().view(pydl.float64)
