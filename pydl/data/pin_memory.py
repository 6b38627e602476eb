"""``DataLoader(pin_memory=True)``: each batch's tensors copied into pinned (page-locked) host memory,
from which ``.to("cuda", non_blocking=True)`` queues the copy to the GPU without waiting. The batch's
structure is kept as ``torch.utils.data``'s pin_memory keeps it (tuples become lists)."""
import collections.abc
import warnings

from pydl import cuda
from pydl._dtype import device_str
from pydl.tensor import Tensor

NO_ACCELERATOR = ("'pin_memory' argument is set as true but no accelerator is found, then device pinned memory "
                  "won't be used.")


def check_pin_memory_device(device):
    """DataLoader's ``pin_memory_device``: '' (the current CUDA device) or a CUDA device."""
    if device in ("", None):
        return ""
    try:
        name = device_str(device)
    except (TypeError, ValueError):
        name = None
    if name is None or not name.startswith("cuda"):
        raise ValueError(f"DataLoader: pin_memory_device should be '' or a CUDA device ('cuda', 'cuda:N'), "
                         f"got {device!r}")
    return name


def pinning_usable():
    """True when batches can be pinned; otherwise warns (once per process, under Python's default
    warning filter) as PyTorch does, and batches stay ordinary CPU tensors."""
    if cuda.is_available():
        return True
    warnings.warn(NO_ACCELERATOR)
    return False


def pin_memory(data):
    if isinstance(data, Tensor):
        return data if data.is_cuda else data.pin_memory()
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        pinned = {k: pin_memory(v) for k, v in data.items()}
        try:
            return type(data)(pinned)
        except TypeError:  # a Mapping type that cannot be built from a dict
            return pinned
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return type(data)(*(pin_memory(d) for d in data))
    if isinstance(data, tuple):
        return [pin_memory(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        pinned = [pin_memory(d) for d in data]
        try:
            return type(data)(pinned)
        except TypeError:
            return pinned
    if hasattr(data, "pin_memory"):  # a custom batch type that pins itself
        return data.pin_memory()
    return data
