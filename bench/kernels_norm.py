"""Benchmark cases for dropout, batch-norm and layer-norm (run by bench/cpu_kernels.py).

Each case times forward + backward of one op through autograd, pydl against PyTorch CPU
on the same float32 data. "work" counts the bytes an ideal fused implementation must move
for one call: batch-norm reads x and writes y, then reads dy and x and writes dx
(5 passes over the input size), and layer-norm the same; dropout reads x and writes y and the one-byte mask, then
reads dy and the mask and writes dx (16 bytes of floats + 2 of mask per element).
"""
import numpy as np

import pydl
import pydl.nn.functional as F


def _batch_norm_case(torch, shape):
    r = np.random.default_rng(0)
    c = shape[1]
    x = r.standard_normal(shape, dtype=np.float32)
    g = r.standard_normal(shape, dtype=np.float32)
    w = r.uniform(0.5, 1.5, c).astype(np.float32)
    b = r.standard_normal(c, dtype=np.float32)
    px, pg = pydl.tensor(x, requires_grad=True), pydl.tensor(g)
    pw, pb = pydl.tensor(w, requires_grad=True), pydl.tensor(b, requires_grad=True)
    prm, prv = pydl.zeros(c), pydl.ones(c)

    def run_pydl():
        F.batch_norm(px, prm, prv, pw, pb, training=True).backward(pg)
        px.grad = pw.grad = pb.grad = None

    run_torch = None
    if torch is not None:
        tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g)
        tw, tb = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
        trm, trv = torch.zeros(c), torch.ones(c)

        def run_torch():
            torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, training=True).backward(tg)
            tx.grad = tw.grad = tb.grad = None

    return {"op": "batch_norm fwd+bwd (train)", "shape": "x".join(map(str, shape)), "pydl": run_pydl,
            "torch": run_torch, "work": ("GB", 5 * x.nbytes / 1e9)}


def _dropout_case(torch, n, p=0.5):
    r = np.random.default_rng(0)
    x = r.standard_normal(n, dtype=np.float32)
    g = r.standard_normal(n, dtype=np.float32)
    px, pg = pydl.tensor(x, requires_grad=True), pydl.tensor(g)

    def run_pydl():
        F.dropout(px, p).backward(pg)
        px.grad = None

    run_torch = None
    if torch is not None:
        tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g)

        def run_torch():
            torch.nn.functional.dropout(tx, p).backward(tg)
            tx.grad = None

    return {"op": f"dropout fwd+bwd (p={p})", "shape": str(n), "pydl": run_pydl, "torch": run_torch,
            "work": ("GB", 18 * n / 1e9)}


def _layer_norm_case(torch, shape):
    r = np.random.default_rng(0)
    d = shape[-1]
    x = r.standard_normal(shape, dtype=np.float32)
    g = r.standard_normal(shape, dtype=np.float32)
    w = r.uniform(0.5, 1.5, d).astype(np.float32)
    b = r.standard_normal(d, dtype=np.float32)
    px, pg = pydl.tensor(x, requires_grad=True), pydl.tensor(g)
    pw, pb = pydl.tensor(w, requires_grad=True), pydl.tensor(b, requires_grad=True)

    def run_pydl():
        F.layer_norm(px, (d,), pw, pb).backward(pg)
        px.grad = pw.grad = pb.grad = None

    run_torch = None
    if torch is not None:
        tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g)
        tw, tb = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)

        def run_torch():
            torch.nn.functional.layer_norm(tx, (d,), tw, tb).backward(tg)
            tx.grad = tw.grad = tb.grad = None

    return {"op": "layer_norm fwd+bwd", "shape": "x".join(map(str, shape)), "pydl": run_pydl, "torch": run_torch,
            "work": ("GB", 5 * x.nbytes / 1e9)}


def cases(torch):
    return [
        _batch_norm_case(torch, (512, 256)),
        _batch_norm_case(torch, (64, 64, 32, 32)),
        _dropout_case(torch, 1 << 20),
        _layer_norm_case(torch, (4096, 768)),
        _layer_norm_case(torch, (64, 28, 128)),
    ]
