"""Every way to make a tensor, with PyTorch's signatures: ``tensor(data)``, ``from_numpy(a)``,
``zeros(2, 3, dtype=..., device=..., requires_grad=...)``, the ``*_like`` functions, and the
``Tensor.new_*`` methods (``x.new_ones(2, 3)``: x's dtype and device unless given)."""
import numbers

import operator

import numpy as np

from pydl import _C
from pydl._C import ArgumentError, DTypeError
from pydl._dtype import as_dtype, bool_, device_str, float32, float64, from_numpy_dtype, int64
from pydl.tensor import Tensor, _wrap


def _infer_dtype(data):
    """PyTorch's inference for Python data: bool, then int64, else float32."""
    kinds = set()

    def walk(x):
        if isinstance(x, (list, tuple)):
            for y in x:
                walk(y)
        elif x is None:
            raise TypeError("tensor: cannot infer a dtype for None; data must be numbers")
        elif isinstance(x, (bool, np.bool_)):
            kinds.add("b")
        elif isinstance(x, numbers.Integral):
            kinds.add("i")
        else:
            kinds.add("f")

    walk(data)
    if "f" in kinds or not kinds:
        return float32
    return int64 if "i" in kinds else bool_


def _to_array(data, dtype):
    """A new C++ Array holding a copy of data (Tensor, numpy array, scalar or nested list)."""
    if dtype is not None and dtype.numpy is None and not isinstance(data, Tensor):  # bfloat16: through float32
        return _to_array(data, float32).astype(dtype.code)
    if isinstance(data, Tensor):
        arr = data._a.to("cpu")
        return arr.astype(dtype.code) if dtype is not None and dtype.code != arr.dtype else arr.clone()
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        nd = np.asarray(data)
        dt = dtype or from_numpy_dtype(nd.dtype)
    else:
        dt = dtype or _infer_dtype(data)
        try:
            nd = np.asarray(data, dtype=dt.numpy)
        except (ValueError, TypeError) as e:
            raise TypeError(f"tensor: cannot build a tensor from {type(data).__name__}: {e}") from None
    nd = np.asarray(nd, dtype=dt.numpy, order="C")  # not ascontiguousarray: it turns 0-d into 1-d
    if nd.dtype.kind == "O":
        raise TypeError("tensor: data must be numbers")
    return _C.from_numpy(nd.copy())


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor copying data (list, scalar, numpy array or Tensor), as ``torch.tensor``."""
    dt = as_dtype(dtype)
    arr = _to_array(data, dt)
    if device is not None:
        arr = arr.to(device_str(device))
    t = _wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def from_numpy(ndarray):
    """A tensor sharing ndarray's memory (as ``torch.from_numpy``)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(ndarray).__name__}")
    return _wrap(_C.from_numpy(ndarray))


def _shape(size, op):
    """A creation op's size (ints, or one tuple/list of them), checked so that its element count
    fits a 64-bit size: never a wrapped number in C++."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    shape = [operator.index(s) for s in size]
    count = 1
    for s in shape:
        if s < 0:
            raise ArgumentError(f"{op}: negative dimension {s} in shape {tuple(shape)}")
        count *= s
    if count >= 2**63 or any(s >= 2**63 for s in shape):
        raise ArgumentError(f"{op}: a tensor of shape {tuple(shape)} has more elements than a 64-bit size can count")
    return shape


def _finish(arr, requires_grad):
    t = _wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _pinned_empty(op, shape, code, device):
    """``pin_memory=True``: page-locked host memory (``Tensor.pin_memory``), for CPU tensors only."""
    if device_str(device) != "cpu":
        raise RuntimeError(f"{op}: only CPU tensors can be pinned (pin_memory=True), got device={device!r}")
    return _C.empty_pinned(shape, code, op)


def _filled(op, shape, value, code, device, pin_memory):
    if not pin_memory:
        return _C.full(shape, value, code, device_str(device))
    arr = _pinned_empty(op, shape, code, device)
    arr.fill_(value)
    return arr


def empty(*size, dtype=None, device=None, requires_grad=False, pin_memory=False):
    shape, code = _shape(size, "empty"), (as_dtype(dtype) or float32).code
    arr = _pinned_empty("empty", shape, code, device) if pin_memory else _C.empty(shape, code, device_str(device))
    return _finish(arr, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False, pin_memory=False):
    if dtype is None:
        dtype = "bool" if isinstance(fill_value, bool) else "int64" if isinstance(fill_value, int) else float32
    return _finish(_filled("full", _shape((size,), "full"), float(fill_value), as_dtype(dtype).code, device,
                           pin_memory), requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False, pin_memory=False):
    return _finish(_filled("zeros", _shape(size, "zeros"), 0.0, (as_dtype(dtype) or float32).code, device,
                           pin_memory), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, pin_memory=False):
    return _finish(_filled("ones", _shape(size, "ones"), 1.0, (as_dtype(dtype) or float32).code, device,
                           pin_memory), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    m = n if m is None else m
    out = _C.full([n, m], 0.0, (as_dtype(dtype) or float32).code, "cpu")
    k = min(n, m)
    if k:
        # the diagonal of a contiguous (n, m) array is a strided view with step m + 1
        out.reshape([n * m]).slice(0, 0, (k - 1) * (m + 1) + 1, m + 1).fill_(1.0)  # k entries, not n*m/(m+1)
    return _finish(out.to(device_str(device)), requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    if dtype is None:
        integral = all(isinstance(v, int) for v in (start, end, step))
        dtype = int64 if integral else float32
    return _finish(_C.arange(float(start), float(end), float(step), as_dtype(dtype).code, device_str(device)),
                   requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    if steps < 0:
        raise ArgumentError(f"linspace: steps must be non-negative, got {steps}")
    dt = as_dtype(dtype) or float32
    if dt == bool_:
        raise DTypeError("linspace: bool is not a supported dtype (expected a numeric one)")
    step = (end - start) / (steps - 1) if steps > 1 else 0.0
    arr = _C.arange(0.0, float(steps), 1.0, dt.code if dt.is_floating_point else float64.code, "cpu")  # ints: via float64
    out = _wrap(arr) * step + start if steps > 1 else _wrap(arr) * 0.0 + start
    return _finish(out._a.astype(dt.code).to(device_str(device)), requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None):
    return _finish(_C.uniform(_shape(size, "rand"), 0.0, 1.0, (as_dtype(dtype) or float32).code, device_str(device)),
                   requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None):
    return _finish(_C.normal(_shape(size, "randn"), 0.0, 1.0, (as_dtype(dtype) or float32).code, device_str(device)),
                   requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None):
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ArgumentError(f"randint: expected low < high, got {low} and {high}")
    # float64 uniforms in [0, high - low) truncate to uniform integers (exact below 2**53)
    u = _C.uniform(_shape((size,), "randint"), 0.0, float(high - low), float64.code, "cpu")
    out = _C.binary_scalar(_C.Binary.ADD, u.astype(int64.code), low, False, False)  # + low
    return _wrap(out.astype((as_dtype(dtype) or int64).code).to(device_str(device)))


def randperm(n, dtype=None, device=None):
    """A random permutation of 0..n-1 (sorting Philox keys)."""
    keys = _C.uniform([n], 0.0, 1.0, float64.code, "cpu").numpy()
    perm = np.argsort(keys, kind="stable").astype(np.int64)
    return _wrap(_C.from_numpy(perm).astype((as_dtype(dtype) or int64).code).to(device_str(device)))


def _like(fn):
    def like(t, dtype=None, device=None, requires_grad=False, **kw):
        return fn(*t._a.shape, dtype=dtype or t.dtype, device=device or t._a.device, requires_grad=requires_grad, **kw)

    like.__name__ = fn.__name__ + "_like"
    return like


empty_like, zeros_like, ones_like, rand_like, randn_like = (_like(f) for f in (empty, zeros, ones, rand, randn))


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False):
    return full(t._a.shape, fill_value, dtype=dtype or t.dtype, device=device or t._a.device,
                requires_grad=requires_grad)


# Tensor.new_*: x's dtype and device unless given (as torch.Tensor.new_*).
def new_tensor(x, data, dtype=None, device=None, requires_grad=False):
    return tensor(data, dtype=dtype or x.dtype, device=device or x._a.device, requires_grad=requires_grad)


def _new(x, size, value, dtype, device, requires_grad):
    a = x._a
    code = a.dtype if dtype is None else as_dtype(dtype).code
    dev = a.device if device is None else device_str(device)
    shape = _shape(size, "new_empty" if value is None else "new_full")
    arr = _C.empty(shape, code, dev) if value is None else _C.full(shape, value, code, dev)
    return _finish(arr, requires_grad)


def new_empty(x, *size, dtype=None, device=None, requires_grad=False):
    return _new(x, size, None, dtype, device, requires_grad)


def new_zeros(x, *size, dtype=None, device=None, requires_grad=False):
    return _new(x, size, 0.0, dtype, device, requires_grad)


def new_ones(x, *size, dtype=None, device=None, requires_grad=False):
    return _new(x, size, 1.0, dtype, device, requires_grad)


def new_full(x, size, fill_value, dtype=None, device=None, requires_grad=False):
    return _new(x, (size,), float(fill_value), dtype, device, requires_grad)


def manual_seed(seed):
    """Seeds the Philox generator (every device shares it): (seed, offset=0)."""
    _C.manual_seed(int(seed) & 0xFFFFFFFFFFFFFFFF)


def initial_seed():
    return _C.rng_state()[0]
