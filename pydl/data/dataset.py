"""Datasets, as ``torch.utils.data``: Dataset, IterableDataset, TensorDataset, Subset,
ConcatDataset, random_split, and the seedable ``Generator`` that shuffles them.

Randomness here never touches pydl's global Philox stream (so turning shuffling on or off
does not move dropout masks): it comes from a numpy Generator seeded either explicitly
(``Generator(seed)`` or an int) or from ``pydl.initial_seed()``.
"""
import bisect
import math
import numbers
import warnings
from collections.abc import Sequence

import numpy as np

from pydl import _C
from pydl.creation import from_numpy
from pydl.tensor import Tensor, _wrap

__all__ = ["Generator", "Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "random_split",
           "CollatedBatch"]


# ---------------------------------------------------------------------- randomness
class Generator:
    """A seedable source of randomness for shuffling, splitting and random transforms
    (the counterpart of ``torch.Generator``): a numpy PCG64 stream.

    ``Generator()`` seeds from ``pydl.initial_seed()``; ``Generator(seed)`` from ``seed``.
    ``get_state()`` / ``set_state()`` let a checkpoint resume the same sequence. ``device`` is
    accepted for torch.Generator's signature: the stream runs on the host whatever it says."""

    def __init__(self, seed=None, device=None):
        self.device = device
        self.manual_seed(_global_seed() if seed is None else seed)

    def manual_seed(self, seed):
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"Generator.manual_seed: expected an int seed, got {type(seed).__name__}")
        self._seed = int(seed)
        fresh = np.random.PCG64(self._seed & 0xFFFFFFFFFFFFFFFF)
        if hasattr(self, "rng"):  # in place: samplers and transforms holding self.rng see the reseed
            self.rng.bit_generator.state = fresh.state
        else:
            self.rng = np.random.Generator(fresh)
        return self

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The stream's state as a dict of ints and strings (JSON-friendly, so pydl.save stores it)."""
        return {"seed": self._seed, "bit_generator": dict(self.rng.bit_generator.state)}

    def set_state(self, state):
        self._seed = int(state["seed"])
        self.rng.bit_generator.state = state["bit_generator"]
        return self

    def __repr__(self):
        return f"pydl.data.Generator(seed={self._seed})"


def _global_seed():
    return int(_C.rng_state()[0])


def as_numpy_rng(generator, op):
    """The numpy Generator behind ``generator`` (pydl.data.Generator, int seed or
    np.random.Generator); None stays None (the caller then derives one from pydl's seed)."""
    if generator is None or isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, Generator):
        return generator.rng
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return Generator(int(generator)).rng
    raise TypeError(f"{op}: generator must be a pydl.data.Generator, an int seed or a numpy Generator, "
                    f"got {type(generator).__name__}")


def seeded_rng(*stream):
    """A fresh numpy Generator for (pydl.initial_seed(), *stream): the same pydl seed gives the
    same draws, without consuming pydl's global RNG."""
    return np.random.default_rng([_global_seed(), *[int(s) & 0xFFFFFFFFFFFFFFFF for s in stream]])


# ---------------------------------------------------------------------- batches
class CollatedBatch(Sequence):
    """What a dataset's fast ``__getitems__`` returns: a batch already collated (``.batch``,
    e.g. ``[images (B, ...), labels (B,)]``). The default collate passes it through untouched;
    a custom ``collate_fn`` sees an ordinary sequence of samples (sliced from the batch on access)."""

    __slots__ = ("batch", "_n")

    def __init__(self, batch, n):
        self.batch = batch
        self._n = n

    def __len__(self):
        return self._n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        if not -self._n <= i < self._n:
            raise IndexError(f"CollatedBatch: index {i} is out of range for a batch of {self._n}")
        return _pick(self.batch, i % self._n)

    def __repr__(self):
        return f"CollatedBatch({self._n} samples)"


def _pick(batch, i):
    if isinstance(batch, Tensor):
        return batch[i]
    if isinstance(batch, dict):
        return {k: _pick(v, i) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return tuple(_pick(v, i) for v in batch)
    return batch[i]


def index_array(indices, n, op):
    """indices (ints, a list, ndarray or int Tensor) as a checked, wrapped int64 numpy array."""
    if isinstance(indices, Tensor):
        if indices.dtype.is_floating_point:
            raise TypeError(f"{op}: indices must be integers, got {indices.dtype.name}")
        idx = indices._a.to("cpu").numpy().astype(np.int64).reshape(-1)
    else:
        idx = np.asarray(indices)
        if idx.size and idx.dtype.kind not in "iu":
            raise TypeError(f"{op}: indices must be integers, got {idx.dtype}")
        idx = idx.astype(np.int64, copy=True).reshape(-1)
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < -n or hi >= n:
            raise IndexError(f"{op}: index {lo if lo < -n else hi} is out of range for a dataset of {n}")
        idx[idx < 0] += n
    return idx


def _index_tensor(idx, device):
    t = _wrap(_C.from_numpy(idx))
    return t if str(device) == "cpu" else t.to(device)


# ---------------------------------------------------------------------- datasets
class Dataset:
    """A map-style dataset: subclasses define ``__getitem__(i)`` and ``__len__()``. A subclass
    may add ``__getitems__(indices)`` returning the whole batch at once (a ``CollatedBatch``, or a
    list of samples as in PyTorch); DataLoader then fetches each batch with one call."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses define ``__iter__``. DataLoader batches it in order."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __add__(self, other):
        raise TypeError("IterableDataset: concatenation is not supported")


class TensorDataset(Dataset):
    """Samples are ``tuple(t[i] for t in tensors)``. ``__getitems__`` indexes each tensor once
    with an index tensor, so a DataLoader batch costs one ``index_select`` per tensor."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        ts = []
        for k, t in enumerate(tensors):
            if isinstance(t, np.ndarray):
                t = from_numpy(t if t.flags.writeable and t.flags.c_contiguous else np.array(t, order="C"))
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: argument {k} is a {type(t).__name__}, expected a Tensor")
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: tensor {k} is 0-d; every tensor needs a first (sample) dimension")
            ts.append(t)
        n = ts[0].shape[0]
        for k, t in enumerate(ts):
            if t.shape[0] != n:
                raise ValueError(f"TensorDataset: size mismatch between tensors: tensor 0 has {n} samples, "
                                 f"tensor {k} has {t.shape[0]}")
        self.tensors = tuple(ts)

    def __len__(self):
        return self.tensors[0].shape[0]

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __getitems__(self, indices):
        idx = index_array(indices, len(self), "TensorDataset")
        cache = {}
        out = []
        for t in self.tensors:
            dev = str(t.device)
            if dev not in cache:
                cache[dev] = _index_tensor(idx, dev)
            out.append(t.index_select(0, cache[dev]))
        return CollatedBatch(out, len(idx))


class Subset(Dataset):
    """``dataset`` restricted to ``indices`` (in that order)."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        if isinstance(indices, Tensor):
            indices = indices.tolist()
        elif isinstance(indices, np.ndarray):
            indices = indices.tolist()
        self.indices = indices

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        inner = [self.indices[i] for i in (indices.tolist() if isinstance(indices, (np.ndarray, Tensor))
                                            else indices)]
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None:
            return getitems(inner)
        return [self.dataset[i] for i in inner]


class ConcatDataset(Dataset):
    """The datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset: does not support IterableDataset")
        self.cumulative_sizes = []
        total = 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def _locate(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError(f"ConcatDataset: absolute value of index {idx} should not exceed dataset length {n}")
            idx += n
        if idx >= n:
            raise IndexError(f"ConcatDataset: index {idx} is out of range for a dataset of {n}")
        d = bisect.bisect_right(self.cumulative_sizes, idx)
        return d, idx - (self.cumulative_sizes[d - 1] if d else 0)

    def __getitem__(self, idx):
        d, i = self._locate(idx)
        return self.datasets[d][i]


# ---------------------------------------------------------------------- random_split
def split_lengths(n, lengths):
    """PyTorch's rule: fractions summing to 1 become floor(n * f) each, and the remainder is
    handed out one by one round-robin from the first split; counts must sum to n."""
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths must not be empty")
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1")
            counts.append(int(math.floor(n * frac)))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, c in enumerate(counts):
            if c == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0; this might result in an "
                              f"empty dataset", stacklevel=3)
        lengths = counts
    for i, c in enumerate(lengths):
        if isinstance(c, bool) or not isinstance(c, numbers.Integral):
            raise ValueError(f"random_split: lengths must be ints or fractions summing to 1, got {c!r} at "
                             f"index {i}")
        if c < 0:
            raise ValueError(f"random_split: length at index {i} is negative ({c})")
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths ({sum(lengths)}) does not equal the length of the "
                         f"input dataset ({n})")
    return [int(c) for c in lengths]


def random_split(dataset, lengths, generator=None):
    """Splits ``dataset`` into non-overlapping random Subsets of the given lengths (counts, or
    fractions summing to 1). ``generator``: a pydl.data.Generator or an int seed; without one the
    split is drawn from ``pydl.initial_seed()``, so the same seed always gives the same split."""
    counts = split_lengths(len(dataset), lengths)
    rng = as_numpy_rng(generator, "random_split")
    if rng is None:
        rng = seeded_rng(0x5EED5)
    perm = rng.permutation(sum(counts)).tolist()
    out, start = [], 0
    for c in counts:
        out.append(Subset(dataset, perm[start:start + c]))
        start += c
    return out
