"""Benchmark cases for activations, softmax and the fused cross-entropy (run by
bench/cpu_kernels.py).

Each case times forward + backward of one op through autograd, pydl against PyTorch CPU
on the same float32 data. "work" counts the bytes the op must move for one call:
an activation reads x and writes y, then reads dy and x (or y) and writes dx (20 bytes
per element); log-softmax the same over its (N, C) block; the fused cross-entropy reads
the logits and writes d loss / d logits in its forward, then reads those and writes the
gradient in its backward (16 bytes per logit; the targets are negligible).
"""
import numpy as np

import pydl
import pydl.nn.functional as F


def _cross_entropy_case(torch, n, c):
    r = np.random.default_rng(0)
    x = (r.standard_normal((n, c), dtype=np.float32) * 3).astype(np.float32)
    t = r.integers(0, c, n)
    px, pt = pydl.tensor(x, requires_grad=True), pydl.tensor(t)

    def run_pydl():
        F.cross_entropy(px, pt).backward()
        px.grad = None

    run_torch = None
    if torch is not None:
        tx, tt = torch.tensor(x, requires_grad=True), torch.tensor(t)

        def run_torch():
            torch.nn.functional.cross_entropy(tx, tt).backward()
            tx.grad = None

    return {"op": "cross_entropy fwd+bwd", "shape": f"{n}x{c}", "pydl": run_pydl, "torch": run_torch,
            "work": ("GB", 16 * n * c / 1e9)}


def _unary_case(torch, name, pydl_fn, torch_fn, shape):
    r = np.random.default_rng(0)
    x = r.standard_normal(shape, dtype=np.float32)
    g = r.standard_normal(shape, dtype=np.float32)
    px, pg = pydl.tensor(x, requires_grad=True), pydl.tensor(g)

    def run_pydl():
        pydl_fn(px).backward(pg)
        px.grad = None

    run_torch = None
    if torch is not None:
        tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g)
        tfn = torch_fn(torch)

        def run_torch():
            tfn(tx).backward(tg)
            tx.grad = None

    return {"op": f"{name} fwd+bwd", "shape": "x".join(map(str, shape)), "pydl": run_pydl, "torch": run_torch,
            "work": ("GB", 20 * x.size / 1e9)}


def cases(torch):
    n = 1 << 20
    return [
        _cross_entropy_case(torch, 512, 10),
        _cross_entropy_case(torch, 4096, 1000),
        _unary_case(torch, "relu", F.relu, lambda t: t.nn.functional.relu, (n,)),
        _unary_case(torch, "gelu", F.gelu, lambda t: t.nn.functional.gelu, (n,)),
        _unary_case(torch, "gelu(tanh)", lambda v: F.gelu(v, approximate="tanh"),
                    lambda t: (lambda v: t.nn.functional.gelu(v, approximate="tanh")), (n,)),
        _unary_case(torch, "sigmoid", F.sigmoid, lambda t: t.sigmoid, (n,)),
        _unary_case(torch, "log_softmax(dim=1)", lambda v: F.log_softmax(v, 1),
                    lambda t: (lambda v: t.log_softmax(v, 1)), (4096, 1000)),
    ]
