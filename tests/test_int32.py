"""int32 tensors: kept as int32 through creation, numpy and DLPack round trips, casts, indexing,
arithmetic (wrapping on overflow, as PyTorch and numpy), reductions, scans, sorts and index
ops; the ops that take no integers refuse int32 by name. References: numpy int32, PyTorch."""
import numpy as np
import pytest

import pydl
import pydl.nn.functional as F


def i32(a, device="cpu"):
    return pydl.tensor(np.asarray(a, dtype=np.int32), device=device)


def check(t, expected):
    """t is an int32 tensor holding exactly `expected` (an int32 numpy array)."""
    assert t.dtype == pydl.int32, t.dtype
    out = t.cpu().numpy()
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, np.asarray(expected, dtype=np.int32))


def test_creation_numpy_and_casts(device):
    assert pydl.int32.itemsize == 4 and pydl.int is pydl.int32 and not pydl.int32.is_floating_point
    arr = np.array([[1, -2], [2**31 - 1, -2**31]], dtype=np.int32)
    t = pydl.from_numpy(arr)
    assert t.dtype == pydl.int32 and t.data_ptr() == arr.ctypes.data  # shares memory
    assert pydl.tensor(arr, device=device).dtype == pydl.int32
    assert pydl.tensor([1, 2], dtype="int32").dtype == pydl.int32
    assert pydl.tensor([1, 2], dtype=pydl.int).dtype == pydl.int32
    for make in (pydl.zeros, pydl.ones, pydl.empty):
        assert make(2, 3, dtype=pydl.int32, device=device).dtype == pydl.int32
    check(pydl.arange(4, dtype=pydl.int32, device=device), [0, 1, 2, 3])
    check(pydl.full((2,), 7, dtype=pydl.int32, device=device), [7, 7])
    check(pydl.tensor([1.7, -1.7, 3.0], device=device).int(), [1, -1, 3])  # truncation, as PyTorch
    x = i32([5, -6], device)
    assert x.long().dtype == pydl.int64 and x.float().dtype == pydl.float32 and x.double().tolist() == [5.0, -6.0]
    check(x.long().int(), [5, -6])
    check(x.to(pydl.int32), [5, -6])
    assert x[1].item() == -6 and isinstance(x[1].item(), int)
    assert x.tolist() == [5, -6]
    assert "dtype=pydl.int32" in repr(x)


def test_dlpack_and_checkpoints_keep_int32(tmp_path):
    torch = pytest.importorskip("torch")
    t = i32([3, 4])
    assert torch.from_dlpack(t).dtype == torch.int32
    assert pydl.from_dlpack(torch.tensor([1, 2], dtype=torch.int32)).dtype == pydl.int32
    pydl.save({"idx": t}, tmp_path / "c.safetensors")
    check(pydl.load(tmp_path / "c.safetensors")["idx"], [3, 4])


def test_arithmetic_wraps_and_promotes(device):
    a = np.array([2**31 - 1, -2**31, 7, -7, 0], dtype=np.int32)
    b = np.array([1, -1, 3, 2, 5], dtype=np.int32)
    x, y = i32(a, device), i32(b, device)
    with np.errstate(over="ignore"):
        check(x + y, a + b)  # wraps around
        check(x - y, a - b)
        check(x * y, a * b)
        check(x * 2, a * np.int32(2))
        check(-y, -b)
        check(-x, -a)  # -(-2**31) wraps to itself
        check(x.abs(), np.abs(a))
    check(x // i32([2, 3, 3, 2, 5], device), a // np.array([2, 3, 3, 2, 5], np.int32))  # floor division
    check(x % i32([2, 3, 3, 2, 5], device), a % np.array([2, 3, 3, 2, 5], np.int32))  # Python's sign
    check(y ** 2, b ** 2)
    check(y & 6, b & 6)
    check(y << 2, b << 2)
    assert (x / 2).dtype == pydl.float32 and (x + 0.5).dtype == pydl.float32
    assert (x + pydl.tensor([1], device=device)).dtype == pydl.int64  # int32 + int64 -> int64
    assert (x + pydl.tensor([1], dtype=pydl.uint8, device=device)).dtype == pydl.int32
    assert (x + pydl.ones(1, device=device)).dtype == pydl.float32
    assert (x > 0).dtype == pydl.bool and (x > 0).tolist() == [True, False, True, False, False]
    z = y.clone()
    z += 1
    check(z, b + 1)
    with pytest.raises(ValueError, match="add: the scalar .* does not fit in int32"):
        x + 2**40
    with pytest.raises(TypeError, match="int32"):
        z.mul_(2.5)


def test_reductions_scans_and_sorts(device):
    a = np.array([[3, -1, 2, 9], [0, 5, -4, 5]], dtype=np.int32)
    x = i32(a, device)
    s = x.sum(1)
    assert s.dtype == pydl.int64 and s.tolist() == a.sum(1).tolist()  # sums in int64, as PyTorch
    check(x.amax(0), a.max(0))
    check(x.max(1).values, a.max(1))
    assert x.argmin(1).tolist() == a.argmin(1).tolist()
    assert x.cumsum(1).dtype == pydl.int64 and x.cumsum(1).tolist() == np.cumsum(a, 1).tolist()
    check(x.cummax(1).values, np.maximum.accumulate(a, 1))
    check(x.sort(1).values, np.sort(a, 1))
    check(x.sort(1, descending=True).values, -np.sort(-a, 1))
    check(x.topk(2, 1).values, -np.sort(-a, 1)[:, :2])
    check(x.clamp(-2, 4), np.clip(a, -2, 4))
    check(pydl.where(x > 0, x, i32(0, device)), np.where(a > 0, a, 0))


def test_indexing_and_index_ops(device):
    x = pydl.tensor(np.arange(12.0).reshape(4, 3), device=device)
    idx = i32([3, 0, 3], device)
    np.testing.assert_array_equal(x[idx].cpu().numpy(), np.arange(12.0).reshape(4, 3)[[3, 0, 3]])
    np.testing.assert_array_equal(x.index_select(0, idx).cpu().numpy(), x[[3, 0, 3]].cpu().numpy())
    v = i32([[1, 2, 3], [4, 5, 6]], device)
    check(v[:, 1], [2, 5])
    check(v.gather(1, i32([[2], [0]], device)), [[3], [4]])
    check(pydl.zeros(2, 3, dtype=pydl.int32, device=device).scatter_add(1, pydl.tensor([[0, 0, 1], [2, 2, 2]],
                                                                                     device=device), v),
          [[3, 3, 0], [0, 0, 15]])
    check(pydl.zeros(3, 3, dtype=pydl.int32, device=device).index_add(0, i32([2, 2], device), v), [[0] * 3, [0] * 3,
                                                                                                    [5, 7, 9]])
    check(pydl.cat([v, v]), np.concatenate([v.cpu().numpy()] * 2))
    check(v.masked_fill(v > 3, -1), [[1, 2, 3], [-1, -1, -1]])
    emb = pydl.nn.Embedding(5, 2)
    np.testing.assert_array_equal(emb(i32([4, 1])).detach().numpy(), emb.weight.detach().numpy()[[4, 1]])
    assert F.one_hot(i32([1, 0]), 3).tolist() == [[0, 1, 0], [1, 0, 0]]
    with pytest.raises(IndexError, match="out of bounds"):
        x.index_select(0, i32([4], device))


def test_float_only_ops_refuse_int32_by_name():
    x = i32([[1, 2], [3, 4]])
    with pytest.raises(TypeError, match="matmul: .*int32"):
        x @ x
    with pytest.raises(TypeError, match="softmax: .*int32"):
        x.softmax(1)
    with pytest.raises(TypeError, match="cross_entropy: .*int32"):
        F.cross_entropy(x.float(), i32([0, 1]))
    with pytest.raises(TypeError, match="conv2d: .*int32"):
        F.conv2d(x[None, None], x[None, None])


def test_matches_pytorch_on_mixed_ops():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.integers(-2**31, 2**31, size=(3, 5), dtype=np.int64).astype(np.int32)
    b = rng.integers(-9, 10, size=(5,), dtype=np.int64).astype(np.int32)
    b[b == 0] = 1
    x, y, tx, ty = i32(a), i32(b), torch.from_numpy(a), torch.from_numpy(b)
    for op in (lambda p, q: p + q, lambda p, q: p * q, lambda p, q: p - q, lambda p, q: p // q,
               lambda p, q: p % q, lambda p, q: p.maximum(q), lambda p, q: p ^ q, lambda p, q: (p >> 3) * q,
               lambda p, q: (p.long() + q).int(), lambda p, q: p.float() / q):
        ours, theirs = op(x, y), op(tx, ty)
        assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
