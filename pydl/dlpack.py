"""DLPack: zero-copy exchange of tensors with numpy, PyTorch, CuPy, JAX and any other library
that speaks the protocol (https://dmlc.github.io/dlpack/latest/python_spec.html).

``pydl.from_dlpack(x)`` views the memory of ``x`` (anything with ``__dlpack__``, or a bare
DLPack capsule); the producer's buffer stays alive until the last pydl tensor viewing it is
gone. ``Tensor.__dlpack__`` / ``__dlpack_device__`` let ``np.from_dlpack(t)``,
``torch.from_dlpack(t)`` and ``cupy.from_dlpack(t)`` view a pydl tensor the same way. Writes
are visible on both sides. pydl has no read-only tensors: importing a read-only buffer (a flag
DLPack 1.0 producers may set) gives a tensor that must not be written.
"""
from pydl import _C
from pydl.tensor import Tensor, _wrap

_CPU, _CUDA, _CUDA_HOST, _CUDA_MANAGED = 1, 2, 3, 13


def _tensor_dlpack(self, stream=None, *, max_version=None, dl_device=None, copy=None):
    """Tensor.__dlpack__: a DLPack capsule sharing this tensor's memory.

    ``stream`` (CUDA only): the consumer's stream as an integer (1: legacy default, 2: per-thread
    default, -1: no synchronization); None means the legacy default stream. The consumer's stream
    is made to wait for the work pydl queued so far. CPU tensors take None (or -1).
    """
    if self.requires_grad:
        raise RuntimeError("__dlpack__: cannot export a tensor that requires grad; use tensor.detach()")
    a = self._a
    dev = tuple(_C.dlpack_device(a))
    copied = False
    if dl_device is not None and tuple(dl_device) != dev:
        if copy is False:
            raise BufferError(f"__dlpack__: the tensor is on {a.device}, dl_device={tuple(dl_device)} needs a copy "
                              "and copy=False forbids one")
        kind, index = dl_device
        if kind == _CPU:
            a = a.to("cpu")
        elif kind == _CUDA:
            a = a.to(f"cuda:{index}")
        else:
            raise BufferError(f"__dlpack__: cannot export to DLPack device {tuple(dl_device)}")
        dev, copied = tuple(_C.dlpack_device(a)), True
    elif copy:
        a, copied = a.clone(), True
    if dev[0] == _CUDA:
        if stream is None:
            stream = 1
        if stream != -1:
            _C.cuda_make_stream_wait(dev[1], int(stream))
    elif stream is not None and stream != -1:
        raise BufferError(f"__dlpack__: a CPU tensor has no stream; expected stream=None, got {stream!r}")
    versioned = max_version is not None and tuple(max_version)[0] >= 1
    return _C.to_dlpack(a, versioned, copied)


def _tensor_dlpack_device(self):
    """Tensor.__dlpack_device__: (1, 0) on the CPU, (2, N) on cuda:N."""
    return tuple(_C.dlpack_device(self._a))


def from_dlpack(x):
    """A pydl Tensor viewing the memory of ``x`` (zero copy): an object with ``__dlpack__``
    (numpy array, torch/CuPy/JAX tensor, pydl Tensor) or a DLPack capsule."""
    if isinstance(x, Tensor):
        return _wrap(x._a)
    if not hasattr(x, "__dlpack__"):
        return _wrap(_C.from_dlpack_capsule(x))  # a bare capsule (the legacy form of the protocol)
    kind, index = x.__dlpack_device__()
    stream = None
    if kind in (_CUDA, _CUDA_MANAGED):
        if not (_C.cuda_compiled() and _C.cuda_device_count() > 0):
            raise RuntimeError(f"from_dlpack: the tensor is on cuda:{index}, but "
                               f"{_C.cuda_unavailable_reason() if _C.cuda_compiled() else 'pydl was built without CUDA'}")
        stream = _C.cuda_current_stream(int(index))  # the producer makes our stream wait for its work
    try:
        capsule = x.__dlpack__(stream=stream, max_version=(1, 0))
    except TypeError:  # a producer older than DLPack 1.0's Python API
        capsule = x.__dlpack__(stream=stream) if stream is not None else x.__dlpack__()
    return _wrap(_C.from_dlpack_capsule(capsule))
