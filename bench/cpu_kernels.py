"""CPU deep-learning kernels against PyTorch CPU, timed in the same run.

Each bench/kernels_<family>.py module lists its cases (``cases(torch)``: op, shape, a pydl
callable, a torch callable, and the work of one call in GFLOP or GB). For each case this
prints our median and 90th-percentile time, GFLOP/s or GB/s, the same times for PyTorch, and
the speed-up (torch time / pydl time: above 1 pydl is faster); with --save it writes
bench/results/<cpu>/<family>.json. GEMM against numpy is bench/matmul.py.

    python bench/cpu_kernels.py [--only activation,conv] [--repeat 15] [--threads N] [--save]
"""
import argparse
import glob
import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402


def families():
    here = os.path.dirname(os.path.abspath(__file__))
    return sorted(os.path.basename(p)[len("kernels_"):-3] for p in glob.glob(os.path.join(here, "kernels_*.py")))


def run_family(family, torch, repeat, threads, save):
    module = importlib.import_module(f"kernels_{family}")
    rows = []
    for case in module.cases(torch):
        fns = {"pydl": case["pydl"]}
        if case.get("torch") is not None:
            fns["torch"] = case["torch"]
        t = _common.bench(fns, repeat, settle_s=0.05)
        unit, amount = case["work"]
        rate = "gflops" if unit == "GFLOP" else "gbps"
        row = {"op": case["op"], "shape": case["shape"], "dtype": case.get("dtype", "float32"), "device": "cpu",
               "threads": threads, **_common.timing_fields(t, "torch"),
               rate: round(amount / t["pydl"].median * 1e9, 2)}
        if "torch" in t:
            row["reference_" + rate] = round(amount / t["torch"].median * 1e9, 2)
        rows.append(row)
    cols = [("op", "op", ""), ("shape", "shape", ""), ("median_us", "pydl us", ".1f"), ("p90_us", "pydl p90", ".1f"),
            ("reference_median_us", "torch us", ".1f"), ("reference_p90_us", "torch p90", ".1f"),
            ("gflops", "GF/s", ".1f"), ("gbps", "GB/s", ".1f"), ("speedup", "speed-up", ".2f")]
    _common.print_table(rows, cols, title=f"\n{family}, {threads} threads {_common.SPEEDUP_NOTE}")
    _common.store_results(family, rows, save)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated families (default: all of " + ", ".join(families()) + ")")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--threads", type=int)
    _common.add_save_option(parser)
    args = parser.parse_args()
    torch, threads = _common.set_threads(args.threads)
    for family in (args.only.split(",") if args.only else families()):
        run_family(family, torch, args.repeat, threads, args.save)


if __name__ == "__main__":
    main()
