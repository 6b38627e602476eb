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


def bench_ns(fn, repeat=20, warmup=3, min_time_ns=2_000_000):
    """Median ns per call of fn(). Each repeat times a loop of `number` calls, with `number`
    chosen so that one repeat lasts at least min_time_ns (so timer overhead is negligible)."""
    for _ in range(warmup):
        fn()
    number, t0 = 1, time.perf_counter_ns()
    fn()
    one = max(time.perf_counter_ns() - t0, 1)
    number = max(1, min_time_ns // one)
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter_ns() - t0) / number)
    return statistics.median(samples)


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
