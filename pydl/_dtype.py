"""Element types and devices, PyTorch-style: ``pydl.float32``, ``pydl.device("cuda:0")``."""
import numpy as np

from pydl import _C


class dtype:
    __slots__ = ("name", "code", "itemsize", "is_floating_point", "is_signed", "numpy")

    def __init__(self, name, code, itemsize, is_floating_point, numpy_dtype):
        self.name = name
        self.code = code
        self.itemsize = itemsize
        self.is_floating_point = is_floating_point
        self.is_signed = name not in ("bool", "uint8")
        self.numpy = None if numpy_dtype is None else np.dtype(numpy_dtype)  # bfloat16 has none

    def __repr__(self):
        return f"pydl.{self.name}"

    def __reduce__(self):
        return (_dtype_by_name, (self.name,))


def _code(name):
    """The dtype's code in pydl._C (the registry in kernels/common/dtype.h)."""
    return int(getattr(_C.DType, name.upper()))


bool_ = dtype("bool", _code("bool"), 1, False, np.bool_)
uint8 = dtype("uint8", _code("uint8"), 1, False, np.uint8)
int32 = dtype("int32", _code("int32"), 4, False, np.int32)
int64 = dtype("int64", _code("int64"), 8, False, np.int64)
float32 = dtype("float32", _code("float32"), 4, True, np.float32)
float64 = dtype("float64", _code("float64"), 8, True, np.float64)
# Storage types for the GPU's tensor cores: creation, casts and matmul (on the CPU through
# float32); every other op raises a TypeError. bfloat16 has no numpy type: .numpy() raises
# (call .float() first) and tensor(data, dtype=bfloat16) is built through float32.
float16 = dtype("float16", _code("float16"), 2, True, np.float16)
bfloat16 = dtype("bfloat16", _code("bfloat16"), 2, True, None)
half = float16

DTYPES = tuple(sorted((bool_, uint8, int32, int64, float32, float64, float16, bfloat16), key=lambda d: d.code))  # by code
assert len(DTYPES) == len(_C.DType.__members__), "a dtype of _C.DType has no pydl.dtype"
HALF_CODES = (float16.code, bfloat16.code)
_ALIASES = {
    "bool": bool_, "uint8": uint8, "int32": int32, "int": int32, "int64": int64, "long": int64,
    "float32": float32, "float": float32,
    "float64": float64, "double": float64, "float16": float16, "half": float16, "bfloat16": bfloat16,
}


def _dtype_by_name(name):
    return _ALIASES[name]


def as_dtype(d):
    """Resolves a pydl dtype, a name, a numpy dtype or a Python type (as PyTorch: float is float64)."""
    if d is None or isinstance(d, dtype):
        return d
    if d is float:
        return float64
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str) and d in _ALIASES:
        return _ALIASES[d]
    try:
        return from_numpy_dtype(np.dtype(d))
    except TypeError:
        raise TypeError(f"unsupported dtype {d!r}; expected one of bool, uint8, int32, int64, float32, float64, float16, "
                        "bfloat16") from None


def from_numpy_dtype(nd):
    """Our dtype for a numpy one, widening what we lack: other integers (int8, int16, uint16, ...) to int64."""
    for d in DTYPES:
        if d.numpy == nd:
            return d
    if nd.kind == "f" and nd.itemsize < 4:
        return float32
    if nd.kind in "iu" or nd.kind == "b":
        return int64 if nd.kind != "b" else bool_
    raise TypeError(f"unsupported numpy dtype {nd}; expected bool, integer or floating")


class device:
    """Where a tensor lives: ``device("cpu")``, ``device("cuda")``, ``device("cuda", 1)``."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        elif ":" in type:
            type, _, idx = type.partition(":")
            if not idx.isdigit():
                raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got '{type}:{idx}'")
            index = int(idx)
        if type not in ("cpu", "cuda"):
            raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got '{type}'")
        self.type = type
        self.index = (index or 0) if type == "cuda" else None

    def __str__(self):
        return self.type if self.type == "cpu" else f"cuda:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}'" + (f", index={self.index})" if self.type == "cuda" else ")")

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))


def device_str(d):
    """The canonical device string ('cpu' or 'cuda:N') for anything device() accepts."""
    if d is None:
        return "cpu"
    if isinstance(d, str) and d in ("cpu", "cuda:0"):  # (a device object equals these strings too)
        return d
    return str(device(d))
