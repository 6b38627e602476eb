"""``pydl.Tensor``: a C++ Array plus the autograd fields, with PyTorch's method names.

The methods are thin: each forwards to a function in ``pydl.ops`` (bound at the end of
this module), which records the graph when needed and calls into ``pydl._C``.
"""
import numbers

import numpy as np

from pydl import _C
from pydl._dtype import DTYPES, as_dtype, device, device_str


class Tensor:
    __slots__ = ("_a", "requires_grad", "grad", "_node", "_hooks", "__weakref__")
    __array_priority__ = 1000  # numpy defers to our reflected operators

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        t = tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        self._a = t._a
        self.requires_grad = t.requires_grad
        self.grad = None
        self._node = None
        self._hooks = None

    # ------------------------------------------------------------------ metadata
    @property
    def shape(self):
        return Size(self._a.shape)

    def size(self, dim=None):
        shape = self._a.shape
        if dim is None:
            return Size(shape)
        return shape[_wrap_dim(dim, len(shape), "size")]

    def dim(self):
        return self._a.ndim

    ndimension = dim

    @property
    def ndim(self):
        return self._a.ndim

    def numel(self):
        return self._a.numel

    nelement = numel

    def stride(self, dim=None):
        s = self._a.strides
        return s if dim is None else s[_wrap_dim(dim, len(s), "stride")]

    def storage_offset(self):
        return self._a.offset

    def data_ptr(self):
        return self._a.data_ptr

    def element_size(self):
        return self._a.itemsize

    def is_contiguous(self):
        return self._a.is_contiguous()

    @property
    def dtype(self):
        return DTYPES[self._a.dtype]

    @property
    def device(self):
        return device(self._a.device)

    @property
    def is_cuda(self):
        return self._a.is_cuda

    def is_floating_point(self):
        return DTYPES[self._a.dtype].is_floating_point

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    @property
    def data(self):
        """The same storage, detached from the graph."""
        return _wrap(self._a)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data: expected a Tensor, got {type(value).__name__}")
        self._a = value._a

    def __len__(self):
        if self._a.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._a.shape[0]

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._a.shape[0]))

    def __hash__(self):
        return id(self)

    # ------------------------------------------------------------------ conversion
    def numpy(self):
        if self.requires_grad:
            raise RuntimeError("numpy: the tensor requires grad; call tensor.detach().numpy()")
        return self._a.numpy()

    def __array__(self, dtype=None, copy=None):
        arr = self._a.to("cpu").numpy()
        return arr if dtype is None else arr.astype(dtype)

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.to("cpu").numpy().tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.is_floating_point or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError(f"bool: a tensor with {self.numel()} elements is ambiguous; use .any() or .all()")
        return bool(self.item())

    def to(self, *args, **kwargs):
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(other_tensor)``, or keywords."""
        dev, dt = kwargs.pop("device", None), kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None)
        kwargs.pop("copy", None)
        if kwargs:
            raise TypeError(f"to: unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dev, dt = a.device, a.dtype
            elif isinstance(a, (str, device)):
                dev = a
            else:
                dt = a
        return to_tensor(self, dev, as_dtype(dt))

    def cpu(self):
        return to_tensor(self, "cpu", None)

    def cuda(self, device=None):
        return to_tensor(self, "cuda" if device is None else (f"cuda:{device}" if isinstance(device, int) else device), None)

    def type(self, dtype=None):
        if dtype is None:
            return f"pydl.{self.dtype.name}"
        return self.to(dtype)

    def float(self):
        return to_tensor(self, None, _float32)

    def double(self):
        return to_tensor(self, None, _float64)

    def half(self):
        return to_tensor(self, None, _float16)

    def bfloat16(self):
        return to_tensor(self, None, _bfloat16)

    def long(self):
        return to_tensor(self, None, _int64)

    def bool(self):
        return to_tensor(self, None, _bool)

    def byte(self):
        return to_tensor(self, None, _uint8)

    # ------------------------------------------------------------------ autograd
    def backward(self, gradient=None, retain_graph=False):
        _backward(self, gradient, retain_graph)

    def detach(self):
        return _wrap(self._a)

    def detach_(self):
        self._node = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad=True):
        if self._node is not None and not requires_grad:
            raise RuntimeError("requires_grad_: cannot turn off requires_grad on a non-leaf tensor; use detach()")
        if requires_grad and not self.dtype.is_floating_point:
            raise RuntimeError(f"requires_grad_: only floating tensors can require gradients, got {self.dtype.name}")
        self.requires_grad = requires_grad
        return self

    def register_hook(self, hook):
        """Calls hook(grad) each time a gradient is accumulated into this leaf's .grad."""
        if self._node is not None:
            raise RuntimeError("register_hook: hooks are supported on leaf tensors only")
        self._hooks = (self._hooks or ()) + (hook,)
        return hook

    def retain_grad(self):
        raise NotImplementedError("retain_grad: not supported; read gradients of leaves")

    # ------------------------------------------------------------------ display
    def __repr__(self):
        cpu = self._a.to("cpu")
        arr = (cpu.astype(_float32.code) if self._a.dtype == _bfloat16.code else cpu).numpy()  # no numpy bfloat16
        body = np.array2string(arr, separator=", ", prefix="tensor(", precision=4, threshold=200, edgeitems=3)
        extras = []
        if self._a.device != "cpu":
            extras.append(f"device='{self._a.device}'")
        if self._a.dtype not in (_float32.code, _int64.code, _bool.code) or arr.size == 0:
            extras.append(f"dtype={self.dtype!r}")
        if self._node is not None:
            extras.append(f"grad_fn={self._node!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    __str__ = __repr__


class Size(tuple):
    """A shape, as PyTorch's ``torch.Size``: a tuple with ``numel()``."""

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"pydl.Size({list(self)})"


def _wrap(arr, requires_grad=False):
    """A Tensor around a C++ Array (the fast path every op's result takes)."""
    t = _new(Tensor)
    t._a = arr
    t.requires_grad = requires_grad
    t.grad = None
    t._node = None
    t._hooks = None
    return t


_new = object.__new__


def _wrap_dim(dim, ndim, op):
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of {ndim} dimension(s)")
    return dim % n


# ---------------------------------------------------------------------- creation
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
        return _float32
    return _int64 if "i" in kinds else _bool


def _to_array(data, dtype):
    """A new C++ Array holding a copy of data (Tensor, numpy array, scalar or nested list)."""
    if dtype is not None and dtype.numpy is None and not isinstance(data, Tensor):  # bfloat16: through float32
        return _to_array(data, _float32).astype(dtype.code)
    if isinstance(data, Tensor):
        arr = data._a.to("cpu")
        return arr.astype(dtype.code) if dtype is not None and dtype.code != arr.dtype else arr.clone()
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        nd = np.asarray(data)
        dt = dtype or _from_numpy_dtype(nd.dtype)
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


def to_tensor(t, dev, dt):
    """``t`` moved and/or cast, differentiably; ``t`` itself when nothing changes."""
    arr = t._a
    target = device_str(dev) if dev is not None else arr.device
    if target == arr.device and (dt is None or dt.code == arr.dtype):
        return t
    if dt is not None and not dt.is_floating_point:  # integer results never carry gradients
        return _wrap(arr.astype(dt.code).to(target))
    return _To.apply(t, target, dt)


def _ones_like(t):
    return _wrap(_C.full(list(t._a.shape), 1.0, t._a.dtype, t._a.device))


from pydl._dtype import bool_ as _bool, float32 as _float32, float64 as _float64  # noqa: E402
from pydl._dtype import bfloat16 as _bfloat16, float16 as _float16  # noqa: E402
from pydl._dtype import from_numpy_dtype as _from_numpy_dtype, int64 as _int64, uint8 as _uint8  # noqa: E402
from pydl.autograd.function import Function, backward as _backward  # noqa: E402


class _To(Function):
    @staticmethod
    def forward(ctx, t, target, dt):
        ctx.src = (t._a.device, t._a.dtype)
        arr = t._a
        if dt is not None:
            arr = arr.astype(dt.code)
        return _wrap(arr.to(target))

    @staticmethod
    def backward(ctx, g):
        dev, code = ctx.src
        return _wrap(g._a.to(dev).astype(code)), None, None


from pydl.tensor_methods import install as _install  # noqa: E402

_install(Tensor)
