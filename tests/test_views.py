"""Views and shape ops and indexing, against numpy. Views must share memory with their base
(data_ptr / storage_offset / stride as torch). Creation: test_creation.py; numpy interop:
test_numpy_interop.py; metadata, casts and repr: test_tensor.py."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import pydl
from conftest import assert_close

FLOATS = [pydl.float32, pydl.float64]


def ids(dtype):
    return dtype.name


def arange_like(shape, dtype=pydl.float64, device="cpu"):
    n = int(np.prod(shape, dtype=np.int64))
    a = np.arange(n, dtype=dtype.numpy).reshape(shape)
    return a, pydl.tensor(a, device=device)


def shares_memory(view, base):
    """view's elements all lie inside base's storage (same storage, by address)."""
    lo = base.data_ptr() - base.storage_offset() * base.element_size()
    hi = lo + max(base.numel(), 1) * base.element_size() + base.storage_offset() * base.element_size()
    return lo <= view.data_ptr() < hi


# ---------------------------------------------------------------------- reshape / view
@pytest.mark.parametrize("dtype", FLOATS, ids=ids)
def test_reshape_and_view(dtype, device):
    a, x = arange_like((2, 3, 4), dtype, device)
    for shape in [(6, 4), (4, -1), (-1,), (2, 12), (1, 24, 1), (2, 3, 2, 2), (24,)]:
        for out in (x.reshape(shape), x.reshape(*shape), x.view(shape), x.view(*shape), pydl.reshape(x, shape)):
            assert out.dtype == dtype
            assert_close(out, a.reshape(shape), 0, 0)
            assert out.data_ptr() == x.data_ptr()  # contiguous: always a view
    assert x.view(-1, 4).shape == (6, 4)
    assert x.reshape(4, -1).shape == (4, 6)
    assert x.view_as(pydl.zeros(4, 6)).shape == (4, 6)
    assert pydl.tensor(5.0, device=device).reshape(1, 1).shape == (1, 1)
    assert pydl.ones(1, 1, device=device).reshape(()).shape == ()
    assert pydl.zeros(0, 3, device=device).reshape(-1, 2, 3).shape == (0, 2, 3)


def test_view_writes_through(device):
    x = pydl.zeros(2, 6, device=device)
    v = x.view(3, 4)
    v[1] = 7.0
    expected = np.zeros((3, 4), np.float32)
    expected[1] = 7
    assert_close(x, expected.reshape(2, 6), 0, 0)


def test_reshape_errors(device):
    x = pydl.zeros(2, 3, 4, device=device)
    with pytest.raises(ValueError, match=r"view.*\(5, 5\).*24"):
        x.view(5, 5)
    with pytest.raises(ValueError, match="reshape"):
        x.reshape(7, -1)
    with pytest.raises(ValueError, match="-1"):
        x.view(-1, -1)
    with pytest.raises(ValueError, match="reshape"):
        pydl.zeros(0, 3, device=device).reshape(-1, 0)


def test_view_of_non_contiguous_raises_and_suggests_reshape(device):
    a, x = arange_like((3, 4), device=device)
    t = x.T
    assert not t.is_contiguous()
    with pytest.raises(ValueError, match="reshape") as info:
        t.view(12)
    assert "(4, 3)" in str(info.value)
    with pytest.raises(ValueError, match="reshape"):
        x[:, :2].view(6)
    assert_close(x[:, ::2].view(6), a[:, ::2].reshape(6), 0, 0)  # one uniform stride: a view is fine
    # reshape copies instead, with the values in the transposed order
    r = t.reshape(12)
    assert_close(r, a.T.reshape(12), 0, 0)
    assert r.is_contiguous()
    r[0] = -1.0
    assert x[0, 0].item() == 0.0  # a copy: the base is untouched
    # ...but a view is still possible where the strides allow it
    v = t.view(2, 2, 3)  # splits the first (stride-1) dim only
    assert v.data_ptr() == x.data_ptr()
    assert_close(v, a.T.reshape(2, 2, 3), 0, 0)


def test_reshape_of_expanded_copies(device):
    a = np.array([[1.0], [2.0], [3.0]])
    e = pydl.tensor(a, device=device).expand(3, 4)
    assert e.stride() == (1, 0)
    r = e.reshape(12)
    assert_close(r, np.broadcast_to(a, (3, 4)).reshape(12), 0, 0)
    assert r.stride() == (1,)
    with pytest.raises(ValueError, match="reshape"):
        e.view(12)


# ---------------------------------------------------------------------- permute / transpose
@pytest.mark.parametrize("dtype", FLOATS, ids=ids)
def test_permute_transpose_T(dtype, device):
    a, x = arange_like((2, 3, 4), dtype, device)
    for dims in [(2, 0, 1), (1, 0, 2), (0, 1, 2), (-1, 0, -2)]:
        p = x.permute(dims)
        assert_close(p, a.transpose(dims), 0, 0)
        assert p.stride() == tuple(s // a.itemsize for s in a.transpose(dims).strides)
        assert p.data_ptr() == x.data_ptr()
    assert_close(x.permute(2, 0, 1), a.transpose(2, 0, 1), 0, 0)
    assert_close(pydl.permute(x, (1, 2, 0)), a.transpose(1, 2, 0), 0, 0)
    assert_close(x.transpose(0, 2), a.swapaxes(0, 2), 0, 0)
    assert_close(pydl.transpose(x, -1, 1), a.swapaxes(-1, 1), 0, 0)
    assert_close(x.T, a.T, 0, 0)
    assert_close(x.mT, a.swapaxes(-1, -2), 0, 0)
    assert x.T.stride() == (1, 4, 12)
    m = x[0]
    assert_close(m.t(), a[0].T, 0, 0)
    v = pydl.arange(3, device=device)
    assert v.T.shape == (3,) and v.t().shape == (3,)


def test_permute_transpose_errors(device):
    x = pydl.zeros(2, 3, 4, device=device)
    with pytest.raises(ValueError, match="permute"):
        x.permute(0, 1)
    with pytest.raises(ValueError, match="more than once"):
        x.permute(0, 1, 1)
    with pytest.raises(IndexError, match="transpose"):
        x.transpose(0, 3)
    with pytest.raises(ValueError, match="t:"):
        x.t()


# ---------------------------------------------------------------------- squeeze / expand / flatten
def test_squeeze_unsqueeze(device):
    a, x = arange_like((1, 3, 1, 2), device=device)
    assert x.squeeze().shape == (3, 2)
    assert x.squeeze(0).shape == (3, 1, 2)
    assert x.squeeze(-2).shape == (1, 3, 2)
    assert x.squeeze((0, 2)).shape == (3, 2)
    assert x.squeeze(1).shape == (1, 3, 1, 2)  # not of size 1: left alone
    assert pydl.squeeze(x).data_ptr() == x.data_ptr()
    assert_close(x.squeeze(), a.squeeze(), 0, 0)
    b, y = arange_like((3, 4), device=device)
    for d in range(-3, 3):
        u = y.unsqueeze(d)
        assert_close(u, np.expand_dims(b, d), 0, 0)
        assert u.data_ptr() == y.data_ptr()
    assert y.unsqueeze(0).stride() == (12, 4, 1)
    assert y.unsqueeze(2).stride() == (4, 1, 1)
    assert pydl.unsqueeze(pydl.tensor(2.0, device=device), 0).shape == (1,)
    with pytest.raises(IndexError, match="unsqueeze"):
        y.unsqueeze(3)


def test_expand_broadcast_to(device):
    a, x = arange_like((3, 1), device=device)
    e = x.expand(2, 3, 4)
    assert_close(e, np.broadcast_to(a, (2, 3, 4)), 0, 0)
    assert e.stride() == (0, 1, 0)
    assert e.data_ptr() == x.data_ptr()
    assert x.expand(-1, 5).shape == (3, 5)
    assert_close(pydl.broadcast_to(x, (3, 4)), np.broadcast_to(a, (3, 4)), 0, 0)
    assert_close(x.broadcast_to((2, 3, 2)), np.broadcast_to(a, (2, 3, 2)), 0, 0)
    assert x.expand_as(pydl.zeros(3, 7)).shape == (3, 7)
    x[1, 0] = 100.0  # the expanded view sees writes to its base
    assert e[1, 1].tolist() == [100.0] * 4
    with pytest.raises(ValueError, match=r"expand.*\(3, 1\).*\(4, 4\)"):
        x.expand(4, 4)
    with pytest.raises(ValueError, match="fewer"):
        x.expand(3)


def test_flatten(device):
    a, x = arange_like((2, 3, 4, 5), device=device)
    assert_close(x.flatten(), a.reshape(-1), 0, 0)
    assert_close(pydl.flatten(x, 1), a.reshape(2, -1), 0, 0)
    assert_close(x.flatten(1, 2), a.reshape(2, 12, 5), 0, 0)
    assert_close(x.flatten(-2), a.reshape(2, 3, 20), 0, 0)
    assert x.flatten().data_ptr() == x.data_ptr()
    assert pydl.tensor(3.0, device=device).flatten().shape == (1,)
    t = x.transpose(0, 3).flatten()
    assert_close(t, a.swapaxes(0, 3).reshape(-1), 0, 0)
    with pytest.raises(ValueError, match="flatten"):
        x.flatten(2, 1)


# ---------------------------------------------------------------------- narrow / split / chunk / unbind
def test_narrow(device):
    a, x = arange_like((4, 6), device=device)
    n = x.narrow(1, 2, 3)
    assert_close(n, a[:, 2:5], 0, 0)
    assert n.storage_offset() == 2 and n.stride() == (6, 1)
    assert n.data_ptr() == x.data_ptr() + 2 * x.element_size()
    assert_close(pydl.narrow(x, 0, 1, 2), a[1:3], 0, 0)
    assert_close(x.narrow(-1, -2, 2), a[:, -2:], 0, 0)  # negative start counts from the end
    assert x.narrow(0, 4, 0).shape == (0, 6)
    n[:] = -1.0
    assert x[0, 2].item() == -1.0 and x[0, 1].item() == 1.0
    with pytest.raises(ValueError, match="narrow"):
        x.narrow(1, 4, 3)
    with pytest.raises(IndexError, match="narrow"):
        x.narrow(0, 5, 0)


def test_split_chunk(device):
    a, x = arange_like((5, 6), device=device)
    parts = x.split(2)
    assert [p.shape for p in parts] == [(2, 6), (2, 6), (1, 6)]
    for p, e in zip(parts, np.split(a, [2, 4])):
        assert_close(p, e, 0, 0)
    parts = pydl.split(x, [1, 4, 1], dim=1)
    for p, e in zip(parts, np.split(a, [1, 5], axis=1)):
        assert_close(p, e, 0, 0)
    assert all(p.data_ptr() >= x.data_ptr() for p in parts)
    parts = x.split(4, dim=-1)
    assert [tuple(p.shape) for p in parts] == [(5, 4), (5, 2)]
    chunks = x.chunk(3, dim=1)
    assert [c.shape for c in chunks] == [(5, 2)] * 3
    assert_close(chunks[2], a[:, 4:], 0, 0)
    chunks = pydl.chunk(x, 2)  # 5 rows: sizes 3, 2 (as torch)
    assert [c.shape[0] for c in chunks] == [3, 2]
    assert len(x.chunk(4, dim=1)) == 3  # ceil(6/4) = 2 per chunk: 3 chunks, as torch
    chunks[0][0, 0] = 99.0
    assert x[0, 0].item() == 99.0
    with pytest.raises(ValueError, match="split"):
        x.split([2, 2])
    with pytest.raises(ValueError, match="split"):
        x.split(0)
    with pytest.raises(ValueError, match="chunk"):
        x.chunk(0)


def test_unbind(device):
    a, x = arange_like((2, 3, 4), device=device)
    for dim in (0, 1, 2, -1):
        parts = x.unbind(dim)
        assert len(parts) == a.shape[dim]
        for i, p in enumerate(parts):
            assert_close(p, np.take(a, i, axis=dim), 0, 0)
    rows = pydl.unbind(x)
    rows[1][0, 0] = -5.0
    assert x[1, 0, 0].item() == -5.0


# ---------------------------------------------------------------------- cat / stack
@pytest.mark.parametrize("dtype", FLOATS, ids=ids)
def test_cat_stack(dtype, device):
    a, x = arange_like((2, 3), dtype, device)
    b, y = arange_like((2, 5), dtype, device)
    c, z = arange_like((4, 3), dtype, device)
    assert_close(pydl.cat([x, y], 1), np.concatenate([a, b], 1), 0, 0)
    assert_close(pydl.cat([x, y], -1), np.concatenate([a, b], -1), 0, 0)
    assert_close(pydl.cat((x, z, x)), np.concatenate([a, c, a]), 0, 0)
    assert_close(pydl.concat([x.T, z.T], dim=1), np.concatenate([a.T, c.T], 1), 0, 0)  # strided inputs
    assert_close(pydl.cat([x]), a, 0, 0)
    assert_close(pydl.cat([x, pydl.zeros(0, 3, dtype=dtype, device=device)]), a, 0, 0)
    assert pydl.cat([x, y], 1).dtype == dtype
    for dim in (0, 1, 2, -1, -3):
        assert_close(pydl.stack([x, x * 2, x * 3], dim), np.stack([a, a * 2, a * 3], dim), 0, 0)
    out = pydl.cat([x, y], 1)
    out[0, 0] = 100.0  # a new tensor
    assert x[0, 0].item() == 0.0


def test_cat_stack_errors(device):
    x = pydl.zeros(2, 3, device=device)
    with pytest.raises(ValueError, match=r"cat.*\(2, 4\)"):
        pydl.cat([x, pydl.zeros(2, 4, device=device)])
    with pytest.raises(ValueError, match="cat"):
        pydl.cat([x, pydl.zeros(3, device=device)])
    with pytest.raises(ValueError, match="cat"):
        pydl.cat([])
    with pytest.raises(ValueError, match="cat"):
        pydl.cat([pydl.tensor(1.0, device=device), pydl.tensor(2.0, device=device)])
    with pytest.raises(TypeError, match="cat"):
        pydl.cat([x, 1.0])
    with pytest.raises(ValueError, match=r"stack.*\(3, 2\)"):
        pydl.stack([x, pydl.zeros(3, 2, device=device)])
    with pytest.raises(ValueError, match="stack"):
        pydl.stack([])


# ---------------------------------------------------------------------- contiguous / clone / memory
@pytest.mark.parametrize("shape", [(3, 0, 2), (0, 4), (2, 0)], ids=str)
def test_empty_tensors_are_contiguous_and_move_between_devices(shape, device):
    x = pydl.empty(*shape, device=device)
    assert x.is_contiguous() and x.contiguous() is x
    from_numpy = pydl.tensor(np.ones(shape, dtype=np.float32))  # numpy gives empty arrays zero strides
    assert from_numpy.is_contiguous()
    moved = from_numpy.to(device)
    assert moved.shape == shape and str(moved.device).startswith(device)
    assert moved.cpu().numpy().shape == shape


def test_contiguous_and_clone(device):
    a, x = arange_like((3, 4), device=device)
    assert x.contiguous() is x
    t = x.T
    c = t.contiguous()
    assert c.is_contiguous() and c.stride() == (3, 1)
    assert c.data_ptr() != x.data_ptr()
    assert_close(c, a.T, 0, 0)
    k = x.clone()
    assert pydl.clone(x).data_ptr() != x.data_ptr() and k.data_ptr() != x.data_ptr()
    k[0, 0] = 50.0
    assert x[0, 0].item() == 0.0
    assert_close(t.clone(), a.T, 0, 0)


def test_views_share_memory_and_metadata(device):
    a, x = arange_like((4, 6), pydl.float32, device)
    assert x.stride() == (6, 1) and x.storage_offset() == 0 and x.element_size() == 4
    v = x[1:3]
    w = x[1:3, 2:]
    assert v.storage_offset() == 6 and v.stride() == (6, 1)
    assert v.data_ptr() == x.data_ptr() + 6 * 4
    assert w.storage_offset() == 8 and w.data_ptr() == x.data_ptr() + 8 * 4
    s = x[::2, 1::3]
    assert s.stride() == (12, 3) and s.storage_offset() == 1
    assert x.T.stride() == (1, 6) and x.stride(0) == 6 and x.stride(-1) == 1
    r = x[2]
    assert r.storage_offset() == 12 and r.stride() == (1,)
    x[1:3] = 5
    assert v.tolist() == [[5.0] * 6] * 2
    assert w.tolist() == [[5.0] * 4] * 2
    e = a.copy()
    e[1:3] = 5
    assert_close(x, e, 0, 0)
    # and writing through a view shows in the base
    w[:, 0] = pydl.tensor([-1.0, -2.0], device=device)
    e[1:3, 2] = [-1.0, -2.0]
    assert_close(x, e, 0, 0)
    s[...] = 0
    e[::2, 1::3] = 0
    assert_close(x, e, 0, 0)


# ---------------------------------------------------------------------- __getitem__
def test_getitem_basic(device):
    a, x = arange_like((3, 4, 5), device=device)
    cases = [
        (1, a[1]), (-1, a[-1]), ((0, -2), a[0, -2]), ((1, 2, 3), a[1, 2, 3]),
        (slice(1, None), a[1:]), ((slice(None), slice(None, None, 2)), a[:, ::2]),
        ((slice(None, None, 2), slice(1, None, 3)), a[::2, 1::3]), ((Ellipsis, 1), a[..., 1]),
        ((None, 1), a[None, 1]), ((1, None, Ellipsis, None), a[1, None, ..., None]),
        ((slice(-2, None), Ellipsis, slice(None, -1)), a[-2:, ..., :-1]),
        ((slice(5, 10)), a[5:10]), ((slice(None), slice(-10, 2)), a[:, -10:2]),
        (Ellipsis, a[...]), ((2, Ellipsis, 4), a[2, ..., 4]),
    ]
    for index, expected in cases:
        out = x[index]
        assert_close(out, expected, 0, 0)
        if out.numel():
            assert shares_memory(out, x), index
    scalar = x[1, 2, 3]
    assert scalar.shape == () and scalar.item() == a[1, 2, 3]
    assert int(x[0, 0, 4]) == 4 and float(x[-1, -1, -1]) == 59.0


def test_getitem_advanced(device):
    a, x = arange_like((4, 5), device=device)
    labels = np.array([4, 0, 2, 1])
    out = x[pydl.arange(4, device=device), pydl.tensor(labels, device=device)]
    assert_close(out, a[np.arange(4), labels], 0, 0)
    assert out.shape == (4,)
    assert_close(x[[2, 0, 2]], a[[2, 0, 2]], 0, 0)
    assert_close(x[[-1, 1]], a[[-1, 1]], 0, 0)
    assert_close(x[:, [4, 0]], a[:, [4, 0]], 0, 0)
    assert_close(x[pydl.tensor([[0, 1], [3, 2]], device=device)], a[[[0, 1], [3, 2]]], 0, 0)
    assert_close(x[[1, 3], [0, -1]], a[[1, 3], [0, -1]], 0, 0)
    assert_close(x[1:, [0, 2]], a[1:, [0, 2]], 0, 0)
    assert_close(x[np.array([3, 1])], a[[3, 1]], 0, 0)
    assert_close(x[pydl.tensor(2, device=device)], a[2], 0, 0)
    mask = a > 7
    assert_close(x[pydl.tensor(mask, device=device)], a[mask], 0, 0)
    assert_close(x[x > 7], a[a > 7], 0, 0)
    assert_close(x[pydl.tensor([True, False, True, False], device=device)], a[[True, False, True, False]], 0, 0)
    assert_close(x[:, [True, False, True, False, True]], a[:, [True, False, True, False, True]], 0, 0)
    assert x[x > 100].shape == (0,)
    # advanced indexing copies
    picked = x[[0, 1]]
    picked[0, 0] = -7.0
    assert x[0, 0].item() == 0.0


def test_getitem_advanced_is_differentiable():
    w = pydl.zeros(3, 4, requires_grad=True)
    labels = pydl.tensor([2, 0, 3])
    w[pydl.arange(3), labels].sum().backward()
    expected = np.zeros((3, 4), np.float32)
    expected[[0, 1, 2], [2, 0, 3]] = 1
    assert_close(w.grad, expected, 0, 0)


def test_getitem_errors(device):
    x = pydl.zeros(2, 3, device=device)
    with pytest.raises(IndexError, match=r"index 2 is out of bounds for dimension 0 with size 2"):
        x[2]
    with pytest.raises(IndexError, match=r"index -3 is out of bounds.*size 2"):
        x[-3]
    with pytest.raises(IndexError, match=r"index 3 is out of bounds.*size 3"):
        x[:, 3]
    with pytest.raises(IndexError, match=r"5 is out of bounds.*size 2"):
        x[pydl.tensor([0, 5], device=device)]
    with pytest.raises(IndexError, match=r"-4 is out of bounds.*size 3"):
        x[:, [0, -4]]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="ellipsis"):
        x[..., ...]
    with pytest.raises(IndexError, match="int64, int32 or bool"):
        x[pydl.tensor([0.0], device=device)]
    with pytest.raises(IndexError, match="too many indices.*0 dimension"):
        pydl.tensor(1.0, device=device)[0]
    with pytest.raises(ValueError, match="step"):
        x[::-1]
    with pytest.raises(IndexError):
        x["a"]


# ---------------------------------------------------------------------- __setitem__
def test_setitem(device):
    a, x = arange_like((4, 5), pydl.float32, device)
    e = a.copy()
    x[1:3] = 5
    e[1:3] = 5
    x[:, 0] = pydl.tensor([1.0, 2.0, 3.0, 4.0], device=device)
    e[:, 0] = [1.0, 2.0, 3.0, 4.0]
    x[0] = pydl.arange(5, device=device) * 10  # int tensor cast into float32
    e[0] = np.arange(5) * 10
    x[2:, 1:3] = pydl.tensor([[1.5], [2.5]], device=device)  # broadcast (2, 1) -> (2, 2)
    e[2:, 1:3] = [[1.5], [2.5]]
    x[::2, 1::3] = -3.0
    e[::2, 1::3] = -3.0
    x[-1, -1] = 0.25
    e[-1, -1] = 0.25
    x[None, 3, ..., 2] = 8
    e[None, 3, ..., 2] = 8
    assert_close(x, e, 0, 0)
    assert x.dtype == pydl.float32
    x[x > 4] = 0.0
    e[e > 4] = 0.0
    assert_close(x, e, 0, 0)
    x[...] = 1
    assert x.tolist() == [[1.0] * 5] * 4
    x[:] = pydl.tensor([0.0, 1.0, 2.0, 3.0, 4.0], device=device)
    assert_close(x, np.tile(np.arange(5.0), (4, 1)), 0, 0)


def test_setitem_integer_tensor_and_transposed(device):
    y = pydl.arange(10, device=device)
    y[::3] = 0
    y[1] = 2.7  # truncated into int64, as numpy
    expected = np.arange(10)
    expected[::3] = 0
    expected[1] = 2
    assert y.tolist() == expected.tolist()
    a, x = arange_like((3, 4), device=device)
    x.T[0] = pydl.tensor([7.0, 8.0, 9.0], device=device)
    a.T[0] = [7.0, 8.0, 9.0]
    assert_close(x, a, 0, 0)


def test_setitem_errors(device):
    x = pydl.zeros(3, 4, device=device)
    with pytest.raises(ValueError):
        x[0:1] = pydl.ones(3, 3, device=device)
    with pytest.raises(IndexError, match="out of bounds"):
        x[3] = 1.0
    w = pydl.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        w[0] = 1.0
    with pydl.no_grad():
        w[0] = 1.0
    assert w.tolist() == [1.0, 0.0, 0.0]


# ---------------------------------------------------------------------- hypothesis: views vs numpy
@st.composite
def shape_and_perm(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4))
    perm = draw(st.permutations(range(len(shape))))
    return shape, tuple(perm)


@st.composite
def shape_of_size(draw, size):
    """A shape of up to 3 dims holding `size` elements, built from its divisors (no filtering)."""
    if size == 0:
        dims = draw(st.lists(st.integers(0, 6), min_size=1, max_size=3))
        dims[draw(st.integers(0, len(dims) - 1))] = 0
        return tuple(dims)
    dims, rest = [], size
    for _ in range(draw(st.integers(0 if size == 1 else 1, 3)) - 1):
        d = draw(st.sampled_from([d for d in range(1, rest + 1) if rest % d == 0]))
        dims.append(d)
        rest //= d
    return tuple(dims + [rest]) if dims or size != 1 else draw(st.sampled_from([(), (1,)]))


@settings(max_examples=40, deadline=None)
@given(sp=shape_and_perm(), data=st.data())
def test_permute_then_reshape_property(sp, data):
    shape, perm = sp
    a, x = arange_like(shape)
    p = x.permute(perm)
    ap = a.transpose(perm)
    assert_close(p, ap, 0, 0)
    assert p.stride() == tuple(s // 8 for s in ap.strides) or ap.size == 0
    assert p.data_ptr() == x.data_ptr()
    # any reshape of the permuted tensor: a view when possible, else a copy; values as numpy
    new_shape = data.draw(shape_of_size(ap.size))
    r = p.reshape(new_shape)
    assert_close(r, ap.reshape(new_shape), 0, 0)
    # where view() succeeds, it must alias the base
    try:
        v = p.view(new_shape)
    except ValueError as e:
        assert "reshape" in str(e)
    else:
        assert_close(v, ap.reshape(new_shape), 0, 0)
        if ap.size:
            assert v.data_ptr() == x.data_ptr()
    assert_close(p.contiguous(), ap, 0, 0)
    assert_close(p.flatten(), ap.reshape(-1), 0, 0)


@st.composite
def basic_index(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5))
    items = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "slice", "none", "full"]))
        if kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start = draw(st.none() | st.integers(-n - 2, n + 2))
            stop = draw(st.none() | st.integers(-n - 2, n + 2))
            step = draw(st.none() | st.integers(1, 3))
            items.append(slice(start, stop, step))
        elif kind == "none":
            items.append(None)
            items.append(slice(None))
        else:
            items.append(slice(None))
    if draw(st.booleans()) and len(items) > 1:  # replace a trailing run with an ellipsis
        cut = draw(st.integers(1, len(items) - 1))
        items = items[:cut] + [Ellipsis]
    return shape, tuple(items)


@settings(max_examples=60, deadline=None)
@given(si=basic_index())
def test_basic_indexing_property(si):
    shape, index = si
    a, x = arange_like(shape)
    out = x[index]
    expected = a[index]
    assert_close(out, expected, 0, 0)
    if expected.size:
        # a view: same strides as numpy's, and writes show in the base
        assert out.stride() == tuple(s // 8 for s in expected.strides) or expected.ndim == 0 or \
            any(d == 1 for d in expected.shape)
        x[index] = -1.0
        a[index] = -1.0
        assert_close(x, a, 0, 0)


@settings(max_examples=30, deadline=None)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5), data=st.data())
def test_integer_array_indexing_property(shape, data):
    a, x = arange_like(shape)
    idx = data.draw(hnp.arrays(np.int64, data.draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=4)),
                               elements=st.integers(-shape[0], shape[0] - 1)))
    assert_close(x[pydl.tensor(idx)], a[idx], 0, 0)
    mask = data.draw(hnp.arrays(np.bool_, shape))
    assert_close(x[pydl.tensor(mask)], a[mask], 0, 0)
