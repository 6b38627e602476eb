"""The CUDA runtime: caching allocator and its statistics, copies, streams, errors.
Without a GPU only the "answers 0 / raises with a reason" behaviour runs; the rest is
marked cuda and skipped."""
import os
import subprocess
import sys

import numpy as np
import pytest

import pydl
from pydl import _C

no_gpu = pytest.mark.skipif(pydl.cuda.is_available(), reason="a GPU is available here")
needs_cuda_build = pytest.mark.skipif(not pydl.cuda.is_built(), reason="built without CUDA")
MiB = 1 << 20
# PYDL_CUDA_NO_CACHING=1 (for memory checkers) gives every tensor its own exact block: nothing to cache.
caching = pytest.mark.skipif(os.environ.get("PYDL_CUDA_NO_CACHING", "0") not in ("", "0"),
                             reason="measures the caching allocator, off under PYDL_CUDA_NO_CACHING")


# ------------------------------------------------------------------ without a GPU

@no_gpu
def test_stats_are_zero_without_gpu():
    for fn in (pydl.cuda.memory_allocated, pydl.cuda.memory_reserved, pydl.cuda.max_memory_allocated):
        assert fn() == 0 and fn(0) == 0 and fn("cuda:0") == 0 and fn(pydl.device("cuda")) == 0
    pydl.cuda.reset_peak_memory_stats()
    pydl.cuda.empty_cache()
    pydl.cuda.empty_cache(0)
    pydl.cuda.synchronize()
    assert pydl.cuda.memory_stats() == {"allocated_bytes": 0, "reserved_bytes": 0, "peak_allocated_bytes": 0,
                                        "num_cuda_mallocs": 0}
    assert pydl.cuda.device_count() == 0


@no_gpu
def test_device_queries_raise_with_reason_without_gpu():
    with pytest.raises(RuntimeError, match="(?i)cuda"):
        pydl.cuda.get_device_name()
    with pytest.raises(RuntimeError, match="(?i)cuda"):
        pydl.cuda.current_stream()
    with pytest.raises(RuntimeError, match="(?i)not available|without cuda|no usable"):
        pydl.from_dlpack(_FakeCuda())


class _FakeCuda:
    def __dlpack_device__(self):
        return (2, 0)

    def __dlpack__(self, stream=None, **kw):  # pragma: no cover - never reached
        raise AssertionError("from_dlpack must refuse before asking for the capsule")


def test_bad_device_argument():
    with pytest.raises(ValueError):
        pydl.cuda.memory_allocated("cpu")


@pytest.mark.parametrize("archs,cc,runs", [
    ("80,90", (8, 0), True), ("80,90", (8, 6), True), ("80,90", (9, 0), True),
    ("80,90", (12, 0), True),             # PTX of compute_90 is compiled by the driver
    ("80,90", (7, 5), False), ("80;90", (7, 0), False),
    ("80-real,90-real", (10, 0), False),  # machine code only: no newer major
    ("80-real", (8, 9), True), ("90-virtual", (8, 6), False), ("90-virtual", (10, 0), True),
    ("90a", (9, 0), True), ("90a", (10, 0), False), ("100f", (10, 3), True),
    ("all", (5, 0), True), ("", (5, 0), True),
])
def test_archs_a_build_runs_on(archs, cc, runs):
    assert _C.cuda_archs_run_on(archs, *cc) is runs


@pytest.mark.cuda
def test_a_gpu_the_build_has_no_code_for_is_unavailable(tmp_path):
    # Only the emulation can pretend to be an older GPU (PYDL_EMU_CC; its build carries 80,90).
    if "emulation" not in pydl.cuda.get_device_name():
        pytest.skip("needs pydl's CUDA emulation")
    code = ("import pydl; print(pydl.cuda.is_available()); print(pydl.cuda.unavailable_reason())\n"
            "try:\n    pydl.ones(2).to('cuda')\nexcept RuntimeError as e:\n    print('raised', e)")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYDL_EMU_CC": "75"},
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    available, reason, raised = out.stdout.strip().splitlines()
    assert available == "False"
    assert "compute capability 7.5 (sm_75)" in reason and "80,90" in reason and "CUDAARCHS=75" in reason
    assert raised == "raised " + reason


@needs_cuda_build
def test_size_buckets():
    sizes = [1, 511, 512, 513, 1000, 1024, 1025, 4096, 10**6, 3 * MiB + 1, 10**9]
    for n in sizes:
        b = _C.cuda_round_size(n)
        assert b >= n and b >= 512 and b <= max(512, n * 5 // 4 + 1)
        assert _C.cuda_round_size(b) == b  # a bucket is its own bucket
    assert _C.cuda_round_size(513) == 640 and _C.cuda_round_size(1025) == 1280


# ------------------------------------------------------------------ on a GPU

def _alloc(nbytes, device="cuda"):
    return pydl.empty(nbytes, dtype=pydl.uint8, device=device)


@pytest.mark.cuda
def test_device_queries():
    assert pydl.cuda.device_count() >= 1
    assert isinstance(pydl.cuda.get_device_name(), str) and pydl.cuda.get_device_name()
    assert pydl.cuda.current_stream() != 0
    assert pydl.cuda.current_stream(0) == pydl.cuda.current_stream("cuda:0")
    with pytest.raises(RuntimeError, match="not a valid device"):
        pydl.ones(2).to(f"cuda:{pydl.cuda.device_count()}")


@pytest.mark.cuda
@caching
def test_allocated_and_reserved_track_tensors():
    pydl.cuda.synchronize()
    base_alloc, base_res = pydl.cuda.memory_allocated(), pydl.cuda.memory_reserved()
    t = _alloc(3 * MiB + 5)
    bucket = _C.cuda_round_size(3 * MiB + 5)
    assert pydl.cuda.memory_allocated() == base_alloc + bucket
    assert pydl.cuda.memory_reserved() >= base_res
    assert pydl.cuda.max_memory_allocated() >= base_alloc + bucket
    del t
    assert pydl.cuda.memory_allocated() == base_alloc
    assert pydl.cuda.memory_reserved() >= base_alloc + bucket  # cached, not freed
    pydl.cuda.empty_cache()
    assert pydl.cuda.memory_reserved() == pydl.cuda.memory_allocated() == base_alloc


@pytest.mark.cuda
def test_no_caching_mode_gives_exact_blocks_back_at_once(tmp_path):
    code = ("import pydl; n = 3 * 2**20 + 5; t = pydl.empty(n, dtype=pydl.uint8, device='cuda'); "
            "a, r = pydl.cuda.memory_allocated(), pydl.cuda.memory_reserved(); del t; "
            "print(a, r, pydl.cuda.memory_allocated(), pydl.cuda.memory_reserved())")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYDL_CUDA_NO_CACHING": "1"},
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    n = 3 * MiB + 5
    assert [int(v) for v in out.stdout.split()] == [n, n, 0, 0]  # not rounded to a bucket, not cached


@pytest.mark.cuda
@caching
def test_blocks_are_reused_across_steps():
    x = pydl.from_numpy(np.ones((256, 256), np.float32)).to("cuda")
    for _ in range(3):  # warm up: the buckets this loop needs get cached
        y = x.clone()
        z = _alloc(123457)
        del y, z
    reserved, mallocs = pydl.cuda.memory_reserved(), _C.cuda_num_mallocs(0)
    for _ in range(1000):
        y = x.clone()
        z = _alloc(123457)
        del y, z
    assert pydl.cuda.memory_reserved() == reserved
    assert _C.cuda_num_mallocs(0) == mallocs


@pytest.mark.cuda
def test_peak_and_reset():
    pydl.cuda.reset_peak_memory_stats()
    base = pydl.cuda.memory_allocated()
    assert pydl.cuda.max_memory_allocated() == base
    t = _alloc(8 * MiB)
    del t
    assert pydl.cuda.max_memory_allocated() >= base + 8 * MiB
    pydl.cuda.reset_peak_memory_stats()
    assert pydl.cuda.max_memory_allocated() == pydl.cuda.memory_allocated()


@pytest.mark.cuda
def test_out_of_memory_is_memory_error_and_recovers():
    keep = _alloc(MiB)
    huge = 1 << 50  # 1 PiB
    with pytest.raises(MemoryError) as info:
        _alloc(huge)
    msg = str(info.value)
    assert str(huge) in msg and "cuda:0" in msg and "reserved" in msg
    t = _alloc(2 * MiB)  # the process keeps working
    t.copy_(pydl.from_numpy(np.full(2 * MiB, 7, np.uint8)))
    assert (t.cpu().numpy() == 7).all()
    del keep, t


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [pydl.bool, pydl.uint8, pydl.int64, pydl.float32, pydl.float64],
                         ids=str)
def test_host_device_round_trip(dtype, rng):
    a = (rng.standard_normal((5, 7)) * 10).astype(pydl.empty(1, dtype=dtype).numpy().dtype)
    t = pydl.from_numpy(a).to("cuda")
    assert t.is_cuda and t.device == pydl.device("cuda:0")
    np.testing.assert_array_equal(t.cpu().numpy(), a)
    # a non-contiguous CPU source is made contiguous on the CPU side of the copy
    v = pydl.from_numpy(a).T[::2]
    np.testing.assert_array_equal(v.to("cuda").cpu().numpy(), a.T[::2])
    # device to device
    np.testing.assert_array_equal(t.clone().cpu().numpy(), a)


@pytest.mark.cuda
def test_empty_and_zero_d_tensors():
    e = pydl.empty(0, 3, device="cuda")
    assert e.shape == (0, 3) and e.cpu().numpy().shape == (0, 3)
    s = pydl.tensor(2.5).to("cuda")
    assert s.item() == 2.5


@pytest.mark.cuda
def test_sync_check_mode_starts(tmp_path):
    code = "import pydl; assert pydl._C.cuda_sync_checks_enabled(); x = pydl.ones(3).to('cuda'); print(x.cpu().sum().item())"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYDL_CUDA_SYNC": "1"},
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)  # the installed pydl
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "3.0"


@pytest.mark.cuda
def test_sync_check_mode_raises_a_bad_label_at_the_call(tmp_path):
    code = ("import pydl, pydl.nn.functional as F\n"
            "x, t = pydl.zeros(2, 3, device='cuda'), pydl.tensor([0, 5], device='cuda')\n"
            "try:\n    F.cross_entropy(x, t)\nexcept IndexError as e:\n    print('raised', e)\n")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYDL_CUDA_SYNC": "1"},
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("raised cross_entropy: target 5 is out of bounds for 3 classes")
