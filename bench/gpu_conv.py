"""CUDA conv2d and pooling against PyTorch/cuDNN on the same GPU, same run: conv2d forward and
forward + backward in float32 on LeNet-5's two convolutions (batch 64: 1->6 5x5 on 28x28 with
padding 2, whose input needs no gradient; 6->16 5x5 on 14x14) and a ResNet basic-block
convolution (64->64 3x3 on 32x32, padding 1, batch 64), and 2x2 max-pooling forward + backward
of the LeNet activations. cuDNN runs with benchmark=True (its fastest algorithm per shape) and
TF32 off, so both sides compute in full float32.

    python bench/gpu_conv.py [--repeat 20] [--device cuda] [--save]

GFLOP/s: a convolution's forward is 2 * N * C_out * C_in * kH * kW * H_out * W_out FLOP, each
gradient (weight, input) as much again. GB/s for pooling: the bytes an ideal implementation
moves (forward reads x, writes y and the int64 indices; backward reads dy and the indices and
writes dx). speed-up = torch time / pydl time (above 1 pydl is faster). With --save, results in
bench/results/<gpu>/conv.json. Exits with a message on a machine without a GPU.
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


def conv_cases(torch, dev, label, n, c_in, c_out, hw, k, padding, input_grad):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c_in, hw, hw), dtype=np.float32)
    w = (rng.standard_normal((c_out, c_in, k, k)) / np.sqrt(c_in * k * k)).astype(np.float32)
    b = rng.standard_normal(c_out, dtype=np.float32)
    out = hw + 2 * padding - k + 1
    g = rng.standard_normal((n, c_out, out, out), dtype=np.float32)
    flop = 2 * n * c_out * c_in * k * k * out * out
    shape = f"{label}: {n}x{c_in}x{hw}x{hw} * {c_out}x{c_in}x{k}x{k} pad {padding}"
    px, pw, pb = (pydl.tensor(x, device=dev, requires_grad=input_grad),
                  pydl.tensor(w, device=dev, requires_grad=True),
                  pydl.tensor(b, device=dev, requires_grad=True))
    pg = pydl.tensor(g, device=dev)

    def pydl_forward():
        with pydl.no_grad():
            F.conv2d(px, pw, pb, padding=padding)

    def pydl_train():
        F.conv2d(px, pw, pb, padding=padding).backward(pg)
        px.grad = pw.grad = pb.grad = None

    fwd = {"op": "conv2d fwd", "shape": shape, "pydl": pydl_forward, "flop": flop}
    train = {"op": "conv2d fwd+bwd" + ("" if input_grad else " (no input grad)"), "shape": shape,
             "pydl": pydl_train, "flop": flop * (3 if input_grad else 2)}
    if torch is not None:
        tx, tw, tb = (torch.tensor(x, device="cuda", requires_grad=input_grad),
                      torch.tensor(w, device="cuda", requires_grad=True),
                      torch.tensor(b, device="cuda", requires_grad=True))
        tg = torch.tensor(g, device="cuda")

        def torch_forward():
            with torch.no_grad():
                torch.nn.functional.conv2d(tx, tw, tb, padding=padding)

        def torch_train():
            torch.nn.functional.conv2d(tx, tw, tb, padding=padding).backward(tg)
            tx.grad = tw.grad = tb.grad = None

        fwd["torch"], train["torch"] = torch_forward, torch_train
    return [fwd, train]


def max_pool_case(torch, dev, shape):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape, dtype=np.float32)
    g = rng.standard_normal(shape[:2] + (shape[2] // 2, shape[3] // 2), dtype=np.float32)
    px, pg = pydl.tensor(x, device=dev, requires_grad=True), pydl.tensor(g, device=dev)

    def run_pydl():
        F.max_pool2d(px, 2).backward(pg)
        px.grad = None

    case = {"op": "max_pool2d 2x2 fwd+bwd", "shape": "x".join(map(str, shape)), "pydl": run_pydl,
            "bytes": 2 * x.nbytes + 2 * g.nbytes + 2 * 8 * g.size}
    if torch is not None:
        tx, tg = torch.tensor(x, device="cuda", requires_grad=True), torch.tensor(g, device="cuda")

        def run_torch():
            torch.nn.functional.max_pool2d(tx, 2).backward(tg)
            tx.grad = None

        case["torch"] = run_torch
    return case


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--repeat", type=int, default=20)
    _common.add_save_option(p)
    args = p.parse_args()
    message = _gpu.no_gpu_message("gpu_conv")
    if message:
        print(message)
        return 0
    torch = _gpu.torch_on_gpu()
    if torch is not None:
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False

    sync = _gpu.sync_all(args.device, torch)

    def run(fn, repeat):
        return _gpu.median_time(fn, sync, repeat)

    dev = args.device
    cases = (conv_cases(torch, dev, "LeNet conv1", 64, 1, 6, 28, 5, 2, input_grad=False)
             + conv_cases(torch, dev, "LeNet conv2", 64, 6, 16, 14, 5, 0, input_grad=True)
             + conv_cases(torch, dev, "ResNet block", 64, 64, 64, 32, 3, 1, input_grad=True)
             + [max_pool_case(torch, dev, (64, 6, 28, 28)), max_pool_case(torch, dev, (64, 16, 10, 10))])
    rows = []
    for case in cases:
        t = run(case["pydl"], args.repeat)
        row = {"op": case["op"], "shape": case["shape"], "dtype": "float32", "device": pydl.cuda.get_device_name(),
               "median_us": round(t * 1e6, 1)}
        rate, amount = ("gflops", case["flop"] / 1e9) if "flop" in case else ("gbps", case["bytes"] / 1e9)
        row[rate] = round(amount / t, 1)
        if "torch" in case:
            tt = run(case["torch"], args.repeat)
            row.update(reference="torch (cudnn, benchmark, no tf32)", reference_median_us=round(tt * 1e6, 1),
                       **{"reference_" + rate: round(amount / tt, 1)}, speedup=round(tt / t, 2))
        rows.append(row)
        print(row, flush=True)
    _common.print_table(rows, [("op", "op", ""), ("shape", "shape", ""), ("median_us", "pydl us", ".1f"),
                               ("gflops", "GF/s", ".0f"), ("gbps", "GB/s", ".0f"),
                               ("reference_median_us", "torch us", ".1f"), ("speedup", "speed-up", ".2f")],
                        title=f"CUDA conv2d and pooling, {pydl.cuda.get_device_name()} {_common.SPEEDUP_NOTE}")
    _common.store_results("conv", rows, args.save, device=args.device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
