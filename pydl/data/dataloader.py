"""DataLoader and samplers, as ``torch.utils.data``: loading in the main process (num_workers=0) or
in worker processes (pydl/data/workers.py).

Shuffling draws from a numpy Generator: the loader's ``generator`` (a pydl.data.Generator or an
int seed) when given, else one seeded from ``(pydl.initial_seed(), epoch)``, where epoch counts
the passes over this loader. pydl's global Philox stream is never consumed, so the same seed
gives the same order and dropout masks do not depend on whether data is shuffled.
"""
import collections.abc
import numbers

import numpy as np

from pydl.creation import from_numpy, tensor
from pydl.data.dataset import CollatedBatch, IterableDataset, as_numpy_rng, seeded_rng
from pydl.data.pin_memory import check_pin_memory_device, pin_memory as pin_batch, pinning_usable
from pydl.tensor import Tensor

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "DataLoader", "default_collate", "default_convert"]


# ---------------------------------------------------------------------- samplers
class Sampler:
    """Yields dataset indices."""

    def __iter__(self):
        raise NotImplementedError

    def _order(self):
        """The whole epoch's indices as an int64 numpy array (fast path for BatchSampler)."""
        return np.fromiter(iter(self), dtype=np.int64)


class SequentialSampler(Sampler):
    def __init__(self, data_source):
        self.data_source = data_source

    def __len__(self):
        return len(self.data_source)

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def _order(self):
        return np.arange(len(self.data_source), dtype=np.int64)


class _EpochRng:
    """Per-epoch numpy streams: the given generator's, or (pydl.initial_seed(), tag, epoch)."""

    def __init__(self, generator, tag, op):
        self.generator = generator
        self._rng = as_numpy_rng(generator, op)
        self._tag = tag
        self.epoch = 0

    def next(self):
        if self._rng is not None:
            return self._rng
        rng = seeded_rng(self._tag, self.epoch)
        self.epoch += 1
        return rng


class RandomSampler(Sampler):
    """A random permutation each epoch (or ``num_samples`` draws with replacement)."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = bool(replacement)
        self._num_samples = num_samples
        if num_samples is not None and (isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral)
                                        or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples should be a positive integer, got {num_samples!r}")
        self._rng = _EpochRng(generator, 0x5A3B1E, "RandomSampler")
        self.generator = generator

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __len__(self):
        return self.num_samples

    def _order(self):
        n, k = len(self.data_source), self.num_samples
        rng = self._rng.next()
        if self.replacement:
            return rng.integers(0, n, size=k, dtype=np.int64)
        reps = [rng.permutation(n) for _ in range(-(-k // n))] if n else [np.zeros(0, np.int64)]
        return np.concatenate(reps)[:k].astype(np.int64)

    def __iter__(self):
        return iter(self._order().tolist())


class SubsetRandomSampler(Sampler):
    """The given indices in a random order each epoch."""

    def __init__(self, indices, generator=None):
        self.indices = list(indices.tolist() if isinstance(indices, (np.ndarray, Tensor)) else indices)
        self._rng = _EpochRng(generator, 0x5B5E7, "SubsetRandomSampler")
        self.generator = generator

    def __len__(self):
        return len(self.indices)

    def _order(self):
        return np.asarray(self.indices, dtype=np.int64)[self._rng.next().permutation(len(self.indices))]

    def __iter__(self):
        return iter(self._order().tolist())


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        w = np.asarray(weights.tolist() if isinstance(weights, Tensor) else weights, dtype=np.float64).reshape(-1)
        if w.size == 0 or (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and not all zero")
        if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral) or num_samples <= 0:
            raise ValueError(f"WeightedRandomSampler: num_samples should be a positive integer, got {num_samples!r}")
        if not replacement and num_samples > int((w > 0).sum()):
            raise ValueError("WeightedRandomSampler: without replacement, num_samples cannot exceed the number of "
                             "non-zero weights")
        self.weights, self.num_samples, self.replacement = w, int(num_samples), bool(replacement)
        self._rng = _EpochRng(generator, 0x3E1647, "WeightedRandomSampler")
        self.generator = generator

    def __len__(self):
        return self.num_samples

    def _order(self):
        p = self.weights / self.weights.sum()
        return self._rng.next().choice(len(p), size=self.num_samples, replace=self.replacement, p=p).astype(np.int64)

    def __iter__(self):
        return iter(self._order().tolist())


class BatchSampler(Sampler):
    """Groups a sampler's indices into lists of ``batch_size``."""

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), drop_last

    def __iter__(self):
        bs = self.batch_size
        if isinstance(self.sampler, Sampler):  # the epoch's order at once, then slices
            order = self.sampler._order()
            stop = len(order) - len(order) % bs if self.drop_last else len(order)
            for start in range(0, stop, bs):
                yield order[start:start + bs].tolist()
            return
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == bs:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# ---------------------------------------------------------------------- collate
_COLLATE_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def default_collate(batch):
    """Stacks a list of samples into a batch, as PyTorch: tensors and numpy arrays are stacked
    along a new first dim, ints become int64, floats float64 and bools bool tensors, strings stay
    a sequence, dicts and namedtuples are collated per field, and tuples/lists per position (a list
    of batched fields). A CollatedBatch (a dataset's fast ``__getitems__``) passes through."""
    if isinstance(batch, CollatedBatch):
        return batch.batch
    if not isinstance(batch, collections.abc.Sequence) or len(batch) == 0:
        raise TypeError(f"default_collate: expected a non-empty list of samples, got {type(batch).__name__}")
    elem = batch[0]
    if isinstance(elem, Tensor):
        from pydl.ops.shape import stack

        for i, b in enumerate(batch):
            if not isinstance(b, Tensor):
                raise TypeError(f"default_collate: sample 0 is a Tensor but sample {i} is {type(b).__name__}")
            if b.shape != elem.shape:
                raise RuntimeError(f"default_collate: stack expects each tensor to be equal size, but got "
                                   f"{list(elem.shape)} at entry 0 and {list(b.shape)} at entry {i}")
            if b.device != elem.device:
                raise RuntimeError(f"default_collate: samples on different devices ({elem.device} and {b.device})")
        return stack(list(batch), 0)
    if isinstance(elem, np.ndarray) or (isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_))):
        arr = np.stack([np.asarray(b) for b in batch])
        if arr.dtype.kind in "OSUV":
            raise TypeError(_COLLATE_ERR.format(arr.dtype))
        return from_numpy(arr) if arr.flags.writeable else tensor(arr)
    if isinstance(elem, bool):
        return tensor(list(batch))
    if isinstance(elem, numbers.Integral):
        return tensor(list(batch))
    if isinstance(elem, numbers.Real):
        return tensor(list(batch), dtype="float64")
    if isinstance(elem, (str, bytes)):
        return batch  # as PyTorch: the sequence as given (a tuple when nested)
    if isinstance(elem, collections.abc.Mapping):
        try:
            return type(elem)({k: default_collate([d[k] for d in batch]) for k in elem})
        except TypeError:  # a Mapping type that cannot be built from a dict
            return {k: default_collate([d[k] for d in batch]) for k in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(b) != size for b in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of equal size")
        fields = [default_collate(s) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return fields  # as PyTorch: a list
        try:
            return type(elem)(fields)
        except TypeError:
            return fields
    raise TypeError(_COLLATE_ERR.format(type(elem).__name__))


def default_convert(data):
    """Without batching (batch_size=None): numpy arrays become tensors, recursively."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "OSUV":
        return from_numpy(data) if data.flags.writeable else tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, list):
        return [default_convert(d) for d in data]
    return data


# ---------------------------------------------------------------------- DataLoader
class DataLoader:
    """Batches of ``dataset``, as ``torch.utils.data.DataLoader``.

    ``generator``: a pydl.data.Generator or an int seed for the shuffle order (``seed`` is the same
    as an int generator). A dataset with ``__getitems__`` is fetched one batch per call. Each
    ``iter(loader)`` is an epoch; with ``shuffle`` and no generator, epoch k of this loader is
    shuffled from (pydl.initial_seed(), k). ``num_workers > 0`` fetches and collates in worker
    processes (``prefetch_factor`` batches each in flight, ``persistent_workers`` kept between
    epochs, ``worker_init_fn(worker_id)`` at their start, ``timeout`` seconds per batch at most);
    each batch then runs with pydl's random stream seeded from the epoch and the batch's index.
    ``pin_memory=True`` returns each batch's tensors in pinned host memory when a CUDA GPU is usable
    (so that ``.to("cuda", non_blocking=True)`` does not wait); without one it warns, as PyTorch does,
    and batches are ordinary CPU tensors."""

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 generator=None, *, seed=None, prefetch_factor=None, persistent_workers=False, pin_memory_device=""):
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers option should be a non-negative integer, got {num_workers!r}")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
        if num_workers == 0 and (prefetch_factor is not None or persistent_workers):
            raise ValueError("DataLoader: prefetch_factor and persistent_workers take worker processes "
                             "(num_workers > 0)")
        if prefetch_factor is not None and (not isinstance(prefetch_factor, numbers.Integral) or prefetch_factor < 1):
            raise ValueError(f"DataLoader: prefetch_factor should be a positive integer, got {prefetch_factor!r}")
        if seed is not None:
            if generator is not None:
                raise ValueError("DataLoader: give either generator or seed, not both")
            generator = int(seed)
        as_numpy_rng(generator, "DataLoader")  # type check now, not at the first epoch
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
                                       or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")
        self.dataset = dataset
        self.num_workers = int(num_workers)
        self.prefetch_factor = 2 if prefetch_factor is None else int(prefetch_factor)
        self.persistent_workers, self.worker_init_fn, self.timeout = bool(persistent_workers), worker_init_fn, timeout
        self._pool, self._epoch_seeds = None, _EpochRng(generator, 0x57A7ED, "DataLoader")
        self.pin_memory = bool(pin_memory)
        self.pin_memory_device = check_pin_memory_device(pin_memory_device)
        self.generator = generator
        self._iterable = isinstance(dataset, IterableDataset)

        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler and batch_sampler")
        else:
            if sampler is not None and shuffle:
                raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
            if batch_sampler is not None:
                if batch_size != 1 or shuffle or sampler is not None or drop_last:
                    raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, "
                                     "shuffle, sampler, and drop_last")
                batch_size, drop_last = None, False
            elif batch_size is None and drop_last:
                raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually "
                                 "exclusive with drop_last")
            if sampler is None:
                sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
            if batch_size is not None and batch_sampler is None:
                batch_sampler = BatchSampler(sampler, batch_size, bool(drop_last))
        self.batch_size = batch_size
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self._auto_collation = batch_sampler is not None or (self._iterable and batch_size is not None)
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)  # TypeError when the stream has no length, as in PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def __iter__(self):
        batches = self._iter_unpinned()
        if self.pin_memory and pinning_usable():
            return (pin_batch(b) for b in batches)
        return batches

    def _iter_unpinned(self):
        if self.num_workers:
            return self._iter_workers()
        if self._iterable:
            return self._iter_stream()
        if self.batch_sampler is not None:
            return self._iter_batches()
        return (self.collate_fn(self.dataset[i]) for i in self.sampler)

    def _iter_batches(self):
        ds, collate = self.dataset, self.collate_fn
        getitems = getattr(ds, "__getitems__", None)
        for indices in self.batch_sampler:
            data = getitems(indices) if getitems else [ds[i] for i in indices]
            yield collate(data)

    def _iter_workers(self):
        from pydl.data import workers

        seed = int(self._epoch_seeds.next().integers(1 << 62))
        if self._pool is None or self._pool.closed:
            if self._iterable:
                fetch = workers.StreamFetcher(self.dataset, self.collate_fn, self.batch_size, self.drop_last)
            else:
                fetch = workers.MapFetcher(self.dataset, self.collate_fn, self._auto_collation)
            self._pool = workers.WorkerPool(self, fetch, seed)
        pool = self._pool
        if self._iterable:
            batches = iter(lambda: None, 0)  # endless: the workers' streams end the epoch
        else:
            batches = self.batch_sampler if self.batch_sampler is not None else self.sampler
        try:
            yield from pool.run(batches, seed)
        finally:
            if not self.persistent_workers:
                pool.close()
                self._pool = None

    def __del__(self):
        if getattr(self, "_pool", None) is not None:
            self._pool.close()

    def _iter_stream(self):
        if self.batch_size is None:
            for x in self.dataset:
                yield self.collate_fn(x)
            return
        batch = []
        for x in self.dataset:
            batch.append(x)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)
