"""The CUDA GEMM against cuBLAS (torch.matmul on the same GPU), the llm.c way: first every tile
configuration and every transpose is checked against a float64 CPU reference, then timed.

Timing: each figure is the median over --repeat samples; a sample is a block of back-to-back
calls lasting >= --min-ms, bracketed by device synchronizations (pydl.cuda.synchronize /
torch.cuda.synchronize) and time.perf_counter, divided by the number of calls.
speedup = cuBLAS time / pydl time (above 1 pydl is faster; the "0.85x cuBLAS" of the issue).
FP32 rows run with TF32 off on both sides
(torch.backends.cuda.matmul.allow_tf32 = False), TF32 rows with it on on both sides.

Cases: FP32 square 1024-8192; the MLP/LeNet layers 784-100 and 100-10 at batch 64 and 512,
forward (x @ W.T) and backward (g.T @ x, g @ W) as autograd runs them; TF32 square 4096/8192;
BF16 and FP16 square 4096/8192; and a sweep that times every configuration at 4096, NN and NT
(the "_lb2" configurations, 128 x 128 tiles held to 128 registers for two blocks per SM, run only
here and in the validation: the sweep says whether the heuristic should pick them).

    python bench/gpu_gemm.py [--repeat 10] [--min-ms 20] [--quick] [--save]   # --save: bench/results/<gpu>/gemm.json
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import _gpu  # noqa: E402
import pydl  # noqa: E402
from pydl import _C  # noqa: E402

TRANSPOSES = ("NN", "NT", "TN", "TT")
CHECK_SHAPES = [(1, 1, 1), (127, 129, 65), (64, 100, 784), (256, 256, 256)]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--min-ms", type=float, default=20.0)
    p.add_argument("--quick", action="store_true", help="skip the 8192 cases")
    _common.add_save_option(p)
    return p.parse_args()


# ---------------------------------------------------------------------- validation
def operand(rng, rows, cols, trans, dtype):
    x = rng.standard_normal((cols, rows) if trans else (rows, cols)).astype(np.float32)
    t = pydl.tensor(x).to(dtype)
    exact = t.double().numpy()
    t = t.to("cuda")
    return (t.t(), exact.T) if trans else (t, exact)


def validate(config, dtype, tf32, rng):
    """Max error / allowed error of one configuration over every transpose and CHECK_SHAPES."""
    rel_in = 2.0**-10 if tf32 else 0.0
    rel_out = {pydl.float16: 2.0**-11, pydl.bfloat16: 2.0**-8}.get(dtype, 0.0)
    worst = 0.0
    _C.gemm_force_config(config)
    pydl.backends.cuda.matmul.allow_tf32 = tf32
    try:
        for trans in TRANSPOSES:
            for m, n, k in CHECK_SHAPES:
                a, a64 = operand(rng, m, k, trans[0] == "T", dtype)
                b, b64 = operand(rng, k, n, trans[1] == "T", dtype)
                c = (a @ b).float().cpu().numpy().astype(np.float64)
                if _C.gemm_last_config() != config:
                    raise RuntimeError(f"forcing {config} ran {_C.gemm_last_config()}")
                ref = a64 @ b64
                acc = (rel_in + 8 * np.sqrt(k) * 2.0**-24) * (np.abs(a64) @ np.abs(b64))
                tol = (1 + rel_out) * acc + rel_out * np.abs(ref)  # rounding the output to half
                worst = max(worst, float(np.max(np.abs(c - ref) / (tol + 1e-30))))
    finally:
        _C.gemm_force_config("")
        pydl.backends.cuda.matmul.allow_tf32 = False
    return worst


# ---------------------------------------------------------------------- timing
def time_case(torch, label, m, k, n, ta, tb, kind, repeat, min_s, config=""):
    """kind: fp32, tf32, bf16 or fp16. Returns one result row."""
    pdt = {"fp32": pydl.float32, "tf32": pydl.float32, "bf16": pydl.bfloat16, "fp16": pydl.float16}[kind]
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    pa, pb = pydl.tensor(a, device="cuda").to(pdt), pydl.tensor(b, device="cuda").to(pdt)
    pa, pb = (pa.t() if ta else pa), (pb.t() if tb else pb)
    _C.gemm_force_config(config)
    pydl.backends.cuda.matmul.allow_tf32 = kind == "tf32"
    try:
        t_pydl = _gpu.median_time(lambda: pa @ pb, pydl.cuda.synchronize, repeat, min_s)
        used = _C.gemm_last_config()
    finally:
        _C.gemm_force_config("")
        pydl.backends.cuda.matmul.allow_tf32 = False
    flop = 2.0 * m * n * k
    row = {"op": "matmul", "case": label, "shape": f"{m}x{k} @ {k}x{n}",
           "trans": ("T" if ta else "N") + ("T" if tb else "N"), "dtype": kind, "device": "cuda",
           "config": used, "median_us": round(t_pydl * 1e6, 2), "tflops": round(flop / t_pydl / 1e12, 2)}
    if torch is not None:
        tdt = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[kind]
        ta_, tb_ = torch.from_numpy(a).cuda().to(tdt), torch.from_numpy(b).cuda().to(tdt)
        ta_, tb_ = (ta_.t() if ta else ta_), (tb_.t() if tb else tb_)
        old = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = kind == "tf32"
        try:
            t_ref = _gpu.median_time(lambda: ta_ @ tb_, torch.cuda.synchronize, repeat, min_s)
        finally:
            torch.backends.cuda.matmul.allow_tf32 = old
        row.update(reference="torch.matmul (cuBLAS)", reference_median_us=round(t_ref * 1e6, 2),
                   reference_tflops=round(flop / t_ref / 1e12, 2), speedup=round(t_ref / t_pydl, 2))
    return row


def cases(quick):
    sizes = (1024, 2048, 4096) if quick else (1024, 2048, 4096, 8192)
    big = (4096,) if quick else (4096, 8192)
    out = [(f"square {s}", s, s, s, False, False, "fp32") for s in sizes]
    for batch in (64, 512):
        for i, o in ((784, 100), (100, 10)):
            out += [(f"mlp {i}->{o} b{batch} fwd x@W.T", batch, i, o, False, True, "fp32"),
                    (f"mlp {i}->{o} b{batch} dW=g.T@x", o, batch, i, True, False, "fp32"),
                    (f"mlp {i}->{o} b{batch} dx=g@W", batch, o, i, False, False, "fp32")]
    out += [(f"square {s}", s, s, s, False, False, kind) for kind in ("tf32", "bf16", "fp16") for s in big]
    return out


def main():
    args = parse_args()
    message = _gpu.no_gpu_message("gpu_gemm")
    if message:
        print(message)
        return
    torch = _gpu.torch_on_gpu()
    gpu = pydl.cuda.get_device_name(0)

    # 1. every configuration, every transpose, against float64
    rng = np.random.default_rng(1)
    checks, failed = [], False
    for config in _C.gemm_configs():
        kinds = [("fp32", pydl.float32, False)] if config.startswith("sgemm") else \
            [("tf32", pydl.float32, True), ("bf16", pydl.bfloat16, False), ("fp16", pydl.float16, False)]
        for kind, dt, tf32 in kinds:
            worst = validate(config, dt, tf32, rng)
            checks.append({"config": config, "dtype": kind, "worst_error_over_bound": round(worst, 4),
                           "ok": worst <= 1.0})
            failed |= worst > 1.0
    _common.print_table(checks, [("config", "config", ""), ("dtype", "dtype", ""),
                                 ("worst_error_over_bound", "err/bound", ".3f"), ("ok", "ok", "")],
                        title=f"validation on {gpu} (every transpose, shapes {CHECK_SHAPES})")
    if failed:
        sys.exit("gpu_gemm: a configuration failed validation; not timing")

    # 2. timing against cuBLAS
    min_s = args.min_ms / 1e3
    rows = [time_case(torch, *c, args.repeat, min_s) for c in cases(args.quick)]
    for config in _C.gemm_configs():
        kinds = ("fp32",) if config.startswith("sgemm") else ("tf32", "bf16")
        for kind in kinds:
            for tb in (False, True):
                rows.append(time_case(torch, f"sweep 4096 {config}", 4096, 4096, 4096, False, tb, kind,
                                      args.repeat, min_s, config))
    cols = [("case", "case", ""), ("dtype", "dtype", ""), ("trans", "op", ""), ("config", "config", ""),
            ("median_us", "pydl us", ".1f"), ("tflops", "pydl TF/s", ".2f")]
    if torch is not None:
        cols += [("reference_tflops", "cuBLAS TF/s", ".2f"), ("speedup", "speed-up vs cuBLAS", ".2f")]
    _common.print_table(rows, cols, title=f"GEMM on {gpu} {_common.SPEEDUP_NOTE}")
    _common.store_results("gemm", rows, args.save, device="cuda",
                          extra={"validation": checks,
                                 "torch_cuda": getattr(getattr(torch, "version", None), "cuda", None)})


if __name__ == "__main__":
    main()
