"""Cases for bench/cpu_kernels.py: linear (+ReLU) forward and backward on the MLP shapes."""
import numpy as np

import pydl
from pydl.nn.functional.linear import linear_relu

SHAPES = [(64, 784, 100), (64, 100, 10), (512, 784, 100)]  # batch, in_features, out_features


def _step(fwd, x, w, b, g):
    def run():
        w.grad = b.grad = None
        fwd(x, w, b).backward(g)
    return run


def cases(torch):
    rng = np.random.default_rng(0)
    out = []
    for n, fin, fout in SHAPES:
        x, w, b, g = (rng.standard_normal(s, dtype=np.float32) for s in ((n, fin), (fout, fin), (fout,), (n, fout)))
        p = [pydl.tensor(x), pydl.tensor(w, requires_grad=True), pydl.tensor(b, requires_grad=True), pydl.tensor(g)]
        case = {"op": "linear+relu fwd+bwd", "shape": f"{n}x{fin} -> {fout}", "work": ("GFLOP", 3 * 2 * n * fin * fout / 1e9),
                "pydl": _step(linear_relu, *p), "torch": None}
        if torch:
            t = [torch.tensor(x), torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True), torch.tensor(g)]
            case["torch"] = _step(lambda x, w, b: torch.relu(torch.nn.functional.linear(x, w, b)), *t)
        out.append(case)
    return out
