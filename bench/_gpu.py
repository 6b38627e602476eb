"""What the GPU benchmarks share: the same-GPU PyTorch reference and a timer that drains the
device around each sample. Results go where _common.store_results puts them, under the slug of
the GPU's name (bench/results/nvidia-h100-80gb-hbm3/...)."""
import statistics
import time

import pydl

import _common


def torch_on_gpu():
    """PyTorch when it is installed and sees a GPU (the same-run reference), else None."""
    torch = _common.try_import_torch()
    return torch if torch is not None and torch.cuda.is_available() else None


def no_gpu_message(script):
    """None when pydl sees a GPU; otherwise the line a GPU benchmark prints before exiting."""
    if pydl.cuda.is_available():
        return None
    return f"{script}: no CUDA GPU is available ({pydl.cuda.unavailable_reason()}); nothing to measure"


def sync_all(device, torch):
    """Waits for pydl's work on `device` and, when given, PyTorch's."""
    def sync():
        pydl.cuda.synchronize(device)
        if torch is not None:
            torch.cuda.synchronize()
    return sync


def median_time(fn, sync, repeat, min_s=2e-3, warmup=3):
    """Median seconds per call of fn: each sample is a block of back-to-back calls lasting
    >= min_s, bracketed by sync() (launches are asynchronous) and time.perf_counter."""
    for _ in range(warmup):
        fn()
    sync()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_s:
        fn()
        n += 1
    sync()
    n = max(n, 1)
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        sync()
        samples.append((time.perf_counter() - t0) / n)
    return statistics.median(samples)
