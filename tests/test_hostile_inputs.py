"""Inputs a real program meets that must raise a clear error, never crash or return garbage:
shapes whose size overflows 64 bits, mismatched bool masks, out-of-range indices."""
import ctypes

import numpy as np
import pytest

import pydl

HUGE = 2**31


@pytest.mark.parametrize("make, op", [
    (lambda: pydl.empty(2**62), "empty"),  # 2**62 float32s: the byte count wraps to 0
    (lambda: pydl.zeros(HUGE, HUGE, HUGE), "zeros"),  # numel wraps to 0
    (lambda: pydl.ones(2**40, 2**40), "ones"),
    (lambda: pydl.rand(2**33, 2**31), "rand"),
    (lambda: pydl.randn(2**62, 4), "randn"),
    (lambda: pydl.full((2**62, 2**62), 1.0), "full"),
    (lambda: pydl.empty(2**64), "empty"),  # a dim beyond int64
])
def test_creation_whose_size_overflows_raises(make, op):
    with pytest.raises(ValueError, match=f"^{op}: .*shape .* than a 64-bit size can count"):
        make()


def test_zero_sized_shapes_with_huge_dims_are_empty():
    t = pydl.zeros(0, 2**62, 2**62)
    assert t.shape == (0, 2**62, 2**62) and t.numel() == 0


def test_negative_dimension_raises():
    with pytest.raises(ValueError, match="zeros: negative dimension"):
        pydl.zeros(3, -1)


@pytest.mark.parametrize("view, op", [
    (lambda x: x.reshape(2**40, 2**40, -1), "reshape"),
    (lambda x: x.expand(2**40, 2**40, 4, 4), "expand"),
    (lambda x: x.view(2**62, 2**62, 0), None),
])
def test_views_whose_size_overflows_raise(view, op):
    x = pydl.ones(4, 4)
    with pytest.raises(ValueError, match=(f"^{op}: " if op else "") + ".*"):
        view(x)


def test_arange_with_too_many_elements_raises():
    with pytest.raises(ValueError, match="arange: .*64-bit"):
        pydl.arange(0, 1e30)


def test_cat_whose_size_overflows_raises():
    big = pydl.zeros(1, 1).expand(1, 2**62)  # one element behind it: stride 0
    assert big.shape == (1, 2**62)
    with pytest.raises(ValueError, match="64-bit"):
        pydl.cat([big, big, big, big], dim=1)


# ------------------------------------------------------------------ indexing
def test_bool_mask_shorter_than_the_dim_raises():
    with pytest.raises(IndexError, match=r"mask \[2\] at index 0 does not match .* \[3, 4\]"):
        pydl.ones(3, 4)[pydl.tensor([True, False])]


def test_bool_mask_after_a_slice_is_checked_against_its_dim():
    x = pydl.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(x[:, pydl.tensor([True, False, True, False])].numpy(),
                                  np.arange(12.0).reshape(3, 4)[:, [0, 2]])
    with pytest.raises(IndexError, match="at index 1"):
        x[:, pydl.tensor([True, False, True])]
    with pytest.raises(IndexError, match="mask"):
        x[..., np.array([True, False])]


def test_matching_bool_mask_selects_like_numpy():
    a = np.arange(24.0).reshape(2, 3, 4)
    mask = a[:, :, 0] > 5
    np.testing.assert_array_equal(pydl.tensor(a)[pydl.tensor(mask)].numpy(), a[mask])


@pytest.mark.parametrize("index", [[3], [-4], [0, 7]])
def test_integer_index_out_of_range_raises(index):
    with pytest.raises(IndexError):
        pydl.ones(3, 2)[pydl.tensor(index)]


def test_out_of_range_gather_and_index_select_raise():
    x = pydl.ones(3, 2)
    with pytest.raises(IndexError):
        pydl.index_select(x, 0, pydl.tensor([5]))
    with pytest.raises(IndexError):
        pydl.gather(x, 1, pydl.tensor([[0], [2], [1]]))


# ---------------------------------------------------------------------- a producer's DLPack capsule
class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice), ("ndim", ctypes.c_int32), ("dtype", _DLDataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


class _DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", ctypes.c_void_p)]


def _capsule(shape, strides=None):
    """A legacy 'dltensor' capsule describing a float32 CPU tensor of this shape over a small
    buffer, as a hostile or buggy producer might hand one over (no deleter)."""
    buf = (ctypes.c_float * 16)()
    dims = (ctypes.c_int64 * len(shape))(*shape)
    steps = (ctypes.c_int64 * len(shape))(*strides) if strides else None
    managed = _DLManagedTensor(_DLTensor(ctypes.cast(buf, ctypes.c_void_p), _DLDevice(1, 0), len(shape),
                                         _DLDataType(2, 32, 1), dims, steps, 0), None, None)
    new = ctypes.pythonapi.PyCapsule_New
    new.restype, new.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    return new(ctypes.addressof(managed), b"dltensor", None), (buf, dims, steps, managed)


@pytest.mark.parametrize("shape, strides", [((2**40, 2**40), None), ((2**61,), None), ((3, 3), (2**62, 1))],
                         ids=["elements", "bytes", "strides"])
def test_dlpack_import_whose_size_overflows_raises(shape, strides):
    capsule, keep = _capsule(shape, strides)
    with pytest.raises(ValueError, match="from_dlpack"):
        pydl.from_dlpack(capsule)
    del keep


def test_dlpack_import_of_a_sound_capsule_views_it():
    capsule, keep = _capsule((2, 3))
    ctypes.memmove(keep[0], np.arange(6, dtype=np.float32).ctypes.data, 24)
    assert pydl.from_dlpack(capsule).numpy().tolist() == [[0, 1, 2], [3, 4, 5]]


# The entry points of the scan, sort and resample kernels, called straight (as a user of pydl._C
# could): every bad argument raises before a kernel runs.
def _long(values):
    return pydl.tensor(values)._a


RESAMPLE_CASES = [
    (lambda x: pydl._C.resample(x, 1, _long([0, 5]), None, 2), IndexError, "index 5 is out of bounds"),
    (lambda x: pydl._C.resample(x, 1, _long([0, -1]), None, 2), IndexError, "index -1 is out of bounds"),
    (lambda x: pydl._C.resample(x, 1, _long([0, 1, 2]), None, 2), ValueError, "source positions per output"),
    (lambda x: pydl._C.resample(x, 1, _long([0, 1]), None, -2), ValueError, "must be non-negative"),
    (lambda x: pydl._C.resample(x, 3, _long([0]), None, 1), IndexError, "dim 3"),
    (lambda x: pydl._C.resample(x, 1, pydl.tensor([0.0])._a, None, 1), TypeError, "int64 or int32 index"),
    (lambda x: pydl._C.resample(x, 1, _long([0, 1]), pydl.ones(2, dtype=pydl.float64)._a, 1), TypeError,
     "weights of the data's dtype"),
    (lambda x: pydl._C.resample(x, 1, _long([0, 1]), pydl.ones(3)._a, 1), ValueError, "expected 2 weights"),
    (lambda x: pydl._C.resample_backward(x, 1, _long([0, 9, 1]), None, 3), IndexError, "out of bounds"),
    (lambda x: pydl._C.resample_backward(pydl.ones(2, 2, dtype=pydl.int64)._a, 1, _long([0, 1]), None, 3),
     TypeError, "float"),
    (lambda x: pydl._C.sort(x, 0, False, 3, "topk"), IndexError, "k = 3 is out of range"),
    (lambda x: pydl._C.sort(x, 0, False, -5, "topk"), IndexError, "k = -5"),
    (lambda x: pydl._C.sort(x, 5, False, 1, "sort"), IndexError, "dim 5"),
    (lambda x: pydl._C.scan(pydl._C.Scan.CUMSUM, x, -3, False, False), IndexError, "dim -3"),
    (lambda x: pydl._C.scan(pydl._C.Scan.LOGCUMSUMEXP, pydl.ones(2, dtype=pydl.int64)._a, 0, False, False),
     TypeError, "logcumsumexp"),
    (lambda x: x.view_as(pydl.float64.code), ValueError, "multiples of 2"),
]


@pytest.mark.parametrize("call, error, words", RESAMPLE_CASES)
def test_new_kernel_entry_points_refuse_bad_arguments(call, error, words):
    x = pydl.ones(2, 3)._a
    with pytest.raises(error, match=words):
        call(x)
