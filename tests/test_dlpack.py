"""DLPack: zero-copy exchange with numpy and PyTorch on the CPU (here), and with PyTorch /
CuPy on a GPU (tests marked cuda, skipped without one)."""
import gc
import weakref

import numpy as np
import pytest

import pydl

DTYPES = [np.bool_, np.uint8, np.int64, np.float32, np.float64]


def _sample(shape, dtype, rng):
    x = rng.standard_normal(shape) * 10
    return (x > 0).astype(dtype) if dtype is np.bool_ else x.astype(dtype)


# ------------------------------------------------------------------ numpy -> pydl

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_from_numpy_zero_copy_every_dtype(dtype, rng):
    a = _sample((3, 4), dtype, rng)
    t = pydl.from_dlpack(a)
    assert t.shape == (3, 4) and t.dtype == pydl.from_numpy(a).dtype
    assert t.data_ptr() == a.ctypes.data
    np.testing.assert_array_equal(t.numpy(), a)


@pytest.mark.parametrize("view", [lambda a: a.T, lambda a: a[:, ::2], lambda a: a[1:, 1:3], lambda a: a[None, :, 2]],
                         ids=["T", "step", "slice", "newaxis"])
def test_from_numpy_views(view, rng):
    a = _sample((4, 6), np.float32, rng)
    v = view(a)
    t = pydl.from_dlpack(v)
    assert t.shape == v.shape
    assert t.stride() == tuple(s // v.itemsize for s in v.strides) or v.size <= 1
    np.testing.assert_array_equal(t.numpy(), v)


def test_writes_visible_both_ways_numpy():
    a = np.zeros((2, 3), np.float32)
    t = pydl.from_dlpack(a)
    a[1, 2] = 7.0
    assert t[1, 2].item() == 7.0
    t.fill_(3.0)
    assert (a == 3.0).all()


def test_producer_lifetime_numpy():
    a = np.arange(12, dtype=np.float64).reshape(3, 4)
    ref = weakref.ref(a)
    t = pydl.from_dlpack(a)
    del a
    gc.collect()
    assert ref() is not None  # our Storage keeps the producer alive
    np.testing.assert_array_equal(t.numpy(), np.arange(12.0).reshape(3, 4))
    v = t[1:]  # a view shares the Storage
    del t
    gc.collect()
    assert ref() is not None
    del v
    gc.collect()
    assert ref() is None  # the deleter ran when the last view died


def test_capsule_is_renamed_and_single_use():
    a = np.arange(5.0)
    cap = a.__dlpack__()
    t = pydl.from_dlpack(cap)
    assert "used_dltensor" in repr(cap)
    np.testing.assert_array_equal(t.numpy(), a)
    with pytest.raises(ValueError, match="already consumed"):
        pydl.from_dlpack(cap)


def test_versioned_capsule():
    a = np.arange(5.0)
    cap = a.__dlpack__(max_version=(1, 0))
    assert "dltensor_versioned" in repr(cap)
    t = pydl.from_dlpack(cap)
    assert "used_dltensor_versioned" in repr(cap)
    assert t.data_ptr() == a.ctypes.data


def test_import_errors():
    with pytest.raises(TypeError, match="unsupported dtype"):
        pydl.from_dlpack(np.arange(3, dtype=np.int16))
    with pytest.raises(ValueError, match="negative strides"):
        pydl.from_dlpack(np.arange(4.0)[::-1])
    with pytest.raises(TypeError, match="DLPack capsule"):
        pydl.from_dlpack(42)


def test_zero_d_and_empty():
    s = pydl.from_dlpack(np.array(2.5))
    assert s.shape == () and s.item() == 2.5
    e = pydl.from_dlpack(np.zeros((0, 3), np.float32))
    assert e.shape == (0, 3)
    back = np.from_dlpack(pydl.zeros(0, 4))
    assert back.shape == (0, 4)
    assert np.from_dlpack(pydl.tensor(3.0)).shape == ()


# ------------------------------------------------------------------ pydl -> numpy

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_to_numpy_zero_copy_every_dtype(dtype, rng):
    src = _sample((3, 5), dtype, rng)
    t = pydl.from_numpy(src.copy())
    a = np.from_dlpack(t)
    assert a.dtype == src.dtype and a.ctypes.data == t.data_ptr()
    np.testing.assert_array_equal(a, src)
    v = t.T[1:, ::2]
    av = np.from_dlpack(v)
    assert av.ctypes.data == v.data_ptr()
    np.testing.assert_array_equal(av, src.T[1:, ::2])


def test_to_numpy_writes_and_lifetime():
    t = pydl.arange(12, dtype=pydl.float32).reshape(3, 4)
    a = np.from_dlpack(t.T)
    a[0, 1] = -1.0  # a is t.T: element (0, 1) is t[1, 0]
    assert t[1, 0].item() == -1.0
    t[2, 3] = 9.0
    assert a[3, 2] == 9.0
    del t
    gc.collect()
    _churn = [pydl.ones(3, 4) * 5 for _ in range(20)]  # would reuse freed memory
    assert a[3, 2] == 9.0 and a[0, 1] == -1.0 and a[0, 0] == 0.0


def test_unconsumed_capsule_frees_the_tensor():
    a = np.arange(4.0)
    ref = weakref.ref(a)
    t = pydl.from_numpy(a)
    del a
    cap = t.__dlpack__()
    del t
    gc.collect()
    assert ref() is not None
    del cap
    gc.collect()
    assert ref() is None


def test_export_protocol_details():
    t = pydl.ones(2, 3)
    assert t.__dlpack_device__() == (1, 0)
    assert "dltensor_versioned" in repr(t.__dlpack__(max_version=(1, 0)))
    assert "dltensor" in repr(t.__dlpack__())
    copied = np.from_dlpack(pydl.from_dlpack(t.__dlpack__(copy=True)))
    copied[0, 0] = 5
    assert t[0, 0].item() == 1.0
    with pytest.raises(BufferError):
        t.__dlpack__(stream=5)
    w = pydl.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        w.__dlpack__()
    assert np.from_dlpack(w.detach()).sum() == 2
    assert pydl.from_dlpack(t).data_ptr() == t.data_ptr()


# ------------------------------------------------------------------ PyTorch (CPU)

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
TORCH_DTYPES = ["bool", "uint8", "int64", "float32", "float64"]


@needs_torch
@pytest.mark.parametrize("name", TORCH_DTYPES)
def test_torch_round_trip_every_dtype(name, rng):
    src = _sample((4, 3), getattr(np, name if name != "bool" else "bool_"), rng)
    tt = torch.from_numpy(src.copy())
    p = pydl.from_dlpack(tt)
    assert p.data_ptr() == tt.data_ptr()
    np.testing.assert_array_equal(p.numpy(), src)
    back = torch.from_dlpack(p.T)
    assert back.data_ptr() == p.data_ptr() and back.stride() == p.T.stride()
    np.testing.assert_array_equal(back.numpy(), src.T)


@needs_torch
def test_torch_views_writes_and_lifetime():
    tt = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    p = pydl.from_dlpack(tt[:, 1::2])
    assert p.stride() == (6, 2)
    tt[0, 1] = 100.0
    assert p[0, 0].item() == 100.0
    p[3, 2] = -5.0
    assert tt[3, 5].item() == -5.0
    del tt
    gc.collect()
    np.testing.assert_array_equal(p[1].numpy(), [7.0, 9.0, 11.0])

    q = pydl.arange(10, dtype=pydl.int64)
    tq = torch.from_dlpack(q[::3])
    del q
    gc.collect()
    _churn = [pydl.arange(10, dtype=pydl.int64) * 7 for _ in range(20)]
    assert tq.tolist() == [0, 3, 6, 9]


# ------------------------------------------------------------------ on a GPU

@pytest.mark.cuda
def test_cuda_dlpack_device_and_stream():
    t = pydl.from_numpy(np.arange(6.0, dtype=np.float32)).to("cuda")
    assert t.__dlpack_device__() == (2, 0)
    assert "dltensor" in repr(t.__dlpack__(stream=-1))
    assert "dltensor" in repr(t.__dlpack__(stream=pydl.cuda.current_stream()))


@pytest.mark.cuda
def test_cuda_torch_round_trip():
    if torch is None or not torch.cuda.is_available():
        pytest.skip("PyTorch with CUDA is not available")
    for name in TORCH_DTYPES:
        src = torch.arange(12).reshape(3, 4).to(getattr(torch, name)).cuda()
        p = pydl.from_dlpack(src)
        assert p.device == pydl.device("cuda:0") and p.data_ptr() == src.data_ptr()
        np.testing.assert_array_equal(p.cpu().numpy(), src.cpu().numpy())
        back = torch.from_dlpack(p)
        assert back.data_ptr() == src.data_ptr()
    src = torch.zeros(4, 6, device="cuda")
    p = pydl.from_dlpack(src[:, ::2])
    assert p.stride() == (6, 2) and p.data_ptr() == src.data_ptr()
    whole = pydl.from_dlpack(src)
    src.fill_(3.0)  # torch's stream; pydl's copy below waits for it through the protocol or the device sync
    torch.cuda.synchronize()
    assert (whole.cpu().numpy() == 3.0).all()
    whole.copy_(pydl.ones(4, 6) * 2)  # host-to-device copy into torch's memory
    pydl.cuda.synchronize()
    assert src.eq(2).all()
    del src
    gc.collect()
    assert whole.cpu().numpy().sum() == 48.0  # torch's memory lives while our tensors do
    assert torch.from_dlpack(p).sum().item() == 24.0
    x = pydl.from_numpy(np.arange(8.0, dtype=np.float32)).to("cuda")
    tx = torch.from_dlpack(x)
    del x
    gc.collect()
    assert tx.cpu().tolist() == list(range(8))


@pytest.mark.cuda
def test_cuda_cupy_round_trip():
    cupy = pytest.importorskip("cupy")
    c = cupy.arange(10, dtype=cupy.float32)
    p = pydl.from_dlpack(c)
    assert p.data_ptr() == c.data.ptr
    np.testing.assert_array_equal(p.cpu().numpy(), cupy.asnumpy(c))
    back = cupy.from_dlpack(pydl.from_numpy(np.arange(4.0)).to("cuda"))
    np.testing.assert_array_equal(cupy.asnumpy(back), np.arange(4.0))
