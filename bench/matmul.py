"""float32 matmul throughput (GFLOP/s = 2*M*N*K / time) of pydl against numpy (OpenBLAS sgemm
on the same float32 data) and PyTorch when it imports, all in one run.

Cases: square n x n for n in 64..1024; the MLP 784-100-10 at batch 64 (forward, and the backward
products as autograd computes them, through transposed views such as x.T @ g); and square
transposed-operand cases (a.T @ b, a @ b.T). Each figure is the median over --repeat repeats
of a block of calls lasting >= 1 ms, taken in 3 rounds; in each round pydl, numpy and torch
take turns, each after a 0.25 s pause (OpenBLAS's idle threads spin ~0.1 s after a call and
would steal a core from the next library) and a warm-up; the 90th percentile of the repeats
is shown beside each median. speed-up = numpy time / pydl time: above 1 pydl is faster (2.0
means pydl is twice as fast); the same against torch.

As PERFORMANCE.md asks, OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for the numpy reference:
the script re-executes itself without them. --threads sets pydl's, torch's and OpenBLAS's.

    python bench/matmul.py [--repeat 20] [--threads N] [--save]   # --save: bench/results/<cpu>/matmul.json
"""
import argparse
import os
import sys

UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--threads", type=int, default=None)
    # as _common.add_save_option does, but _common (numpy) may load only after reexec_with_clean_env
    p.add_argument("--save", action="store_true", help="store the results in bench/results/<cpu>/matmul.json")
    return p.parse_args()


def reexec_with_clean_env(args):
    """Before numpy loads OpenBLAS: drop UNSET and pin OPENBLAS_NUM_THREADS to --threads."""
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    if args.threads:
        env["OPENBLAS_NUM_THREADS"] = str(args.threads)
    if env != dict(os.environ):
        env["PYDL_BENCH_UNSET"] = ",".join(k for k in UNSET if k in os.environ)
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


ARGS = parse_args()
reexec_with_clean_env(ARGS)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import _common  # noqa: E402
import pydl  # noqa: E402

# (label, M, K, N, transpose a, transpose b): C[MxN] = A[MxK] @ B[KxN]; a transposed operand
# is stored the other way round and passed as a .T view, as autograd's backward does.
CASES = [(f"square {n}", n, n, n, False, False) for n in (64, 128, 256, 512, 1024, 2048)] + [
    ("mlp fwd L1", 64, 784, 100, False, False),
    ("mlp fwd L2", 64, 100, 10, False, False),
    ("mlp bwd dW1 = x.T@g", 784, 64, 100, True, False),
    ("mlp bwd dx = g@W1.T", 64, 100, 784, False, True),
    ("mlp bwd dW2 = h.T@g", 100, 64, 10, True, False),
    ("mlp bwd dh = g@W2.T", 64, 10, 100, False, True),
] + [(f"square {n} {t}", n, n, n, t == "a.T@b", t == "a@b.T")
     for n in (256, 1024) for t in ("a.T@b", "a@b.T")]


def operands(m, k, n, ta, tb, rng):
    a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
    return a, b


def main():
    torch, threads = _common.set_threads(ARGS.threads)
    rng = np.random.default_rng(0)

    rows = []
    for label, m, k, n, ta, tb in CASES:
        a, b = operands(m, k, n, ta, tb, rng)
        libs = {"pydl": (pydl.from_numpy(a), pydl.from_numpy(b)), "numpy": (a, b)}
        if torch:
            libs["torch"] = (torch.from_numpy(a), torch.from_numpy(b))
        fns = {}
        for name, (x, y) in libs.items():
            x, y = (x.T if ta else x), (y.T if tb else y)
            fns[name] = lambda x=x, y=y: x @ y
        np.testing.assert_allclose(fns["pydl"]().numpy(), fns["numpy"](), rtol=1e-3, atol=1e-3)

        t = _common.bench(fns, ARGS.repeat)
        gflop = 2 * m * n * k / 1e9
        op = "matmul" + (" a.T@b" if ta else "") + (" a@b.T" if tb else "")
        row = {"op": op, "case": label, "shape": f"{m}x{k} @ {k}x{n}", "dtype": "float32",
               "device": "cpu", "threads": threads, **_common.timing_fields(t, "numpy"),
               "gflops": round(gflop / t["pydl"].median * 1e9, 1),
               "reference_gflops": round(gflop / t["numpy"].median * 1e9, 1)}
        if torch:
            row.update(torch_median_us=round(t["torch"].median / 1e3, 2),
                       torch_p90_us=round(t["torch"].p90 / 1e3, 2),
                       torch_gflops=round(gflop / t["torch"].median * 1e9, 1),
                       speedup_vs_torch=_common.speedup(t, "torch"))
        rows.append(row)

    cols = [("case", "case", ""), ("shape", "shape", ""), ("median_us", "pydl us", ".1f"),
            ("p90_us", "pydl p90", ".1f"), ("reference_median_us", "numpy us", ".1f"),
            ("reference_p90_us", "numpy p90", ".1f"),
            ("gflops", "pydl GF/s", ".1f"), ("reference_gflops", "numpy GF/s", ".1f")]
    if torch:
        cols.append(("torch_gflops", "torch GF/s", ".1f"))
    cols.append(("speedup", "speed-up vs numpy", ".2f"))
    if torch:
        cols.append(("speedup_vs_torch", "speed-up vs torch", ".2f"))
    _common.print_table(rows, cols, title=f"float32 matmul, {threads} thread(s) {_common.SPEEDUP_NOTE}")
    _common.store_results("matmul", rows, ARGS.save,
                          extra={"env_unset": os.environ.get("PYDL_BENCH_UNSET") or None})


if __name__ == "__main__":
    main()
