"""The CPU block cache (csrc/cpu_allocator.h): large freed blocks are reused, small ones come back to
the thread that freed them (outside the shared cache), the cap holds, empty_cache() gives everything
back, PYDL_CPU_CACHE_MB=0 turns it off, and reused memory never leaks old values into results;
blocks of 4 MiB and more are huge-page aligned."""
import os
import subprocess
import sys

import numpy as np
import pytest

import pydl

stats = pydl.backends.cpu.memory_stats
cache_on = pytest.mark.skipif(stats()["cap_bytes"] == 0, reason="the cache is off (sanitizer build or "
                                                                 "PYDL_CPU_CACHE_MB=0)")


@cache_on
def test_large_blocks_are_reused():
    pydl.backends.cpu.empty_cache()
    assert stats()["cached_bytes"] == 0
    x = pydl.ones(1 << 20)  # 4 MiB
    del x
    assert stats()["cached_bytes"] >= 4 << 20
    before = stats()["hits"]
    y = pydl.zeros(1 << 20)
    assert stats()["hits"] == before + 1 and stats()["cached_bytes"] == 0
    assert float(y.sum()) == 0.0  # zeros() fills the reused block
    z = pydl.ones(1000)  # 4 KB: below the shared cache's sizes
    del z
    assert stats()["cached_bytes"] == 0
    del y
    pydl.backends.cpu.empty_cache()
    assert stats()["cached_bytes"] == 0


def test_blocks_of_4_mib_and_more_start_on_huge_page_boundaries():
    # so that transparent huge pages can back them whole, as numpy's large arrays
    for numel in (1 << 20, 3 << 20, (5 << 20) + 7):
        x = pydl.empty(numel)
        assert x.data_ptr() % (2 << 20) == 0, numel
        x.fill_(1.0)
        assert float(x.sum()) == numel
    assert pydl.empty(1000).data_ptr() % 64 == 0


@cache_on
def test_results_are_the_same_on_reused_memory():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((300, 400)).astype(np.float32)
    b = rng.standard_normal((400, 500)).astype(np.float32)
    first = (pydl.tensor(a) @ pydl.tensor(b)).relu().numpy().copy()
    for _ in range(3):
        junk = pydl.full((300, 500), float("nan"))  # leaves NaN in blocks that come back
        del junk
        again = (pydl.tensor(a) @ pydl.tensor(b)).relu().numpy()
        np.testing.assert_array_equal(again, first)


@cache_on
def test_small_blocks_come_back_to_the_thread_that_freed_them():
    x = pydl.empty(1000)
    address = x.data_ptr()
    del x
    y = pydl.full((1000,), 2.0)
    assert y.data_ptr() == address and address % 64 == 0
    assert float(y.sum()) == 2000.0


def test_small_blocks_freed_by_another_thread_never_alias_live_tensors():
    import threading

    made = []
    maker = threading.Thread(target=lambda: made.extend(pydl.full((n,), float(n)) for n in range(1, 300)))
    maker.start()
    maker.join()
    keep = made[::2]
    del made[:]  # the odd ones are freed here, into this thread's lists
    fresh = [pydl.full((n,), -1.0) for n in range(1, 300)]
    for t in keep:
        assert float(t.sum()) == float(t.numel()) ** 2, t.numel()
    assert all(float(t.sum()) == -t.numel() for t in fresh)


def _run(code, cache_mb):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=os.path.dirname(__file__),
                         env={**os.environ, "PYDL_CPU_CACHE_MB": cache_mb}, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@cache_on
def test_the_cap_holds():
    code = ("import pydl\nblocks = [pydl.empty(3 << 18) for _ in range(5)]\ndel blocks\n"  # 3 MiB each
            "s = pydl.backends.cpu.memory_stats()\nprint(s['cap_bytes'], s['cached_bytes'])")
    cap, cached = map(int, _run(code, "8"))
    assert cap == 8 << 20 and 6 << 20 <= cached <= cap  # two of the five blocks fit


def test_the_cache_can_be_turned_off():
    code = ("import pydl\nx = pydl.ones(1 << 20)\ndel x\ns = pydl.backends.cpu.memory_stats()\n"
            "print(s['cap_bytes'], s['cached_bytes'])")
    assert _run(code, "0") == ["0", "0"]
