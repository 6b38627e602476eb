"""Shared helpers for bench/: a median timer, machine info, a table printer, a JSON writer.

Ratios in the results are always pydl time / reference time, measured in the same run:
lower is better, 1.0 means as fast as the reference.
"""
import datetime
import json
import os
import platform
import statistics
import subprocess
import time

import numpy as np

import pydl

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
RATIO_MEANING = "pydl time / reference time (lower is better)"


def try_import_torch():
    try:
        import torch
        return torch
    except ImportError:
        return None


def set_threads(n):
    """Gives pydl (and PyTorch, when it imports) the same thread count: n, or pydl's default.
    Returns (torch or None, threads)."""
    torch = try_import_torch()
    if n:
        pydl.set_num_threads(n)
    threads = pydl.get_num_threads()
    if torch:
        torch.set_num_threads(threads)
    return torch, threads


def _calibrate(fn, min_block_ns):
    """Calls per block so that one block lasts >= min_block_ns (best of 3 tries, so a call
    stalled by another process on this shared machine does not make the block too short)."""
    best = 1
    for _ in range(3):
        n, t0 = 0, time.perf_counter_ns()
        while time.perf_counter_ns() - t0 < min_block_ns:
            fn()
            n += 1
        best = max(best, n)
    return best


def bench(fns, repeat=20, rounds=3, warmup=3, settle_s=0.25, min_block_ns=1_000_000):
    """Median ns per call for each fn in the dict fns. Each sample times a block of calls lasting
    >= min_block_ns. The repeats are split over `rounds`; in each round every fn in turn gets a
    pause of settle_s (idle library threads stop spinning: OpenBLAS's spin for ~0.1 s after a
    call and steal a core from whatever runs next), a warm-up, then its blocks. Rounds spread
    load from other processes on this shared machine over pydl and its references alike."""
    samples = {k: [] for k in fns}
    for r in range(rounds):
        for k, fn in fns.items():
            time.sleep(settle_s)
            for _ in range(warmup):
                fn()
            n = _calibrate(fn, min_block_ns)
            for _ in range(len(range(r, repeat, rounds))):
                t0 = time.perf_counter_ns()
                for _ in range(n):
                    fn()
                samples[k].append((time.perf_counter_ns() - t0) / n)
    return {k: statistics.median(v) for k, v in samples.items()}


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_commit():
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=os.path.dirname(os.path.abspath(__file__)), timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info():
    torch = try_import_torch()
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cpu_isa": pydl._C.cpu_isa(),
        "pydl_threads": pydl.get_num_threads(),
        "torch": torch.__version__ if torch else None,
        "torch_threads": torch.get_num_threads() if torch else None,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "env": {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS_", "OMP_"))},
        "loadavg_1m": round(os.getloadavg()[0], 2),  # > cores: other processes were running
        "commit": _git_commit(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def print_table(rows, columns, title=None):
    """rows: list of dicts; columns: list of (key, header, format spec)."""
    cells = [[("" if r.get(k) is None else format(r[k], f)) for k, _, f in columns] for r in rows]
    heads = [h for _, h, _ in columns]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
    if title:
        print(title)
    print("  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(heads, widths))))
    print("  ".join("-" * w for w in widths))
    for c in cells:
        print("  ".join(x.rjust(w) if i else x.ljust(w) for i, (x, w) in enumerate(zip(c, widths))))


def write_json(path, rows, extra=None):
    """Write {machine, ratio, rows, **extra} to path (default dir: bench/results/)."""
    if not os.path.dirname(path):
        path = os.path.join(RESULTS_DIR, path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    doc = {"machine": machine_info(), "ratio": RATIO_MEANING, **(extra or {}), "rows": rows}
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print(f"wrote {path}")
