"""Finding and loading libnccl.so.2: PYDL_NCCL_LIBRARY when set, else the nvidia-nccl-cu13 wheel's
copy (``pip install "pydl[nccl]"``), else the system's (the dynamic loader's search path)."""
import importlib.util
import os

_SONAME = "libnccl.so.2"


def find():
    """The library's path, or the bare soname when only the loader may know it, or None."""
    override = os.environ.get("PYDL_NCCL_LIBRARY")
    if override:
        return override
    spec = importlib.util.find_spec("nvidia.nccl") if importlib.util.find_spec("nvidia") else None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(folder, "lib", _SONAME)
        if os.path.exists(path):
            return path
    for folder in ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/local/cuda/lib64", "/usr/lib"):
        if os.path.exists(os.path.join(folder, _SONAME)):
            return _SONAME
    return None


def load(op="nccl"):
    """Loads NCCL into pydl._C (once) and returns its version as (major, minor, patch)."""
    from pydl import _C

    path = find()
    if path is None:
        raise RuntimeError(f"{op}: NCCL was not found: pip install \"pydl[nccl]\" (the nvidia-nccl-cu13 wheel), or set "
                           "PYDL_NCCL_LIBRARY to a libnccl.so.2")
    code = _C.nccl_load(path)
    return code // 10000, code // 100 % 100, code % 100
