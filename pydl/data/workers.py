"""DataLoader worker processes (``num_workers > 0``), as torch.utils.data's: each worker fetches and
collates whole batches; the batches' arrays come back through shared memory (one block per
tensor, named in a small message), never pickled. Batches are handed out round-robin, at most
``prefetch_factor`` per worker in flight, and yielded in order.

Randomness: every batch is fetched with pydl's random stream seeded from (the epoch's base seed,
the batch's index), so random transforms drawing from pydl's stream (``generator=None``) give the
same batches whatever the number of workers. ``get_worker_info()`` tells a dataset (an
IterableDataset splitting its stream, a ``worker_init_fn``) which worker it runs in.

A worker's exception is re-raised in the main process naming the worker; a worker that dies is
reported; workers ignore Ctrl-C (the main process stops them) and are stopped when the epoch
ends, when the iterator is dropped or, with ``persistent_workers``, when the loader is."""
import atexit
import multiprocessing
import os
import signal
import time
import traceback
import weakref
from dataclasses import dataclass
from multiprocessing import connection, resource_tracker, shared_memory

import numpy as np

__all__ = ["WorkerInfo", "get_worker_info"]

_ORPHAN_CHECK_S = 1.0  # how often an idle worker checks that the main process is still there


@dataclass(frozen=True)
class WorkerInfo:
    id: int
    num_workers: int
    seed: int
    dataset: object


_info = None


def get_worker_info():
    """This worker's WorkerInfo in a DataLoader worker process, None in the main process."""
    return _info


def _batch_seed(base_seed, index):
    return (int(base_seed) * 1000003 + int(index)) & 0x7FFFFFFFFFFFFFFF


# ---------------------------------------------------------------------- shared-memory payloads
class _Shared:
    """A tensor's array in a shared-memory block: its name, shape and numpy dtype."""

    __slots__ = ("name", "shape", "dtype")

    def __init__(self, name, shape, dtype):
        self.name, self.shape, self.dtype = name, shape, dtype


def _to_shared(obj, blocks):
    """obj with every Tensor replaced by a _Shared (its data copied into a new block, kept open in blocks)."""
    from pydl.tensor import Tensor

    if isinstance(obj, Tensor):
        arr = np.ascontiguousarray(obj.detach().cpu().numpy())
        block = shared_memory.SharedMemory(create=True, size=max(arr.nbytes, 1))
        resource_tracker.unregister(block._name, "shared_memory")  # the main process unlinks it once read
        np.ndarray(arr.shape, arr.dtype, buffer=block.buf)[...] = arr
        blocks.append(block)
        return _Shared(block.name, arr.shape, arr.dtype.str)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_to_shared(o, blocks) for o in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_shared(o, blocks) for o in obj)
    if isinstance(obj, dict):
        return {k: _to_shared(v, blocks) for k, v in obj.items()}
    return obj


def _from_shared(obj):
    """The inverse of _to_shared in the main process: each block copied into a tensor, then freed."""
    from pydl.creation import from_numpy

    if isinstance(obj, _Shared):
        block = shared_memory.SharedMemory(name=obj.name)
        try:
            arr = np.ndarray(obj.shape, np.dtype(obj.dtype), buffer=block.buf).copy()
        finally:
            block.close()
            block.unlink()
        return from_numpy(arr)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_from_shared(o) for o in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_from_shared(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _from_shared(v) for k, v in obj.items()}
    return obj


def _free_shared(obj):
    """Frees the blocks of a payload that will never be read (the epoch was cut short)."""
    if isinstance(obj, _Shared):
        try:
            block = shared_memory.SharedMemory(name=obj.name)
            block.close()
            block.unlink()
        except FileNotFoundError:
            pass
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _free_shared(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            _free_shared(o)


# ---------------------------------------------------------------------- the worker process
class _Failure:
    """An exception raised in a worker, carried back as its type, message and traceback text."""

    def __init__(self, worker_id, exc):
        self.worker_id, self.type, self.message = worker_id, type(exc), str(exc)
        self.trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))

    def reraise(self):
        text = (f"{self.type.__name__} in DataLoader worker process {self.worker_id}: {self.message}\n"
                f"Original traceback (in the worker):\n{self.trace}")
        try:
            error = self.type(text)
        except Exception:  # a type that cannot be built from one message
            error = RuntimeError(text)
        raise error


class _EndOfStream:
    """An IterableDataset worker's stream has run out."""


class MapFetcher:
    """A map-style dataset's batch: the samples at `indices`, collated (or one sample, converted)."""

    def __init__(self, dataset, collate_fn, auto_collation):
        self.dataset, self.collate_fn, self.auto_collation = dataset, collate_fn, auto_collation

    def __call__(self, indices, seed):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[indices])
        getitems = getattr(self.dataset, "__getitems__", None)
        return self.collate_fn(getitems(indices) if getitems else [self.dataset[i] for i in indices])


class StreamFetcher:
    """An IterableDataset worker's next batch from its own pass over the stream (restarted each epoch)."""

    def __init__(self, dataset, collate_fn, batch_size, drop_last):
        self.dataset, self.collate_fn, self.batch_size, self.drop_last = dataset, collate_fn, batch_size, drop_last
        self.stream, self.epoch_seed = None, None

    def __call__(self, indices, seed):
        if seed != self.epoch_seed:
            self.stream, self.epoch_seed = iter(self.dataset), seed
        if self.batch_size is None:
            return self.collate_fn(next(self.stream))
        batch = []
        for x in self.stream:
            batch.append(x)
            if len(batch) == self.batch_size:
                break
        if not batch or (len(batch) < self.batch_size and self.drop_last):
            raise StopIteration
        return self.collate_fn(batch)


def _worker_loop(fetch, tasks, results, worker_id, num_workers, base_seed, init_fn, dataset, parent):
    """Serves tasks (batch index, indices or None for a stream, epoch seed) until it gets None, the main
    process closes its end or goes away. Sends are synchronous: a forked worker starts no thread."""
    global _info
    import pydl

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    _info = WorkerInfo(worker_id, num_workers, _batch_seed(base_seed, worker_id), dataset)
    pydl.manual_seed(_info.seed)
    try:
        if init_fn is not None:
            init_fn(worker_id)
    except Exception as e:  # noqa: BLE001  (any failure goes back to the main process)
        results.send((None, _Failure(worker_id, e)))
        return
    while True:
        try:
            while not tasks.poll(_ORPHAN_CHECK_S):
                if os.getppid() != parent:
                    return
            task = tasks.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        index, indices, seed = task
        blocks = []
        try:
            pydl.manual_seed(_batch_seed(seed, index))
            payload = _to_shared(fetch(indices, seed), blocks)
        except StopIteration:
            payload = _EndOfStream()
        except Exception as e:  # noqa: BLE001
            payload = _Failure(worker_id, e)
        results.send((index, payload))
        for block in blocks:  # the main process unlinks them once read
            block.close()


# ---------------------------------------------------------------------- the main process side
_open_pools = weakref.WeakSet()


@atexit.register
def _close_open_pools():
    """Stops the workers while the interpreter can still do it (an epoch left suspended at exit)."""
    for pool in list(_open_pools):
        pool.close()


class WorkerPool:
    """num_workers processes serving one loader's batches, epoch after epoch."""

    def __init__(self, loader, fetch, base_seed):
        context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods()
                                              else "spawn")
        n = loader.num_workers
        self.depth, self.timeout = loader.prefetch_factor * n, loader.timeout
        self.persistent = loader.persistent_workers
        self.tasks, self.results, self.workers = [], [], []
        self.closed = False
        _open_pools.add(self)
        for w in range(n):  # one pipe each way per worker
            task_reader, task_writer = context.Pipe(duplex=False)
            result_reader, result_writer = context.Pipe(duplex=False)
            proc = context.Process(target=_worker_loop, daemon=True,
                                   args=(fetch, task_reader, result_writer, w, n, base_seed,
                                         loader.worker_init_fn, loader.dataset, os.getpid()))
            proc.start()
            task_reader.close()  # the worker's ends: a worker that dies closes its results pipe
            result_writer.close()
            self.tasks.append(task_writer)
            self.results.append(result_reader)
            self.workers.append(proc)

    def run(self, batches, seed):
        """Yields the batches of one epoch in order; batches: an iterable of index lists (None for a stream)."""
        n, depth = len(self.workers), self.depth
        pending, sent, received, ended = {}, 0, 0, set()
        source = iter(batches)
        completed = False
        try:
            while True:
                while sent - received < depth and len(ended) < n:
                    if sent % n in ended:  # a stream worker that has run out takes no more: its turn is empty
                        pending[sent] = _EndOfStream()
                        sent += 1
                        continue
                    indices = next(source, StopIteration)
                    if indices is StopIteration:
                        break
                    try:
                        self.tasks[sent % n].send((sent, indices, seed))
                    except OSError:  # that worker has ended: reported when its results run out
                        pass
                    sent += 1
                if received == sent:
                    completed = True
                    return
                while received not in pending:
                    index, payload = self._next_result()
                    if isinstance(payload, _Failure):
                        payload.reraise()
                    pending[index] = payload
                payload = pending.pop(received)
                received += 1
                if isinstance(payload, _EndOfStream):
                    ended.add((received - 1) % n)
                    continue
                yield _from_shared(payload)
        except GeneratorExit:  # the epoch was left early
            if self.persistent:  # collect what is still coming, so the workers stay usable
                try:
                    for _ in range(sent - received - len(pending)):
                        _free_shared(self._next_result()[1])
                    completed = True
                except Exception:  # noqa: BLE001  (a worker in trouble: closed below)
                    pass
            raise
        finally:
            for payload in pending.values():
                _free_shared(payload)
            if not completed:  # a worker failed, or the wait for one did: stop them all
                self.close()

    def _next_result(self):
        """The next (batch index, payload) any worker sends; a worker that ended is reported once
        everything it sent has been read."""
        deadline = time.monotonic() + self.timeout if self.timeout else None
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = connection.wait(self.results, timeout=left)
            for w, reader in enumerate(self.results):
                if reader in ready:
                    try:
                        return reader.recv()
                    except EOFError:
                        self.workers[w].join(timeout=1)
                        raise RuntimeError(f"DataLoader worker process {w} exited unexpectedly (exit code "
                                           f"{self.workers[w].exitcode})") from None
            if not ready:
                raise RuntimeError(f"DataLoader timed out after {self.timeout} s waiting for a batch from its workers")

    def close(self):
        if self.closed:
            return
        self.closed = True
        for writer in self.tasks:
            try:
                writer.send(None)
            except OSError:  # the worker is gone
                pass
        self._free_unread()  # a worker blocked on a full pipe can then read its None
        for proc in self.workers:
            proc.join(timeout=2)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=2)
        self._free_unread()
        for conn in self.tasks + self.results:
            conn.close()

    def _free_unread(self):
        """Frees what was sent back but will never be read."""
        for reader in self.results:
            try:
                while reader.poll():
                    _free_shared(reader.recv()[1])
            except (EOFError, OSError):
                pass

    def __del__(self):
        self.close()
