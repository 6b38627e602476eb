"""CUDA kernels of the MLP path against PyTorch on the same GPU, same run: the fused
softmax cross-entropy (forward + backward) as achieved HBM bandwidth next to a device copy
of the same size, batch-norm forward + backward, activations, and Adam over 1M parameters
in 100 tensors (torch.optim.Adam with foreach=True).

    python bench/gpu_kernels.py [--repeat 20] [--device cuda] [--save]

GB/s counts the bytes an ideal implementation must move: cross-entropy reads the logits
and writes their gradient (2 x N x C x 4 bytes); batch-norm reads x and writes y, then
reads dy and x and writes dx (5 passes); an activation's forward + backward reads x,
writes y, reads dy and x and writes dx (5 passes); a copy reads and writes once.
speed-up = torch time / pydl time (above 1 pydl is faster). With --save, results in
bench/results/<gpu>/kernels.json. Exits with a message on a machine without a GPU.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import _gpu  # noqa: E402
import pydl  # noqa: E402
import pydl.nn.functional as F  # noqa: E402


def cross_entropy_cases(torch, dev, rng):
    for n, c in ((4096, 32000), (65536, 1000)):
        x = rng.standard_normal((n, c), dtype=np.float32)
        t = rng.integers(0, c, n).astype(np.int64)
        px, pt = pydl.tensor(x, device=dev, requires_grad=True), pydl.tensor(t, device=dev)
        copy_src = pydl.tensor(x, device=dev)

        def run_pydl():
            px.grad = None
            F.cross_entropy(px, pt).backward()

        case = {"op": "cross_entropy fwd+bwd", "shape": f"{n}x{c}", "bytes": 2 * n * c * 4, "pydl": run_pydl,
                "copy": lambda: copy_src.clone()}
        if torch is not None:
            tx = torch.tensor(x, device="cuda", requires_grad=True)
            tt = torch.tensor(t, device="cuda")

            def run_torch():
                tx.grad = None
                torch.nn.functional.cross_entropy(tx, tt).backward()
            case["torch"] = run_torch
        yield case


def batch_norm_cases(torch, dev, rng):
    for shape in ((512, 256), (64, 64, 32, 32)):
        c = shape[1]
        x = rng.standard_normal(shape, dtype=np.float32)
        g = rng.standard_normal(shape, dtype=np.float32)
        px, pg = pydl.tensor(x, device=dev, requires_grad=True), pydl.tensor(g, device=dev)
        pw = pydl.ones(c, device=dev, requires_grad=True)
        pb = pydl.zeros(c, device=dev, requires_grad=True)
        prm, prv = pydl.zeros(c, device=dev), pydl.ones(c, device=dev)

        def run_pydl():
            F.batch_norm(px, prm, prv, pw, pb, training=True).backward(pg)
            px.grad = pw.grad = pb.grad = None

        case = {"op": "batch_norm fwd+bwd (train)", "shape": "x".join(map(str, shape)), "bytes": 5 * x.size * 4,
                "pydl": run_pydl}
        if torch is not None:
            tx, tg = torch.tensor(x, device="cuda", requires_grad=True), torch.tensor(g, device="cuda")
            tw = torch.ones(c, device="cuda", requires_grad=True)
            tb = torch.zeros(c, device="cuda", requires_grad=True)
            trm, trv = torch.zeros(c, device="cuda"), torch.ones(c, device="cuda")

            def run_torch():
                torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, training=True).backward(tg)
                tx.grad = tw.grad = tb.grad = None
            case["torch"] = run_torch
        yield case


def activation_cases(torch, dev, rng):
    n = 1 << 24
    x = rng.standard_normal(n, dtype=np.float32)
    g = rng.standard_normal(n, dtype=np.float32)
    for name, fp, ft in (("relu", F.relu, "relu"), ("gelu", F.gelu, "gelu"), ("sigmoid", F.sigmoid, "sigmoid"),
                         ("tanh", F.tanh, "tanh")):
        px, pg = pydl.tensor(x, device=dev, requires_grad=True), pydl.tensor(g, device=dev)

        def run_pydl(fp=fp, px=px, pg=pg):
            px.grad = None
            fp(px).backward(pg)

        case = {"op": f"{name} fwd+bwd", "shape": str(n), "bytes": 5 * n * 4, "pydl": run_pydl}
        if torch is not None:
            tx, tg = torch.tensor(x, device="cuda", requires_grad=True), torch.tensor(g, device="cuda")
            tf = getattr(torch.nn.functional, ft) if hasattr(torch.nn.functional, ft) else getattr(torch, ft)

            def run_torch(tf=tf, tx=tx, tg=tg):
                tx.grad = None
                tf(tx).backward(tg)
            case["torch"] = run_torch
        yield case


def adam_case(torch, dev, rng):
    sizes = [10_000] * 100
    init = [rng.standard_normal(s, dtype=np.float32) for s in sizes]
    grads = [rng.standard_normal(s, dtype=np.float32) * 1e-3 for s in sizes]
    ps = [pydl.tensor(a, device=dev, requires_grad=True) for a in init]
    for p, g in zip(ps, grads):
        p.grad = pydl.tensor(g, device=dev)
    opt = pydl.optim.Adam(ps, lr=1e-3)
    # reads p, g, m, v and writes p, m, v: 7 x 4 bytes per parameter
    case = {"op": "adam step (100 tensors)", "shape": "1M params", "bytes": 7 * 4 * sum(sizes), "pydl": opt.step}
    if torch is not None:
        ts = [torch.tensor(a, device="cuda", requires_grad=True) for a in init]
        for t, g in zip(ts, grads):
            t.grad = torch.tensor(g, device="cuda")
        case["torch"] = torch.optim.Adam(ts, lr=1e-3, foreach=True).step
    yield case


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--repeat", type=int, default=20)
    _common.add_save_option(p)
    args = p.parse_args()
    message = _gpu.no_gpu_message("gpu_kernels")
    if message:
        print(message)
        return 0
    torch = _gpu.torch_on_gpu()
    sync = _gpu.sync_all(args.device, torch)

    def run(fn, repeat):
        return _gpu.median_time(fn, sync, repeat)

    rng = np.random.default_rng(0)
    rows = []
    cases = [cross_entropy_cases, batch_norm_cases, activation_cases, adam_case]
    for make in cases:
        for case in make(torch, args.device, rng):
            t = run(case["pydl"], args.repeat)
            row = {"op": case["op"], "shape": case["shape"], "dtype": "float32", "device": pydl.cuda.get_device_name(),
                   "median_us": round(t * 1e6, 1), "gbps": round(case["bytes"] / t / 1e9, 1)}
            if "copy" in case:
                tc = run(case["copy"], args.repeat)
                copy_gbps = case["bytes"] / tc / 1e9  # a clone moves the same bytes: read N x C, write N x C
                row.update(copy_gbps=round(copy_gbps, 1), of_copy=round(row["gbps"] / copy_gbps, 3))
            if "torch" in case:
                tt = run(case["torch"], args.repeat)
                row.update(reference="torch", reference_median_us=round(tt * 1e6, 1),
                           reference_gbps=round(case["bytes"] / tt / 1e9, 1), speedup=round(tt / t, 2))
            rows.append(row)
            print(row, flush=True)
    _common.print_table(rows, [("op", "op", ""), ("shape", "shape", ""), ("median_us", "pydl us", ".1f"),
                               ("gbps", "GB/s", ".0f"), ("of_copy", "of copy", ".2f"),
                               ("reference_median_us", "torch us", ".1f"), ("speedup", "speed-up", ".2f")],
                        title=f"CUDA kernels, {pydl.cuda.get_device_name()} {_common.SPEEDUP_NOTE}")
    _common.store_results("kernels", rows, args.save, device=args.device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
