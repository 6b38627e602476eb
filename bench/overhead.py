"""Per-op overhead: microseconds per call for ops on tiny tensors, where the time is almost all
Python/dispatch/allocation cost rather than arithmetic.

Measures x + y, x @ y and x.relu() on 32x32 float32, each with plain inputs and with inputs that
require grad (forward only, graph construction included, no backward), plus a full
forward + backward of ((x @ w).relu().sum()).backward() with w.grad reset each call.
The same ops run in PyTorch in the same process (same thread count) when torch imports.
Each figure is the median (and the 90th percentile) over --repeat samples of a block of calls
lasting >= 1 ms, taken in 3 rounds; in each round pydl and torch take turns, each after a 0.25 s
pause and a warm-up. speed-up = torch time / pydl time: above 1 pydl is faster.

    python bench/overhead.py [--repeat 30] [--threads N] [--save]   # --save: bench/results/<cpu>/overhead.json
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import pydl  # noqa: E402

N = 32


def cases(lib, requires_grad):
    """(op, fn) pairs for pydl or torch (same API)."""
    x = lib.randn(N, N, requires_grad=requires_grad)
    y = lib.randn(N, N, requires_grad=requires_grad)
    return [("add", lambda: x + y), ("matmul", lambda: x @ y), ("relu", lambda: x.relu())]


def fwd_bwd(lib):
    x = lib.randn(N, N)
    w = lib.randn(N, N, requires_grad=True)

    def step():
        w.grad = None
        (x @ w).relu().sum().backward()
    return step


def all_cases(lib):
    out = [(op, False, fn) for op, fn in cases(lib, False)]
    out += [(op, True, fn) for op, fn in cases(lib, True)]
    out.append(("((x@w).relu().sum()).backward()", True, fwd_bwd(lib)))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=30)
    p.add_argument("--threads", type=int, default=None)
    _common.add_save_option(p)
    args = p.parse_args()

    torch, threads = _common.set_threads(args.threads)

    pydl_cases = all_cases(pydl)
    torch_cases = all_cases(torch) if torch else [None] * len(pydl_cases)
    rows = []
    for (op, grad, fn), ref in zip(pydl_cases, torch_cases):
        t = _common.bench({"pydl": fn, **({"torch": ref[2]} if ref else {})}, args.repeat)
        rows.append({"op": op, "shape": f"{N}x{N}", "dtype": "float32", "device": "cpu",
                     "requires_grad": grad, "threads": threads, **_common.timing_fields(t, "torch", digits=3)})

    _common.print_table(rows, [("op", "op", ""), ("shape", "shape", ""),
                               ("requires_grad", "grad", ""), ("median_us", "pydl us", ".2f"),
                               ("p90_us", "pydl p90", ".2f"), ("reference_median_us", "torch us", ".2f"),
                               ("reference_p90_us", "torch p90", ".2f"), ("speedup", "speed-up", ".2f")],
                        title=f"Per-op overhead, {threads} thread(s) {_common.SPEEDUP_NOTE}")
    _common.store_results("overhead", rows, args.save)


if __name__ == "__main__":
    main()
