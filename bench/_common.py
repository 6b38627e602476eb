"""Shared helpers for bench/: a timer (median and 90th percentile), machine info, a table
printer, and where results go.

Speed-ups in the results are always reference time / pydl time, measured in the same run:
above 1 pydl is faster, 1.0 means as fast as the reference.

Results are stored only when a script is given --save, in
bench/results/<device>/<benchmark>.json, where <device> is the slug of the CPU model or of the
GPU's name (PYDL_BENCH_RESULTS replaces bench/results, for tests).
"""
import collections
import datetime
import json
import os
import platform
import re
import subprocess
import time

import numpy as np

import pydl

SPEEDUP_MEANING = "reference time / pydl time (speed-up > 1: pydl is faster)"
SPEEDUP_NOTE = "(speed-up > 1: pydl is faster)"  # the end of every table's title
INSTALL_REFERENCES = "install the comparison references with pip install '.[compare]'"

Timing = collections.namedtuple("Timing", "median p90")  # ns per call


def try_import_torch():
    """torch, or None after saying (once) how to install it."""
    try:
        import torch
        return torch
    except ImportError:
        if not getattr(try_import_torch, "said", False):
            try_import_torch.said = True
            print(f"PyTorch is not installed, so nothing is compared with it: {INSTALL_REFERENCES}")
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
    """{name: Timing(median, p90)}: the median and the 90th percentile, in ns per call, of
    `repeat` samples of each fn in the dict fns. Each sample times a block of calls lasting
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
    return {k: Timing(float(np.median(v)), float(np.percentile(v, 90))) for k, v in samples.items()}


def speedup(t, reference):
    """reference time / pydl time, from bench()'s result t."""
    return round(t[reference].median / t["pydl"].median, 2)


def timing_fields(t, reference=None, digits=2):
    """The fields of a result row from bench()'s t: pydl's median and p90 in µs and, when the
    `reference` entry was timed, its median and p90 and the speed-up."""
    def us(ns):
        return round(ns / 1e3, digits)
    row = {"median_us": us(t["pydl"].median), "p90_us": us(t["pydl"].p90)}
    if reference in t:
        row.update(reference=reference, reference_median_us=us(t[reference].median),
                   reference_p90_us=us(t[reference].p90), speedup=speedup(t, reference))
    return row


def _cpuinfo():
    """The first processor's fields in /proc/cpuinfo ({} where there is none)."""
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                info[key.strip()] = value.strip()
    except OSError:
        pass
    return info


def _cpu_model():
    return _cpuinfo().get("model name") or platform.processor() or "unknown"


def _git_commit():
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=os.path.dirname(os.path.abspath(__file__)), timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def slug(name):
    """A device's name as a folder name: 'Intel(R) Xeon(R) Processor' -> 'intel-xeon-processor',
    'NVIDIA H100 80GB HBM3' -> 'nvidia-h100-80gb-hbm3'."""
    name = re.sub(r"\((r|tm)\)", " ", name.lower())
    return re.sub(r"[^a-z0-9]+", "-", name).strip("-") or "unknown"


def cpu_slug(name, family=None, model=None):
    """The slug of a CPU model; where its name has no number to tell one processor from another (a virtual
    machine's 'AMD EPYC'), the x86 family and model numbers follow: 'amd-epyc-f25m17' is a Zen 4."""
    tell = not any(ch.isdigit() for ch in name) and family is not None and model is not None
    return slug(name) + (f"-f{family}m{model}" if tell else "")


def device_slug(device="cpu"):
    """The slug of the CPU model, or of the GPU's name for a CUDA device."""
    if device != "cpu":
        return slug(pydl.cuda.get_device_name(device))
    info = _cpuinfo()
    return cpu_slug(_cpu_model(), info.get("cpu family"), info.get("model"))


def results_dir():
    """bench/results, or the folder PYDL_BENCH_RESULTS names."""
    return os.environ.get("PYDL_BENCH_RESULTS") or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                 "results")


def results_path(benchmark, device="cpu"):
    """bench/results/<device slug>/<benchmark>.json"""
    return os.path.join(results_dir(), device_slug(device), f"{benchmark}.json")


def add_save_option(parser):
    parser.add_argument("--save", action="store_true",
                        help="store the results in bench/results/<device>/<benchmark>.json (tracked files)")


def machine_info(device="cpu"):
    torch = try_import_torch()
    cpu = _cpuinfo()
    return {
        "slug": device_slug(device),
        **({} if device == "cpu" else {"gpu": pydl.cuda.get_device_name(device)}),
        "cpu": _cpu_model(),
        "cpu_family_model": [cpu.get("cpu family"), cpu.get("model")],
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


def store_results(benchmark, rows, save, device="cpu", extra=None):
    """With save: writes {machine, benchmark, speedup, **extra, rows} to
    bench/results/<device slug>/<benchmark>.json. Without: writes nothing, says how to."""
    path = results_path(benchmark, device)
    if not save:
        print(f"not stored: pass --save to store in {os.path.dirname(path)}{os.sep}")
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    doc = {"machine": machine_info(device), "benchmark": benchmark, "speedup": SPEEDUP_MEANING,
           **(extra or {}), "rows": rows}
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print(f"wrote {path}")
