"""Benchmark cases for the recurrent layers (run by bench/cpu_kernels.py): an LSTM and a GRU
reading 28 steps of 28 features (an MNIST digit row by row), batch 64, hidden 128, forward and
backward through autograd, pydl against PyTorch CPU on the same float32 data and parameters.
"work" counts the multiply-adds of the products (input projection, recurrent products; the
backward twice as many) in GFLOP."""
import numpy as np

import pydl


def _case(torch, kind, steps=28, batch=64, features=28, hidden=128):
    r = np.random.default_rng(0)
    x = r.standard_normal((batch, steps, features), dtype=np.float32)
    mine = getattr(pydl.nn, kind)(features, hidden, batch_first=True)
    px = pydl.tensor(x, requires_grad=True)

    def run_pydl():
        out, _ = mine(px)
        out.sum().backward()
        px.grad = None
        mine.zero_grad()

    run_torch = None
    if torch is not None:
        theirs = getattr(torch.nn, kind)(features, hidden, batch_first=True)
        theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in mine.state_dict().items()})
        tx = torch.tensor(x, requires_grad=True)

        def run_torch():
            out, _ = theirs(tx)
            out.sum().backward()
            tx.grad = None
            theirs.zero_grad()

    gates = {"LSTM": 4, "GRU": 3}[kind] * hidden
    flop = 2 * 3 * steps * batch * gates * (features + hidden)
    return {"op": f"{kind} fwd+bwd", "shape": f"{batch}x{steps}x{features}, hidden {hidden}", "pydl": run_pydl,
            "torch": run_torch, "work": ("GFLOP", flop / 1e9)}


def cases(torch):
    return [_case(torch, "LSTM"), _case(torch, "GRU")]
