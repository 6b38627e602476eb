"""``pydl.cuda``: is a GPU here, and what does pydl hold on it. Works (and answers no, or
0) in a build without CUDA or on a machine without a GPU."""
from pydl import _C


def _index(device):
    """A device index from None (device 0), an int, 'cuda', 'cuda:N' or a pydl.device."""
    if device is None:
        return 0
    if isinstance(device, int):
        return device
    if not isinstance(device, str) and getattr(device, "type", None) == "cuda":  # a pydl.device
        return device.index or 0
    text = str(device)
    if text == "cuda":
        return 0
    if text.startswith("cuda:") and text[5:].isdigit():
        return int(text[5:])
    raise ValueError(f"pydl.cuda: expected a CUDA device (None, N, 'cuda' or 'cuda:N'), got {device!r}")


def is_available():
    """True when pydl was built with CUDA, and a driver and a GPU that this build has kernels
    for are present (unavailable_reason() says what is missing)."""
    return _C.cuda_compiled() and _C.cuda_unavailable_reason() == ""


def is_built():
    return _C.cuda_compiled()


def device_count():
    return _C.cuda_device_count()


def get_device_name(device=None):
    return _C.cuda_device_name(_index(device))


def unavailable_reason():
    """Why is_available() is False ('' when it is True)."""
    return _C.cuda_unavailable_reason() if is_available() or _C.cuda_compiled() else \
        "pydl was built without CUDA support"


def synchronize(device=None):
    """Waits for all work on the device (a no-op without a GPU)."""
    _C.cuda_synchronize(_index(device))


def current_stream(device=None):
    """pydl's stream on the device, as an integer cudaStream_t (what DLPack's ``stream`` takes)."""
    return _C.cuda_current_stream(_index(device))


# ---------------------------------------------------------------- the caching allocator
# Bytes, per device; all 0 without a GPU. "allocated" counts blocks held by live tensors
# (rounded to the allocator's size buckets), "reserved" adds the cached free blocks.

def memory_allocated(device=None):
    return _C.cuda_memory_allocated(_index(device))


def memory_reserved(device=None):
    return _C.cuda_memory_reserved(_index(device))


def max_memory_allocated(device=None):
    """Peak of memory_allocated() since the start or the last reset_peak_memory_stats()."""
    return _C.cuda_max_memory_allocated(_index(device))


def reset_peak_memory_stats(device=None):
    _C.cuda_reset_peak_memory_stats(_index(device))


def empty_cache(device=None):
    """Returns the cached free blocks to the driver (tensors in use keep their memory)."""
    if device is None:
        for d in range(device_count()):
            _C.cuda_empty_cache(d)
    else:
        _C.cuda_empty_cache(_index(device))


def memory_stats(device=None):
    d = _index(device)
    return {"allocated_bytes": _C.cuda_memory_allocated(d), "reserved_bytes": _C.cuda_memory_reserved(d),
            "peak_allocated_bytes": _C.cuda_max_memory_allocated(d), "num_cuda_mallocs": _C.cuda_num_mallocs(d)}


# ---------------------------------------------------------------- pinned host memory
# Tensor.pin_memory() and DataLoader(pin_memory=True) take page-locked host memory from a cache of
# its own (csrc/cuda/host_allocator.h). "pending" blocks were freed while a queued copy may still
# read them; they are reused once it is done.

def host_memory_stats():
    """Bytes of pinned host memory: held by tensors, cached for reuse, pending; cudaHostAlloc calls."""
    return dict(_C.cuda_host_memory_stats())


def host_empty_cache():
    """Returns the cached pinned blocks to the CUDA runtime (cudaFreeHost)."""
    _C.cuda_host_empty_cache()
