"""Benchmark cases for conv2d and pooling (run by bench/cpu_kernels.py).

Each case times one op through autograd (forward, or forward + backward), pydl against
PyTorch CPU on the same float32 data. Shapes: LeNet-5's two convolutions at batch 64
(1->6 5x5 on 28x28 with padding 2, whose input needs no gradient; 6->16 5x5 on 14x14),
a ResNet basic-block convolution (64->64 3x3 on 32x32, padding 1, batch 64), and 2x2
max / average pooling of the LeNet activations.

"work": a convolution's forward is 2 * N * C_out * C_in * kH * kW * H_out * W_out FLOP,
and each gradient (weight, input) as much again. A pooling case counts the bytes an ideal
implementation moves: forward reads x and writes y (and max-pool's int64 indices), backward
reads dy (and the indices) and writes dx.
"""
import numpy as np

import pydl
import pydl.nn.functional as F


def _conv_cases(torch, label, n, c_in, c_out, hw, k, padding, input_grad):
    r = np.random.default_rng(0)
    x = r.standard_normal((n, c_in, hw, hw), dtype=np.float32)
    w = (r.standard_normal((c_out, c_in, k, k)) / np.sqrt(c_in * k * k)).astype(np.float32)
    b = r.standard_normal(c_out, dtype=np.float32)
    out = hw + 2 * padding - k + 1
    g = r.standard_normal((n, c_out, out, out), dtype=np.float32)
    flop = 2 * n * c_out * c_in * k * k * out * out / 1e9
    shape = f"{label}: {n}x{c_in}x{hw}x{hw} * {c_out}x{c_in}x{k}x{k} pad {padding}"

    px, pw, pb, pg = (pydl.tensor(x, requires_grad=input_grad), pydl.tensor(w, requires_grad=True),
                      pydl.tensor(b, requires_grad=True), pydl.tensor(g))

    def pydl_forward():
        with pydl.no_grad():
            F.conv2d(px, pw, pb, padding=padding)

    def pydl_train():
        F.conv2d(px, pw, pb, padding=padding).backward(pg)
        px.grad = pw.grad = pb.grad = None

    torch_forward = torch_train = None
    if torch is not None:
        tx, tw, tb, tg = (torch.tensor(x, requires_grad=input_grad), torch.tensor(w, requires_grad=True),
                          torch.tensor(b, requires_grad=True), torch.tensor(g))

        def torch_forward():
            with torch.no_grad():
                torch.nn.functional.conv2d(tx, tw, tb, padding=padding)

        def torch_train():
            torch.nn.functional.conv2d(tx, tw, tb, padding=padding).backward(tg)
            tx.grad = tw.grad = tb.grad = None

    return [
        {"op": "conv2d fwd", "shape": shape, "pydl": pydl_forward, "torch": torch_forward, "work": ("GFLOP", flop)},
        {"op": "conv2d fwd+bwd" + ("" if input_grad else " (no input grad)"), "shape": shape, "pydl": pydl_train,
         "torch": torch_train, "work": ("GFLOP", flop * (3 if input_grad else 2))},
    ]


def _pool_case(torch, kind, shape):
    r = np.random.default_rng(1)
    x = r.standard_normal(shape, dtype=np.float32)
    out = shape[:2] + (shape[2] // 2, shape[3] // 2)
    g = r.standard_normal(out, dtype=np.float32)
    ours = F.max_pool2d if kind == "max" else F.avg_pool2d
    px, pg = pydl.tensor(x, requires_grad=True), pydl.tensor(g)

    def run_pydl():
        ours(px, 2).backward(pg)
        px.grad = None

    run_torch = None
    if torch is not None:
        theirs = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d
        tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g)

        def run_torch():
            theirs(tx, 2).backward(tg)
            tx.grad = None

    index_bytes = 2 * 8 * g.size if kind == "max" else 0
    return {"op": f"{kind}_pool2d 2x2 fwd+bwd", "shape": "x".join(map(str, shape)), "pydl": run_pydl,
            "torch": run_torch, "work": ("GB", (2 * x.nbytes + 2 * g.nbytes + index_bytes) / 1e9)}


def _global_avg_case(torch, shape):
    r = np.random.default_rng(2)
    x = r.standard_normal(shape, dtype=np.float32)
    g = r.standard_normal(shape[:2] + (1, 1), dtype=np.float32)
    px, pg = pydl.tensor(x, requires_grad=True), pydl.tensor(g)

    def run_pydl():
        F.adaptive_avg_pool2d(px, 1).backward(pg)
        px.grad = None

    run_torch = None
    if torch is not None:
        tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g)

        def run_torch():
            torch.nn.functional.adaptive_avg_pool2d(tx, 1).backward(tg)
            tx.grad = None

    return {"op": "adaptive_avg_pool2d 1 fwd+bwd", "shape": "x".join(map(str, shape)), "pydl": run_pydl,
            "torch": run_torch, "work": ("GB", (2 * x.nbytes + 2 * g.nbytes) / 1e9)}


def cases(torch):
    return (_conv_cases(torch, "LeNet conv1", 64, 1, 6, 28, 5, 2, input_grad=False)
            + _conv_cases(torch, "LeNet conv2", 64, 6, 16, 14, 5, 0, input_grad=True)
            + _conv_cases(torch, "ResNet block", 64, 64, 64, 32, 3, 1, input_grad=True)
            + [_pool_case(torch, "max", (64, 6, 28, 28)), _pool_case(torch, "max", (64, 16, 10, 10)),
               _pool_case(torch, "avg", (64, 6, 28, 28)), _pool_case(torch, "avg", (64, 16, 10, 10)),
               _global_avg_case(torch, (64, 64, 8, 8))])
