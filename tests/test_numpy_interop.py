"""numpy interop: from_numpy and .numpy() share memory, np.asarray(t), item / tolist / float / int /
bool conversions. (DLPack exchange: test_dlpack.py.)"""
import numpy as np
import pytest

import pydl
from conftest import assert_close


def test_from_numpy_shares_memory():
    a = np.arange(6.0).reshape(2, 3)
    t = pydl.from_numpy(a)
    assert t.dtype == pydl.float64 and t.shape == (2, 3)
    a[0, 0] = 42.0
    assert t[0, 0].item() == 42.0
    t[1, 2] = -1.0
    assert a[1, 2] == -1.0
    s = pydl.from_numpy(a[:, ::2])  # strided numpy views keep their strides
    assert s.stride() == (3, 2)
    assert_close(s, a[:, ::2], 0, 0)
    assert pydl.from_numpy(np.zeros(3, np.float32)).dtype == pydl.float32
    assert pydl.from_numpy(np.zeros(3, np.int64)).dtype == pydl.int64
    with pytest.raises(TypeError, match="from_numpy"):
        pydl.from_numpy([1, 2])
    with pytest.raises(TypeError, match="from_numpy"):
        pydl.from_numpy(np.zeros(3, np.int16))


def test_numpy_shares_memory():
    t = pydl.zeros(2, 3)
    n = t.numpy()
    assert n.dtype == np.float32 and n.shape == (2, 3)
    n[0, 1] = 5.0
    assert t[0, 1].item() == 5.0
    t[1] = 2.0
    assert n[1].tolist() == [2.0, 2.0, 2.0]
    nt = t.T.numpy()  # a view keeps its strides in numpy too
    assert nt.shape == (3, 2) and nt[1, 0] == 5.0
    arr = np.asarray(t)
    assert arr.dtype == np.float32 and arr.tolist() == t.tolist()
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    w = pydl.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        w.numpy()
    assert w.detach().numpy().tolist() == [0.0, 0.0]


def test_item_tolist_and_conversions():
    assert pydl.tensor([7]).item() == 7 and isinstance(pydl.tensor([7]).item(), int)
    assert isinstance(pydl.tensor(2.5).item(), float)
    assert pydl.tensor(True).item() is True
    with pytest.raises(ValueError, match="item"):
        pydl.zeros(2).item()
    assert pydl.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert pydl.tensor([True, False]).tolist() == [True, False]
    assert pydl.arange(6).reshape(2, 3).T.tolist() == [[0, 3], [1, 4], [2, 5]]
    assert float(pydl.tensor([2.5])) == 2.5 and int(pydl.tensor(3)) == 3
    assert [0, 1, 2][pydl.tensor(1)] == 1
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(pydl.ones(2))
