"""sort, argsort, msort, topk, kthvalue: PyTorch's results (stable order, NaN last), their
gradients, dtypes and edge cases, and the same result on CUDA as on the CPU."""
import numpy as np
import pytest

import pydl


def _data(shape, seed=0, ties=True):
    data = np.random.default_rng(seed).standard_normal(shape)
    if ties:  # repeated values and NaNs: the stable order and NaN's place are part of the result
        flat = data.reshape(-1)
        flat[::7] = flat[1]
        flat[3::11] = np.nan
    return data


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_matches_pytorch_stable(dim, descending, device):
    torch = pytest.importorskip("torch")
    data = _data((5, 9, 4))
    x = pydl.tensor(data, device=device)
    values, indices = x.sort(dim, descending=descending)
    ref = torch.tensor(data).sort(dim=dim, descending=descending, stable=True)
    np.testing.assert_array_equal(values.cpu().numpy(), ref.values.numpy())
    np.testing.assert_array_equal(indices.cpu().numpy(), ref.indices.numpy())
    np.testing.assert_array_equal(x.argsort(dim, descending=descending).cpu().numpy(), ref.indices.numpy())


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("k", [1, 4, 9])
def test_topk_matches_pytorch(largest, k, device):
    torch = pytest.importorskip("torch")
    data = _data((6, 9), seed=1, ties=False)
    out = pydl.topk(pydl.tensor(data, device=device), k, dim=1, largest=largest)
    ref = torch.tensor(data).topk(k, dim=1, largest=largest)
    np.testing.assert_array_equal(out.values.cpu().numpy(), ref.values.numpy())
    np.testing.assert_array_equal(out.indices.cpu().numpy(), ref.indices.numpy())


@pytest.mark.parametrize("largest", [True, False])
def test_topk_of_long_rows_with_nans(largest, device):
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(9).permutation(3 * 1000).reshape(3, 1000).astype(np.float64)  # no ties
    data[0, 5] = data[1, 700] = np.nan  # one per row: PyTorch orders tied NaNs as it likes
    data[2, 999] = np.inf
    out = pydl.tensor(data, device=device).topk(7, largest=largest)
    ref = torch.tensor(data).topk(7, largest=largest)
    np.testing.assert_array_equal(out.values.cpu().numpy(), ref.values.numpy())
    np.testing.assert_array_equal(out.indices.cpu().numpy(), ref.indices.numpy())


def test_signed_zeros_are_equal_and_keep_their_order(device):
    x = pydl.tensor([0.0, -0.0, 1.0, -0.0, 0.0, -1.0], device=device)
    assert x.sort().indices.tolist() == [5, 0, 1, 3, 4, 2]
    assert x.sort(descending=True).indices.tolist() == [2, 0, 1, 3, 4, 5]


def test_kthvalue_and_msort(device):
    torch = pytest.importorskip("torch")
    data = _data((4, 7, 3), seed=2, ties=False)
    x, t = pydl.tensor(data, device=device), torch.tensor(data)
    for k, dim, keepdim in ((1, 1, False), (4, 1, True), (7, 1, False), (2, 0, False), (3, -1, True)):
        out, ref = x.kthvalue(k, dim, keepdim), t.kthvalue(k, dim, keepdim)
        np.testing.assert_array_equal(out.values.cpu().numpy(), ref.values.numpy())
        np.testing.assert_array_equal(out.indices.cpu().numpy(), ref.indices.numpy())
    np.testing.assert_array_equal(pydl.msort(x).cpu().numpy(), np.sort(data, 0))


def test_gradients_go_back_to_their_positions(device):
    data = _data((3, 6), seed=3, ties=False)
    for fn in (lambda x: x.sort(1, descending=True).values, lambda x: x.topk(2).values,
               lambda x: x.kthvalue(3, 0).values, lambda x: pydl.sort(x, 0).values):
        x = pydl.tensor(data, device=device, requires_grad=True)
        out = fn(x)
        weight = np.random.default_rng(4).standard_normal(tuple(out.shape))
        (out * pydl.tensor(weight, device=device)).sum().backward()
        x64 = pydl.tensor(data, requires_grad=True)
        assert pydl.gradcheck(fn, (x64,))
        assert x.grad.shape == x.shape


def test_integer_and_bool_dtypes(device):
    x = pydl.tensor([[5, -2, 7, -2, 0]], device=device)
    values, indices = x.sort()
    assert values.dtype == pydl.int64 and values.tolist() == [[-2, -2, 0, 5, 7]]
    assert indices.tolist() == [[1, 3, 4, 0, 2]]
    b = pydl.tensor([True, False, True, False], device=device)
    assert b.sort(descending=True).indices.tolist() == [0, 2, 1, 3]
    u = pydl.tensor([200, 3, 90], dtype=pydl.uint8, device=device)
    assert u.topk(2).values.tolist() == [200, 90]


def test_edge_cases(device):
    assert pydl.tensor(5.0, device=device).sort().values.tolist() == 5.0
    empty = pydl.ones(3, 0, device=device)
    assert empty.sort(1).values.shape == (3, 0) and empty.topk(0).indices.shape == (3, 0)
    assert pydl.ones(0, 4, device=device).sort(1).indices.shape == (0, 4)
    x = pydl.tensor([float("nan"), 1.0, float("-inf"), float("inf")], device=device)
    assert x.sort().indices.tolist() == [2, 1, 3, 0] and x.sort(descending=True).indices.tolist() == [0, 3, 1, 2]


def test_bad_k_raises():
    with pytest.raises(IndexError, match="topk: k = 4 is out of range for a dim of size 3"):
        pydl.ones(3).topk(4)
    with pytest.raises(IndexError, match="kthvalue: k = 0"):
        pydl.ones(3).kthvalue(0)
    with pytest.raises(IndexError, match="sort: dim 2"):
        pydl.ones(2, 3).sort(2)
    with pytest.raises(TypeError, match="sort"):
        pydl.ones(3, dtype=pydl.float16).sort()


@pytest.mark.cuda
@pytest.mark.parametrize("shape", [(3, 1), (4, 5), (2, 1000), (70, 33)])
def test_cuda_sorts_as_the_cpu(shape):
    data = _data(shape, seed=5).astype(np.float32)
    for descending in (False, True):
        cpu = pydl.tensor(data).sort(-1, descending=descending)
        gpu = pydl.tensor(data, device="cuda").sort(-1, descending=descending)
        np.testing.assert_array_equal(gpu.values.cpu().numpy(), cpu.values.numpy())
        np.testing.assert_array_equal(gpu.indices.cpu().numpy(), cpu.indices.numpy())
