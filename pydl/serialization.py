"""Checkpoints: ``save(obj, f)`` / ``load(f)`` in the safetensors format, which holds raw
tensor bytes and a JSON header, so loading a file can never execute code (no pickle).

``obj`` is a Tensor or a (nested) dict / list / tuple of Tensors and plain values: a model's
state dict, or ``{"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}``.
Tensors are stored under their dotted path (``model.fc.weight``), so a flat state dict is an
ordinary safetensors file that other tools read. Everything else (ints, floats, strings, bools,
None, and the nesting itself, dict keys' types and list/tuple kinds included) goes as JSON
into the header's metadata, so ``load`` returns the same structure with CPU Tensors.
"""
import json
import math
import numbers
import os
import struct

import numpy as np

from pydl._dtype import device_str, from_numpy_dtype
from pydl.creation import from_numpy
from pydl.tensor import Tensor

__all__ = ["save", "load"]

_FORMAT_KEY = "pydl.structure"
_FORMAT_VERSION = 1


# ---------------------------------------------------------------------- save
def _encode(obj, path, tensors, names):
    """obj as a JSON-able node; tensors go into ``tensors`` under a unique dotted name."""
    where = path or "<root>"
    if isinstance(obj, Tensor):
        name = path or "tensor"
        if name in names:
            k = 1
            while f"{name}~{k}" in names:
                k += 1
            name = f"{name}~{k}"
        names.add(name)
        arr = obj.detach().cpu().numpy()
        tensors[name] = np.array(arr, order="C", copy=not arr.flags.c_contiguous)  # (ascontiguousarray makes 0-d 1-d)
        return {"t": name}
    if obj is None or isinstance(obj, (bool, str)):
        return {"v": obj}
    if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
        obj = obj.item()
    if isinstance(obj, numbers.Integral):
        return {"v": int(obj)}
    if isinstance(obj, numbers.Real):
        f = float(obj)
        return {"v": f} if math.isfinite(f) else {"f": repr(f)}  # nan / inf outside strict JSON
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if isinstance(k, bool) or not isinstance(k, (str, int)):
                raise TypeError(f"save: dict keys must be str or int; '{where}' has a key {k!r} of type "
                                f"{type(k).__name__}")
            items.append([k, _encode(v, f"{path}.{k}" if path else str(k), tensors, names)])
        return {"d": items}
    if isinstance(obj, (list, tuple)):
        kind = "l" if isinstance(obj, list) else "u"
        return {kind: [_encode(v, f"{path}.{i}" if path else str(i), tensors, names) for i, v in enumerate(obj)]}
    if isinstance(obj, np.ndarray):
        raise TypeError(f"save: '{where}' is a numpy array; convert it with pydl.from_numpy(...) to save it")
    raise TypeError(f"save: cannot save '{where}' of type {type(obj).__name__}: values must be Tensors, numbers, "
                    f"strings, bools, None, or dicts/lists/tuples of them")


def save(obj, f):
    """Writes obj (a Tensor, or a nested dict/list/tuple of Tensors and plain values) to ``f``,
    a path or a binary file object, in the safetensors format. Non-serializable values raise
    TypeError naming their key."""
    from safetensors.numpy import save as st_save

    tensors = {}
    structure = _encode(obj, "", tensors, set())
    metadata = {_FORMAT_KEY: json.dumps({"version": _FORMAT_VERSION, "root": structure}, separators=(",", ":"))}
    data = st_save(tensors, metadata=metadata)
    if hasattr(f, "write"):
        f.write(data)
        return
    path = os.fspath(f)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as out:
            out.write(data)
        os.replace(tmp, path)  # a crash mid-write never leaves a half-written checkpoint
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


# ---------------------------------------------------------------------- load
def _header(data, name):
    if len(data) < 8:
        raise ValueError(f"load: {name} is not a safetensors file ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"load: {name} is not a safetensors file (header of {n} bytes in a file of {len(data)})")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError(f"load: {name} is not a safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise ValueError(f"load: {name} is not a safetensors file (its header is not a JSON object)")
    return header


def _decode(node, tensors, name):
    if not isinstance(node, dict) or len(node) != 1:
        raise ValueError(f"load: {name}: malformed structure entry {node!r}")
    (kind, value), = node.items()
    if kind == "t":
        if not isinstance(value, str) or value not in tensors:
            raise ValueError(f"load: {name}: the structure names tensor '{value}', which the file lacks")
        return tensors[value]
    if kind == "v":
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise ValueError(f"load: {name}: malformed value {value!r}")
        return value
    if kind == "f":
        if value not in ("nan", "inf", "-inf"):
            raise ValueError(f"load: {name}: malformed float {value!r}")
        return float(value)
    if kind == "d":
        if not isinstance(value, list):
            raise ValueError(f"load: {name}: malformed dict {value!r}")
        out = {}
        for item in value:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], (str, int))):
                raise ValueError(f"load: {name}: malformed dict entry {item!r}")
            out[item[0]] = _decode(item[1], tensors, name)
        return out
    if kind in ("l", "u"):
        if not isinstance(value, list):
            raise ValueError(f"load: {name}: malformed sequence {value!r}")
        items = [_decode(v, tensors, name) for v in value]
        return items if kind == "l" else tuple(items)
    raise ValueError(f"load: {name}: unknown structure entry kind {kind!r}")


def load(f, map_location=None, weights_only=True):
    """Reads what ``save`` wrote (from a path or a binary file object) and returns the same
    structure with pydl Tensors on the CPU (or on ``map_location``). A plain safetensors file
    without pydl's structure loads as a flat ``{name: Tensor}`` dict. A file that is not
    safetensors raises ValueError naming it. ``weights_only`` is accepted for PyTorch
    compatibility: nothing but tensors and plain values can ever be loaded."""
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    if hasattr(f, "read"):
        name, data = getattr(f, "name", "<file object>"), f.read()
    else:
        name = os.fspath(f)
        with open(name, "rb") as fh:
            data = fh.read()
    header = _header(data, name)
    try:
        arrays = st_load(data)
    except (SafetensorError, ValueError, TypeError) as e:
        raise ValueError(f"load: {name} is not a valid safetensors file: {e}") from None
    tensors = {}
    for key, arr in arrays.items():
        if not arr.flags.writeable or not arr.flags.c_contiguous:
            arr = np.array(arr, order="C")
        try:
            target = from_numpy_dtype(arr.dtype).numpy
        except TypeError:
            raise ValueError(f"load: {name}: tensor '{key}' has dtype {arr.dtype}, which pydl does not "
                             f"support") from None
        if arr.dtype != target:  # e.g. int32 -> int64, float16 -> float32
            arr = arr.astype(target)
        t = from_numpy(arr)
        tensors[key] = t if map_location is None else t.to(_device_of(map_location))
    meta = header.get("__metadata__") or {}
    if _FORMAT_KEY not in meta:
        return tensors  # a plain safetensors file
    try:
        doc = json.loads(meta[_FORMAT_KEY])
    except ValueError:
        raise ValueError(f"load: {name}: pydl structure metadata is not valid JSON") from None
    if not isinstance(doc, dict) or "root" not in doc or type(doc.get("version", 0)) is not int:
        raise ValueError(f"load: {name}: malformed pydl structure metadata")
    if doc.get("version", 0) > _FORMAT_VERSION:
        raise ValueError(f"load: {name} was written by a newer pydl (format {doc['version']}); "
                         f"this one reads format {_FORMAT_VERSION}")
    return _decode(doc["root"], tensors, name)


def _device_of(loc):
    try:
        return device_str(loc)
    except (TypeError, ValueError, AttributeError):
        raise TypeError(f"load: map_location must be a device or a device string, got {loc!r}") from None
