"""DataLoader worker processes: the same batches as in the main process, in order, for any worker
count; per-batch seeding of pydl's random stream; IterableDataset splitting with get_worker_info;
worker_init_fn; persistent workers; a worker's exception, death or silence reported in the main
process; nothing left behind after an epoch cut short. Every loader here has a timeout, so a
fault fails its test instead of hanging the suite."""
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import pydl
from pydl.data import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info

LIMIT = {"timeout": 30}


def _labels(loader):
    return [b[1].tolist() for b in loader]


def test_batches_do_not_depend_on_the_worker_count():
    ds = TensorDataset(pydl.randn(50, 3), pydl.arange(50))
    want = _labels(DataLoader(ds, batch_size=8, shuffle=True, generator=3))
    for workers in (1, 2, 3):
        loader = DataLoader(ds, batch_size=8, shuffle=True, generator=3, num_workers=workers, **LIMIT)
        assert _labels(loader) == want
        batch = next(iter(DataLoader(ds, batch_size=8, num_workers=workers, **LIMIT)))
        np.testing.assert_array_equal(batch[0].numpy(), ds.tensors[0][:8].numpy())


class Noisy(Dataset):
    """Each sample draws from pydl's random stream, as a random transform does."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        return pydl.rand(2) + i


def test_each_batch_is_seeded_the_same_whatever_the_worker_count():
    runs = [[b.numpy() for b in DataLoader(Noisy(), batch_size=3, num_workers=w, generator=7, **LIMIT)]
            for w in (1, 2, 3)]
    for run in runs[1:]:
        for a, b in zip(runs[0], run):
            np.testing.assert_array_equal(a, b)
    first = runs[0]
    assert not np.allclose(first[0] - first[0].astype(int), first[1] - first[1].astype(int))  # batches differ
    other_epoch = [b.numpy() for b in DataLoader(Noisy(), batch_size=3, num_workers=2, generator=8, **LIMIT)]
    assert not np.allclose(first[0], other_epoch[0])


class Counting(IterableDataset):
    def __init__(self, split):
        self.split = split

    def __iter__(self):
        info = get_worker_info()
        if info is None or not self.split:
            return iter(range(10))
        return iter(range(info.id, 10, info.num_workers))


def test_iterable_dataset_in_workers():
    split = [v for b in DataLoader(Counting(True), batch_size=3, num_workers=2, **LIMIT) for v in b.tolist()]
    assert sorted(split) == list(range(10))
    copies = [v for b in DataLoader(Counting(False), batch_size=4, num_workers=2, **LIMIT) for v in b.tolist()]
    assert sorted(copies) == sorted(list(range(10)) * 2)  # each worker iterates its own copy, as in PyTorch
    dropped = list(DataLoader(Counting(True), batch_size=3, num_workers=2, drop_last=True, **LIMIT))
    assert all(len(b) == 3 for b in dropped)
    assert get_worker_info() is None


class WhoAmI(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return pydl.tensor([info.id, info.num_workers, os.getpid()])


def test_worker_info_init_fn_and_persistent_workers():
    seen = []
    loader = DataLoader(WhoAmI(), batch_size=2, num_workers=2, persistent_workers=True,
                        worker_init_fn=lambda wid: pydl.manual_seed(wid), **LIMIT)
    first = [b.tolist() for b in loader]
    second = [b.tolist() for b in loader]
    for batch in first:
        seen += [tuple(row[:2]) for row in batch]
    assert set(seen) == {(0, 2), (1, 2)}
    assert {row[2] for b in first for row in b} == {row[2] for b in second for row in b}  # the same processes
    assert len({row[2] for b in first for row in b}) == 2 and os.getpid() not in {row[2] for b in first for row in b}
    loader._pool.close()


class Failing(Dataset):
    def __init__(self, how):
        self.how = how

    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == 5:
            if self.how == "raise":
                raise KeyError("five")
            if self.how == "die":
                os._exit(3)
            time.sleep(60)
        return i


def test_worker_failures_reach_the_main_process():
    with pytest.raises(KeyError, match="KeyError in DataLoader worker process 0: .*five"):
        list(DataLoader(Failing("raise"), batch_size=2, num_workers=2, **LIMIT))
    with pytest.raises(RuntimeError, match="worker process 0 exited unexpectedly \\(exit code 3\\)"):
        list(DataLoader(Failing("die"), batch_size=2, num_workers=2, **LIMIT))
    with pytest.raises(RuntimeError, match="timed out after 1 s"):
        list(DataLoader(Failing("hang"), batch_size=2, num_workers=2, timeout=1))
    with pytest.raises(ZeroDivisionError, match="in DataLoader worker process 1"):
        list(DataLoader(TensorDataset(pydl.arange(4)), num_workers=2, worker_init_fn=lambda w: 1 / (w - 1), **LIMIT))


def test_an_epoch_cut_short_leaves_nothing_behind():
    shm = set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else None
    loader = DataLoader(TensorDataset(pydl.randn(64, 8, 8), pydl.arange(64)), batch_size=4, num_workers=2,
                        prefetch_factor=4, **LIMIT)
    it = iter(loader)
    next(it)
    pool = loader._pool
    it.close()
    assert pool.closed and not any(p.is_alive() for p in pool.workers)
    if shm is not None:
        assert set(os.listdir("/dev/shm")) - shm == set()
    unbatched = [x[0].item() for x in DataLoader(TensorDataset(pydl.arange(5)), batch_size=None, num_workers=2,
                                                 **LIMIT)]
    assert unbatched == list(range(5))


def test_persistent_workers_survive_an_epoch_cut_short():
    ds = TensorDataset(pydl.arange(40))
    loader = DataLoader(ds, batch_size=4, num_workers=2, persistent_workers=True, prefetch_factor=3, **LIMIT)
    it = iter(loader)
    assert next(it)[0].tolist() == [0, 1, 2, 3]
    it.close()
    pool = loader._pool
    assert not pool.closed and all(p.is_alive() for p in pool.workers)
    assert [v for b in loader for v in b[0].tolist()] == list(range(40)) and loader._pool is pool
    pool.close()


def test_workers_end_when_the_main_process_is_killed(tmp_path):
    script = ("import os, pydl\n"
              "from pydl.data import DataLoader, TensorDataset\n"
              "loader = DataLoader(TensorDataset(pydl.arange(8)), num_workers=2, persistent_workers=True, timeout=30)\n"
              "next(iter(loader))\n"
              "print(*[p.pid for p in loader._pool.workers], flush=True)\n"
              "os._exit(0)  # no atexit, no cleanup: as if killed\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)  # not the source tree's pydl
    assert out.returncode == 0, out.stderr
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids), "orphaned DataLoader workers kept running"


def _alive(pid):
    """Running (a process that ended but was not reaped yet is a zombie: state Z)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
