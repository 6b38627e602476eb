"""``pydl.cuda``: is a GPU here? Works (and answers no) in a build without CUDA."""
from pydl import _C


def is_available():
    """True when pydl was built with CUDA and a driver and a GPU are present."""
    return _C.cuda_compiled() and _C.cuda_device_count() > 0


def is_built():
    return _C.cuda_compiled()


def device_count():
    return _C.cuda_device_count()


def get_device_name(device=0):
    if isinstance(device, str):
        device = int(device.partition(":")[2] or 0)
    return _C.cuda_device_name(device)


def unavailable_reason():
    """Why is_available() is False ('' when it is True)."""
    return _C.cuda_unavailable_reason() if is_available() or _C.cuda_compiled() else \
        "pydl was built without CUDA support"


def synchronize(device=0):
    _C.cuda_synchronize(device)
