"""Pinned host memory: Tensor.pin_memory() / is_pinned(), pin_memory= on the creation functions,
non_blocking copies to a GPU from pinned memory, the pinned block cache (csrc/cuda/host_allocator.h)
and DataLoader(pin_memory=True). Without a usable GPU: the errors and the DataLoader's warning.

Under the CUDA emulation (PYDL_CUDA=EMULATE) a copy from pinned memory is queued and runs when the
stream gets to it, as a GPU's DMA would, so the tests marked emulation see when it runs."""
import collections
import ctypes
import os
import warnings

import numpy as np
import pytest

import pydl
from pydl.data import DataLoader, Dataset, TensorDataset

no_gpu = pytest.mark.skipif(pydl.cuda.is_available(), reason="a GPU is available here")
caching = pytest.mark.skipif(os.environ.get("PYDL_CUDA_NO_CACHING", "0") not in ("", "0"),
                             reason="measures the pinned cache, off under PYDL_CUDA_NO_CACHING")
host_stats = pydl.cuda.host_memory_stats


def _emulated():
    return pydl.cuda.is_available() and pydl.cuda.get_device_name().startswith("pydl CUDA emulation")


def _emu_sync_count():
    count = ctypes.CDLL(pydl._C.__file__).pydl_emu_sync_count
    count.restype = ctypes.c_uint64
    return count()


emulation_only = pytest.mark.skipif(not _emulated(), reason="observes the CUDA emulation's queued copies")


class _Pairs(Dataset):
    """Samples of several shapes of structure: a dict holding a tensor, a tuple and a string."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": pydl.full((3,), float(i)), "pair": (np.int64(i), pydl.tensor([i, -i])), "name": f"s{i}"}


# ------------------------------------------------------------------ without a usable GPU

@no_gpu
def test_pin_memory_raises_with_the_reason_without_gpu():
    x = pydl.arange(6.0)
    assert not x.is_pinned()
    with pytest.raises(RuntimeError, match=r"pin_memory: .*(without CUDA|CUDA is not available)"):
        x.pin_memory()
    for make in (lambda: pydl.empty(2, pin_memory=True), lambda: pydl.zeros(2, pin_memory=True),
                 lambda: pydl.ones(2, pin_memory=True), lambda: pydl.full((2,), 1.5, pin_memory=True)):
        with pytest.raises(RuntimeError, match="pinned memory"):
            make()
    assert host_stats() == {"allocated_bytes": 0, "cached_bytes": 0, "pending_bytes": 0, "num_host_allocs": 0}
    pydl.cuda.host_empty_cache()  # nothing to give back; must not raise


@no_gpu
def test_dataloader_pin_memory_warns_and_returns_ordinary_tensors_without_gpu():
    ds = TensorDataset(pydl.arange(8.0), pydl.arange(8))
    with pytest.warns(UserWarning, match="no accelerator is found, then device pinned memory won't be used"):
        batches = list(DataLoader(ds, batch_size=4, pin_memory=True))
    assert len(batches) == 2
    np.testing.assert_array_equal(batches[1][0].numpy(), [4.0, 5.0, 6.0, 7.0])
    assert not any(t.is_pinned() for b in batches for t in b)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # without pin_memory there is nothing to warn about
        list(DataLoader(ds, batch_size=4))


@no_gpu
def test_non_blocking_to_cuda_still_raises_without_gpu():
    with pytest.raises(RuntimeError, match="(?i)cuda"):
        pydl.ones(3).to("cuda", non_blocking=True)


def test_pin_memory_device_must_name_a_cuda_device():
    ds = TensorDataset(pydl.arange(4.0))
    with pytest.raises(ValueError, match="pin_memory_device should be '' or a CUDA device.*'cpu'"):
        DataLoader(ds, pin_memory=True, pin_memory_device="cpu")
    assert DataLoader(ds, pin_memory=True, pin_memory_device="cuda").pin_memory_device == "cuda:0"
    with pytest.raises(ValueError, match="pin_memory: device should be a CUDA device"):
        pydl.ones(2).pin_memory(device="cpu")


# ------------------------------------------------------------------ with CUDA

@pytest.mark.cuda
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "uint8", "float16"])
def test_pinned_copy_keeps_values(dtype):
    a = (np.arange(24) % 7 - 3).reshape(4, 6)
    x = pydl.tensor(a).to(getattr(pydl, dtype)).t()  # not contiguous
    p = x.pin_memory()
    assert p.is_pinned() and not x.is_pinned()
    assert p.dtype == x.dtype and p.shape == x.shape and p.device == pydl.device("cpu")
    np.testing.assert_array_equal(p.numpy(), x.numpy())
    assert p.pin_memory() is p
    assert p[1:].is_pinned() and p.reshape(-1).is_pinned()  # views share the pinned storage
    p.fill_(0)
    assert x.numpy().any(), "pin_memory copies: writing the pinned tensor left the original alone"


@pytest.mark.cuda
def test_pin_memory_is_differentiable_and_refuses_cuda_tensors():
    x = pydl.tensor([1.0, -2.0, 3.0], requires_grad=True)
    p = x.pin_memory()
    assert p.is_pinned() and p.requires_grad
    (p * p).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, -4.0, 6.0])
    with pytest.raises(RuntimeError, match="pin_memory: only CPU tensors can be pinned, got a tensor on cuda:0"):
        pydl.ones(2, device="cuda").pin_memory()


@pytest.mark.cuda
def test_creation_functions_take_pin_memory():
    z, o = pydl.zeros(3, 4, pin_memory=True), pydl.ones(2, dtype="int64", pin_memory=True)
    f, e = pydl.full((5,), 2.5, pin_memory=True), pydl.empty(2, 3, pin_memory=True)
    assert all(t.is_pinned() for t in (z, o, f, e))
    assert not pydl.zeros(3).is_pinned()
    np.testing.assert_array_equal(z.numpy(), np.zeros((3, 4), np.float32))
    np.testing.assert_array_equal(o.numpy(), [1, 1])
    np.testing.assert_array_equal(f.numpy(), [2.5] * 5)
    assert e.shape == (2, 3) and e.dtype == pydl.float32
    with pytest.raises(RuntimeError, match="zeros: only CPU tensors can be pinned"):
        pydl.zeros(2, device="cuda", pin_memory=True)


@pytest.mark.cuda
def test_non_blocking_copies_from_pinned_memory_arrive():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((64, 33)).astype(np.float32)
    p = pydl.from_numpy(a).pin_memory()
    d1 = p.to("cuda", non_blocking=True)
    d2 = p.cuda(non_blocking=True)
    d3 = pydl.zeros(64, 33, device="cuda").copy_(p, non_blocking=True)
    d4 = p[3:10].to("cuda", non_blocking=True)  # a view at an offset into the pinned block
    doubled = d1 * 2  # a kernel queued after the copy reads what the copy wrote
    pydl.cuda.synchronize()
    for d in (d1, d2, d3):
        assert d.is_cuda
        np.testing.assert_array_equal(d.cpu().numpy(), a)
    np.testing.assert_array_equal(d4.cpu().numpy(), a[3:10])
    np.testing.assert_array_equal(doubled.cpu().numpy(), a * 2)
    # A cast or a non-contiguous source goes through ordinary memory, and still arrives.
    np.testing.assert_array_equal(p.to("cuda", pydl.float64, non_blocking=True).cpu().numpy(), a.astype(np.float64))
    np.testing.assert_array_equal(p.t().to("cuda", non_blocking=True).cpu().numpy(), a.T)


@pytest.mark.cuda
@emulation_only
def test_only_pinned_sources_skip_the_wait():
    pinned, pageable = pydl.ones(1000).pin_memory(), pydl.ones(1000)
    before = _emu_sync_count()
    d = pinned.to("cuda", non_blocking=True)
    assert _emu_sync_count() == before, "a copy from pinned memory with non_blocking=True waited"
    pageable.to("cuda", non_blocking=True)
    assert _emu_sync_count() > before, "a copy from pageable memory must finish before it returns"
    before = _emu_sync_count()
    pinned.to("cuda")
    assert _emu_sync_count() > before, "a blocking copy from pinned memory must finish before it returns"
    assert float(d.sum()) == 1000.0


@pytest.mark.cuda
@emulation_only
def test_a_non_blocking_copy_runs_when_the_stream_gets_to_it():
    # The emulation models the DMA: the host still owns the pinned source until it synchronizes.
    p = pydl.zeros(8, pin_memory=True)
    d = p.to("cuda", non_blocking=True)
    p.fill_(7.0)  # before any synchronization: what a GPU would also (racily) send
    np.testing.assert_array_equal(d.cpu().numpy(), np.full(8, 7.0, np.float32))
    p.fill_(1.0)
    pydl.cuda.synchronize()
    np.testing.assert_array_equal(d.cpu().numpy(), np.full(8, 7.0, np.float32))  # the copy ran before the sync


@pytest.mark.cuda
@caching
def test_pinned_block_is_not_reused_while_a_copy_reads_it():
    pydl.cuda.synchronize()
    pydl.cuda.host_empty_cache()
    n = 12345  # a bucket no other test uses
    first = np.arange(n, dtype=np.float32)
    p = pydl.from_numpy(first).pin_memory()
    block = p.data_ptr()
    allocs = host_stats()["num_host_allocs"]
    d = p.to("cuda", non_blocking=True)
    del p  # the tensor goes; its block must outlive the queued copy
    if _emulated():  # nothing has run the copy yet: the block waits
        assert host_stats()["pending_bytes"] >= n * 4 and host_stats()["cached_bytes"] == 0
    q = pydl.from_numpy(-first).pin_memory()  # same size: it must not get the block the copy reads
    if _emulated():
        assert q.data_ptr() != block and host_stats()["num_host_allocs"] == allocs + 1
    np.testing.assert_array_equal(d.cpu().numpy(), first)  # the copy read the first tensor's values
    pydl.cuda.synchronize()
    stats = host_stats()
    assert stats["pending_bytes"] == 0 and stats["cached_bytes"] >= n * 4
    allocs = stats["num_host_allocs"]
    r = pydl.from_numpy(first).pin_memory()  # the finished block is reused, without cudaHostAlloc
    assert host_stats()["num_host_allocs"] == allocs and r.data_ptr() == block
    np.testing.assert_array_equal(q.numpy(), -first)
    del q, r
    pydl.cuda.host_empty_cache()
    assert host_stats()["cached_bytes"] == 0


@pytest.mark.cuda
@caching
def test_pinned_and_pageable_blocks_never_share_a_cache():
    if pydl.backends.cpu.memory_stats()["cap_bytes"] == 0:
        pytest.skip("the CPU block cache is off")
    pydl.backends.cpu.empty_cache()
    pydl.cuda.host_empty_cache()
    n = 1 << 18  # 1 MiB of float32: a size the CPU block cache keeps
    pageable = pydl.ones(n)
    pageable_block = pageable.data_ptr()
    del pageable
    assert pydl.backends.cpu.memory_stats()["cached_bytes"] >= 4 * n
    p = pydl.zeros(n, pin_memory=True)  # must come from cudaHostAlloc, not the CPU cache
    assert p.is_pinned() and p.data_ptr() != pageable_block
    assert pydl.backends.cpu.memory_stats()["cached_bytes"] >= 4 * n
    pinned_block = p.data_ptr()
    del p
    assert host_stats()["cached_bytes"] >= 4 * n
    cpu_cached = pydl.backends.cpu.memory_stats()["cached_bytes"]
    x, y = pydl.zeros(n), pydl.zeros(n)  # ordinary tensors never get the pinned block
    assert not x.is_pinned() and not y.is_pinned() and pinned_block not in (x.data_ptr(), y.data_ptr())
    assert host_stats()["cached_bytes"] >= 4 * n and pydl.backends.cpu.memory_stats()["cached_bytes"] < cpu_cached
    pydl.cuda.host_empty_cache()


@pytest.mark.cuda
@pytest.mark.parametrize("num_workers", [0, 1])
def test_dataloader_pins_every_tensor_of_a_batch(num_workers):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a GPU is here: no warning
        batches = list(DataLoader(_Pairs(6), batch_size=3, pin_memory=True, num_workers=num_workers))
    assert len(batches) == 2
    b = batches[1]
    assert b["x"].is_pinned() and b["pair"][0].is_pinned() and b["pair"][1].is_pinned()
    assert list(b["name"]) == ["s3", "s4", "s5"]
    np.testing.assert_array_equal(b["x"].numpy(), [[3.0] * 3, [4.0] * 3, [5.0] * 3])
    np.testing.assert_array_equal(b["pair"][1].numpy(), [[3, -3], [4, -4], [5, -5]])
    on_gpu = b["x"].to("cuda", non_blocking=True)
    np.testing.assert_array_equal(on_gpu.cpu().numpy(), b["x"].numpy())
    plain = list(DataLoader(_Pairs(6), batch_size=3))
    assert not plain[0]["x"].is_pinned()


@pytest.mark.cuda
def test_dataloader_pinning_keeps_structures_as_pytorch():
    Point = collections.namedtuple("Point", "x y")
    ds = TensorDataset(pydl.arange(4.0), pydl.arange(4))
    (batch,) = DataLoader(ds, batch_size=4, pin_memory=True, pin_memory_device="cuda")
    assert isinstance(batch, list) and all(t.is_pinned() for t in batch)
    (points,) = DataLoader([Point(1.0, 2), Point(3.0, 4)], batch_size=2, pin_memory=True)
    assert isinstance(points, Point) and points.x.is_pinned() and points.y.is_pinned()
    np.testing.assert_array_equal(points.x.numpy(), [1.0, 3.0])
    (unbatched,) = DataLoader([pydl.ones(2)], batch_size=None, pin_memory=True)
    assert unbatched.is_pinned()
