"""What every part of pydl.keras shares: Keras's float type and epsilon, unique layer names,
the training flag handed down through nested calls, and conversion of numpy inputs."""
import re
import threading

import numpy as np

import pydl
from pydl.tensor import Tensor

_EPSILON = 1e-7  # Keras's fuzz factor (keras.backend.epsilon()): clipping probabilities, optimizer defaults
_names = {}


def floatx():
    return "float32"


def epsilon():
    return _EPSILON


def set_epsilon(value):
    global _EPSILON
    _EPSILON = float(value)


def clear_session():
    """Resets the automatic layer names (dense, dense_1, ...), as keras.backend.clear_session()."""
    _names.clear()


def snake_case(name):
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def unique_name(base):
    """'dense', then 'dense_1', 'dense_2', ... for each base within the session."""
    n = _names.get(base, 0)
    _names[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


class _CallContext(threading.local):
    training = None  # set by the outermost layer call, read by the layers it calls


call_context = _CallContext()


def standardize_dtype(dtype):
    """A pydl dtype from a pydl dtype, a numpy dtype or a name ('float32'); None is floatx."""
    if dtype is None:
        return pydl.float32
    if isinstance(dtype, pydl.dtype):
        return dtype
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    try:
        return getattr(pydl, name) if name != "bool" else pydl.bool
    except AttributeError:
        raise ValueError(f"pydl.keras: unknown dtype {dtype!r}") from None


def convert_to_tensor(x, dtype=None, device=None):
    """A pydl Tensor from a Tensor, a numpy array, a list or a number. numpy float64 becomes float32
    (Keras's floatx) unless dtype says otherwise; integer arrays stay integers (int64)."""
    if isinstance(x, Tensor):
        t = x
    else:
        arr = np.asarray(x)
        if arr.dtype == object:
            raise TypeError(f"pydl.keras: cannot convert {type(x).__name__} to a tensor")
        if dtype is None and arr.dtype.kind == "f":
            arr = arr.astype(np.float32)
        elif arr.dtype.kind in "iu" and arr.dtype != np.uint8:
            arr = arr.astype(np.int64)
        t = pydl.from_numpy(np.ascontiguousarray(arr))
    if dtype is not None and t.dtype != dtype:
        t = t.to(dtype)
    if device is not None and t.device != pydl.device(device):
        t = t.to(device)
    return t


def to_numpy(x):
    if isinstance(x, Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)
