"""What fit / evaluate / predict iterate: arrays (numpy or pydl, or lists of them for several inputs)
cut into batches, shuffled each epoch from pydl's seeded generator, or an iterable of (x, y) batches
such as a pydl DataLoader."""
import math

import numpy as np

import pydl
from pydl.keras.backend import convert_to_tensor
from pydl.keras.keras_tensor import flatten, map_structure
from pydl.tensor import Tensor


def _is_array(x):
    return isinstance(x, (np.ndarray, Tensor))


def make_data(op, x, y=None, batch_size=None, dtype=None):
    """Float arrays become `dtype` (the model's) once, here, rather than batch by batch."""
    if x is None:
        raise ValueError(f"{op}: x is required")
    if all(_is_array(leaf) for leaf in flatten(x)) and isinstance(x, (np.ndarray, Tensor, list, tuple, dict)):
        return ArrayData(op, x, y, batch_size or 32, dtype)
    if y is not None:
        raise ValueError(f"{op}: y must not be given when x is an iterable of (x, y) batches")
    if not hasattr(x, "__iter__"):
        raise TypeError(f"{op}: x must be a numpy array, a pydl Tensor, a list of them, or an iterable of batches; "
                        f"got {type(x).__name__}")
    return IterableData(op, x)


class ArrayData:
    def __init__(self, op, x, y, batch_size, dtype=None):
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"{op}: batch_size must be a positive int, got {batch_size!r}")
        self.op, self.batch_size = op, batch_size
        as_float = lambda t: t.dtype.is_floating_point if isinstance(t, Tensor) else t.dtype.kind == "f"  # noqa: E731
        self.x = map_structure(lambda t: convert_to_tensor(t, dtype=dtype if as_float(t) else None), x)
        self.y = None if y is None else convert_to_tensor(y)
        sizes = {int(t.shape[0]) if t.dim() else -1 for t in flatten(self.x)}
        if len(sizes) != 1 or -1 in sizes:
            raise ValueError(f"{op}: every input array needs the same number of samples (first dimension); "
                             f"got {sorted(sizes)}")
        self.n = sizes.pop()
        if self.y is not None and (self.y.dim() == 0 or self.y.shape[0] != self.n):
            raise ValueError(f"{op}: x has {self.n} samples but y has "
                             f"{self.y.shape[0] if self.y.dim() else 0}")

    @property
    def steps(self):
        return math.ceil(self.n / self.batch_size)

    def split(self, validation_split):
        """(first part, last part), Keras's validation_split: the last fraction, taken before shuffling."""
        if not 0.0 < validation_split < 1.0:
            raise ValueError(f"{self.op}: validation_split must be in (0, 1), got {validation_split}")
        at = int(math.floor(self.n * (1.0 - validation_split)))
        if at == 0 or at == self.n:
            raise ValueError(f"{self.op}: validation_split={validation_split} leaves no training or no validation "
                             f"samples out of {self.n}")
        return self._slice(0, at), self._slice(at, self.n)

    def _slice(self, a, b):
        part = object.__new__(ArrayData)
        part.op, part.batch_size, part.n = self.op, self.batch_size, b - a
        part.x = map_structure(lambda t: t[a:b], self.x)
        part.y = None if self.y is None else self.y[a:b]
        return part

    def batches(self, device, shuffle=False):
        perm = pydl.randperm(self.n) if shuffle else None
        for start in range(0, self.n, self.batch_size):
            stop = min(start + self.batch_size, self.n)
            if perm is None:
                take = lambda t: t[start:stop]  # noqa: E731
            else:
                idx = perm[start:stop]
                take = lambda t: t.index_select(0, idx.to(t.device))  # noqa: E731
            xb = map_structure(lambda t: take(t).to(device), self.x)
            yield xb, None if self.y is None else take(self.y).to(device)


class IterableData:
    def __init__(self, op, iterable):
        self.op, self.iterable = op, iterable
        self.steps = len(iterable) if hasattr(iterable, "__len__") else None

    def split(self, validation_split):
        raise ValueError(f"{self.op}: validation_split needs array inputs; pass validation_data for batches "
                         f"from an iterable")

    def batches(self, device, shuffle=False):
        for item in self.iterable:
            if isinstance(item, (tuple, list)) and len(item) in (2, 3):
                x, y = item[0], item[1]
            elif isinstance(item, (tuple, list)) and len(item) == 1:
                x, y = item[0], None
            else:
                x, y = item, None
            x = map_structure(lambda t: convert_to_tensor(t, device=device), x)
            yield x, None if y is None else convert_to_tensor(y, device=device)


def batch_size_of(x):
    return int(flatten(x)[0].shape[0])
