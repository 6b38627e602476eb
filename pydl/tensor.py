"""``pydl.Tensor``: a C++ Array plus the autograd fields, with PyTorch's method names.

Every method is declared in the class body. Most are thin: each is a function of an op module
(``pydl.ops.*``, ``pydl.creation``, ``pydl.dlpack``), which records the graph when needed and
calls into ``pydl._C``. Those modules import Tensor, so this module cannot import them at its
top: an ``_op`` entry names the function, and its first use imports the module and puts the
function itself on the class, so that ``x.exp()`` and ``pydl.exp(x)`` are the same call.
Constructor functions (``pydl.tensor``, ``from_numpy``, ``zeros``, ...) live in pydl.creation.
"""
import importlib

import numpy as np

from pydl import _C
from pydl._dtype import DTYPES, as_dtype, device, device_str
from pydl._dtype import bfloat16 as _bfloat16, bool_ as _bool, float16 as _float16, float32 as _float32
from pydl._dtype import float64 as _float64, int32 as _int32, int64 as _int64, uint8 as _uint8
from pydl.autograd.function import Function, backward as _backward
from pydl.autograd.tensor_base import TensorBase


class _op:
    """A Tensor method (or property) that is the function ``name`` of module ``pydl.<module>``,
    taking the tensor first; ``adapt`` (optional) turns that function into the method.

    The first lookup imports the module and replaces this descriptor on the class with the
    method itself, so later calls cost what a plain method costs. Special methods work too:
    Python looks ``__add__`` up on the type, and the lookup calls this descriptor."""

    __slots__ = ("module", "name", "adapt", "owner", "attr")

    def __init__(self, module, name=None, adapt=None):
        self.module, self.name, self.adapt = module, name, adapt

    def __set_name__(self, owner, attr):
        self.owner, self.attr = owner, attr
        if self.name is None:
            self.name = attr

    def __get__(self, obj, objtype=None):
        method = getattr(importlib.import_module("pydl." + self.module), self.name)
        if self.adapt is not None:
            method = self.adapt(method)
        setattr(self.owner, self.attr, method)
        return method.__get__(obj, objtype)

    def __repr__(self):
        return f"<Tensor.{self.attr}: pydl.{self.module}.{self.name}, not yet imported>"


def _reflected(fn):
    """``other op self``: the method behind ``2 - x`` (``x.__rsub__(2)``)."""
    return lambda self, other: fn(other, self)


def _condition_first(fn):
    """``x.where(condition, y)`` is ``where(condition, x, y)``."""
    return lambda self, condition, other: fn(condition, self, other)


def _with_shape_of(fn):
    """``x.view_as(y)`` is ``view(x, y.shape)``; likewise expand_as, reshape_as."""
    return lambda self, other: fn(self, list(other.shape))


_EW, _UN, _RED, _LIN = "ops.elementwise", "ops.unary", "ops.reduction", "ops.linalg"
_SHAPE, _IDX, _INPLACE, _SCAN, _SORT = "ops.shape", "ops.indexing", "ops.inplace", "ops.scan", "ops.sort"


class Tensor(TensorBase):
    __slots__ = ("_a", "__weakref__")  # and TensorBase's: requires_grad, grad, _node, _hooks
    __array_priority__ = 1000  # numpy defers to our reflected operators

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        from pydl.creation import tensor

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
        if self.requires_grad:  # as PyTorch: np.asarray would silently drop the graph
            raise RuntimeError("numpy: the tensor requires grad; call tensor.detach().numpy()")
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
        non_blocking = bool(kwargs.pop("non_blocking", False))
        kwargs.pop("copy", None)
        if kwargs:
            raise TypeError(f"to: unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dev, dt = a.device, a.dtype
            elif isinstance(a, (str, device)):
                dev = a
            elif isinstance(a, bool):  # to(device, dtype, non_blocking) positionally, as PyTorch
                non_blocking = a
            else:
                dt = a
        return to_tensor(self, dev, as_dtype(dt), non_blocking)

    def cpu(self):
        return to_tensor(self, "cpu", None)

    def cuda(self, device=None, non_blocking=False):
        """A copy on the GPU. ``non_blocking=True`` from pinned memory (``pin_memory()``) queues the
        copy on pydl's stream and returns at once; from ordinary memory the copy is done on return."""
        target = "cuda" if device is None else (f"cuda:{device}" if isinstance(device, int) else device)
        return to_tensor(self, target, None, non_blocking)

    def pin_memory(self, device=None):
        """A copy of this CPU tensor in page-locked host memory, which a GPU copies from
        asynchronously (``.to("cuda", non_blocking=True)``); the tensor itself when already pinned.
        RuntimeError when pydl has no usable CUDA GPU, as PyTorch without an accelerator."""
        if device is not None and not device_str(device).startswith("cuda"):
            raise ValueError(f"pin_memory: device should be a CUDA device, got {device!r}")
        if self._a.is_pinned:
            return self
        return _PinMemory.apply(self)

    def is_pinned(self, device=None):
        return self._a.is_pinned

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

    def int(self):
        return to_tensor(self, None, _int32)

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

    def _grad_seed(self):
        """backward()'s implicit gradient: ones like this tensor."""
        a = self._a
        return _wrap(_C.full(list(a.shape), 1.0, a.dtype, a.device))

    # ------------------------------------------------------------------ operators
    __add__ = _op(_EW, "add")
    __radd__ = _op(_EW, "add", _reflected)
    __sub__ = _op(_EW, "sub")
    __rsub__ = _op(_EW, "sub", _reflected)
    __mul__ = _op(_EW, "mul")
    __rmul__ = _op(_EW, "mul", _reflected)
    __truediv__ = _op(_EW, "div")
    __rtruediv__ = _op(_EW, "div", _reflected)
    __mod__ = _op(_EW, "remainder")
    __rmod__ = _op(_EW, "remainder", _reflected)
    __floordiv__ = _op(_EW, "floor_divide")
    __rfloordiv__ = _op(_EW, "floor_divide", _reflected)
    __pow__ = _op(_EW, "pow")
    __rpow__ = _op(_EW, "pow", _reflected)
    __matmul__ = _op(_LIN, "matmul")
    __rmatmul__ = _op(_LIN, "matmul", _reflected)
    __neg__ = _op(_UN, "neg")
    __abs__ = _op(_UN, "abs")

    def __pos__(self):
        return self

    __eq__ = _op(_EW, "eq")
    __ne__ = _op(_EW, "ne")
    __lt__ = _op(_EW, "lt")
    __le__ = _op(_EW, "le")
    __gt__ = _op(_EW, "gt")
    __ge__ = _op(_EW, "ge")
    __and__ = _op(_EW, "bitwise_and")
    __rand__ = _op(_EW, "bitwise_and", _reflected)
    __or__ = _op(_EW, "bitwise_or")
    __ror__ = _op(_EW, "bitwise_or", _reflected)
    __xor__ = _op(_EW, "bitwise_xor")
    __rxor__ = _op(_EW, "bitwise_xor", _reflected)
    __lshift__ = _op(_EW, "bitwise_left_shift")
    __rlshift__ = _op(_EW, "bitwise_left_shift", _reflected)
    __rshift__ = _op(_EW, "bitwise_right_shift")
    __rrshift__ = _op(_EW, "bitwise_right_shift", _reflected)
    __invert__ = _op(_EW, "bitwise_not")
    __iadd__ = _op(_INPLACE, "iadd")  # in place unless autograd needs the old value
    __isub__ = _op(_INPLACE, "isub")
    __imul__ = _op(_INPLACE, "imul")
    __itruediv__ = _op(_INPLACE, "itruediv")
    __iand__ = _op(_INPLACE, "iand")
    __ior__ = _op(_INPLACE, "ior")
    __ixor__ = _op(_INPLACE, "ixor")

    # ------------------------------------------------------------------ elementwise
    add = _op(_EW)
    sub = _op(_EW)
    mul = _op(_EW)
    div = _op(_EW)
    pow = _op(_EW)
    maximum = _op(_EW)
    fmod = _op(_EW)
    remainder = _op(_EW)
    floor_divide = _op(_EW)
    isnan = _op("ops.numeric")
    isinf = _op("ops.numeric")
    isfinite = _op("ops.numeric")
    isposinf = _op("ops.numeric")
    isneginf = _op("ops.numeric")
    isclose = _op("ops.numeric")
    allclose = _op("ops.numeric")
    lerp = _op("ops.numeric")
    logaddexp = _op("ops.numeric")
    minimum = _op(_EW)
    eq = _op(_EW)
    ne = _op(_EW)
    lt = _op(_EW)
    le = _op(_EW)
    gt = _op(_EW)
    ge = _op(_EW)
    neg = _op(_UN)
    exp = _op(_UN)
    log = _op(_UN)
    sqrt = _op(_UN)
    rsqrt = _op(_UN)
    abs = _op(_UN)
    sign = _op(_UN)
    tanh = _op(_UN)
    sin = _op(_UN)
    cos = _op(_UN)
    tan = _op(_UN)
    floor = _op(_UN)
    ceil = _op(_UN)
    trunc = _op(_UN)
    fix = _op(_UN)
    round = _op(_UN)
    erf = _op(_UN)
    log2 = _op(_UN)
    log10 = _op(_UN)
    exp2 = _op(_UN)
    __round__ = _op(_UN, "round")
    __floor__ = _op(_UN, "floor")
    __ceil__ = _op(_UN, "ceil")
    __trunc__ = _op(_UN, "trunc")
    sigmoid = _op(_UN)
    relu = _op(_UN)
    softmax = _op("nn.functional.activation")
    log_softmax = _op("nn.functional.activation")
    log1p = _op(_UN)
    expm1 = _op(_UN)
    square = _op(_EW)
    clamp = _op(_EW)
    clip = _op(_EW, "clamp")
    logical_and = _op(_EW)
    logical_or = _op(_EW)
    logical_not = _op(_EW)
    logical_xor = _op(_EW)
    bitwise_and = _op(_EW)
    bitwise_or = _op(_EW)
    bitwise_xor = _op(_EW)
    bitwise_not = _op(_EW)
    bitwise_left_shift = _op(_EW)
    bitwise_right_shift = _op(_EW)
    where = _op(_EW, "where", _condition_first)
    matmul = _op(_LIN)
    mm = _op(_LIN)
    dot = _op(_LIN)
    tril = _op(_LIN)
    triu = _op(_LIN)

    # ------------------------------------------------------------------ in place
    add_ = _op(_INPLACE)
    sub_ = _op(_INPLACE)
    mul_ = _op(_INPLACE)
    div_ = _op(_INPLACE)
    zero_ = _op(_INPLACE)
    fill_ = _op(_INPLACE)
    copy_ = _op(_INPLACE)
    uniform_ = _op(_INPLACE)
    normal_ = _op(_INPLACE)
    scatter_ = _op(_INPLACE)
    scatter_add_ = _op(_INPLACE)
    scatter_reduce_ = _op(_INPLACE)
    masked_fill_ = _op(_INPLACE)
    clamp_ = _op(_INPLACE)
    clip_ = _op(_INPLACE, "clamp_")

    # ------------------------------------------------------------------ reductions
    sum = _op(_RED)
    mean = _op(_RED)
    var = _op(_RED)
    std = _op(_RED)
    max = _op(_RED)
    min = _op(_RED)
    amax = _op(_RED)
    amin = _op(_RED)
    argmax = _op(_RED)
    argmin = _op(_RED)
    logsumexp = _op(_RED)
    norm = _op(_RED)
    flip = _op("ops.rearrange")
    fliplr = _op("ops.rearrange")
    flipud = _op("ops.rearrange")
    roll = _op("ops.rearrange")
    diagonal = _op("ops.rearrange")
    diag = _op("ops.rearrange")
    diag_embed = _op("ops.rearrange")
    masked_select = _op(_IDX)
    nonzero = _op(_IDX)
    argwhere = _op(_IDX)
    scatter = _op(_IDX)
    scatter_reduce = _op(_IDX)
    cumsum = _op(_SCAN)
    cumprod = _op(_SCAN)
    logcumsumexp = _op(_SCAN)
    cummax = _op(_SCAN)
    cummin = _op(_SCAN)
    prod = _op(_SCAN)
    sort = _op(_SORT)
    argsort = _op(_SORT)
    msort = _op(_SORT)
    topk = _op(_SORT)
    kthvalue = _op(_SORT)
    all = _op(_RED)
    any = _op(_RED)

    # ------------------------------------------------------------------ shapes and views
    view = _op(_SHAPE)
    reshape = _op(_SHAPE)
    squeeze = _op(_SHAPE)
    unsqueeze = _op(_SHAPE)
    flatten = _op(_SHAPE)
    unflatten = _op(_SHAPE)
    permute = _op(_SHAPE)
    movedim = _op(_SHAPE)
    transpose = _op(_SHAPE)
    t = _op(_SHAPE)
    expand = _op(_SHAPE)
    broadcast_to = _op(_SHAPE)
    repeat = _op(_SHAPE)
    tile = _op(_SHAPE)
    repeat_interleave = _op(_SHAPE)
    expand_as = _op(_SHAPE, "expand", _with_shape_of)
    view_as = _op(_SHAPE, "view", _with_shape_of)
    reshape_as = _op(_SHAPE, "reshape", _with_shape_of)
    contiguous = _op(_SHAPE)
    clone = _op(_SHAPE)
    narrow = _op(_SHAPE)
    split = _op(_SHAPE)
    chunk = _op(_SHAPE)
    unbind = _op(_SHAPE)

    @property
    def T(self):
        """The dimensions reversed."""
        return self.permute(list(range(self._a.ndim))[::-1])

    @property
    def mT(self):
        """The last two dimensions swapped (a batch of matrices, transposed)."""
        return self.transpose(-2, -1)

    # ------------------------------------------------------------------ indexing
    __getitem__ = _op(_IDX, "getitem")
    __setitem__ = _op(_IDX, "setitem")
    gather = _op(_IDX)
    scatter_add = _op(_IDX)
    index_select = _op(_IDX)
    index_add = _op(_IDX)
    masked_fill = _op(_IDX)

    # ------------------------------------------------------------------ new tensors, DLPack
    new_tensor = _op("creation")
    new_empty = _op("creation")
    new_zeros = _op("creation")
    new_ones = _op("creation")
    new_full = _op("creation")
    __dlpack__ = _op("dlpack", "_tensor_dlpack")
    __dlpack_device__ = _op("dlpack", "_tensor_dlpack_device")

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


def to_tensor(t, dev, dt, non_blocking=False):
    """``t`` moved and/or cast, differentiably; ``t`` itself when nothing changes."""
    arr = t._a
    target = device_str(dev) if dev is not None else arr.device
    if target == arr.device and (dt is None or dt.code == arr.dtype):
        return t
    if dt is not None and not dt.is_floating_point:  # integer results never carry gradients
        return _wrap(arr.astype(dt.code).to(target, non_blocking))
    return _To.apply(t, target, dt, non_blocking)


class _To(Function):
    @staticmethod
    def forward(ctx, t, target, dt, non_blocking):
        ctx.src = (t._a.device, t._a.dtype)
        arr = t._a
        if dt is not None:
            arr = arr.astype(dt.code)
        return _wrap(arr.to(target, non_blocking))

    @staticmethod
    def backward(ctx, g):
        dev, code = ctx.src
        return _wrap(g._a.to(dev).astype(code)), None, None, None


class _PinMemory(Function):
    @staticmethod
    def forward(ctx, t):
        return _wrap(t._a.pin_memory())

    @staticmethod
    def backward(ctx, g):
        return g

