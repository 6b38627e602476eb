"""Optimizer update kernels: SGD with momentum and Adam over 1M and 10M float32 parameters
(one tensor, and 1M split over 100 tensors), against torch.optim with foreach=True.

Both sides run in steady state (momentum buffers and moments already exist). Work is the
memory traffic of one fused pass: SGD-momentum reads param, grad, buffer and writes param,
buffer (20 bytes per parameter); Adam reads param, grad, exp_avg, exp_avg_sq and writes
param, exp_avg, exp_avg_sq (28 bytes per parameter). PyTorch's foreach path makes several
passes, so its true traffic is higher than the figure used for both.
"""
import numpy as np

import pydl
from pydl.optim import functional as F

SGD_BYTES, ADAM_BYTES = 20, 28
LR, MOMENTUM = 1e-3, 0.9


def _layouts():
    """(label, list of tensor sizes)."""
    return [("1M", [1_000_000]), ("1M in 100 tensors", [10_000] * 100), ("10M", [10_000_000])]


def _data(sizes, seed=0):
    r = np.random.default_rng(seed)
    params = [r.standard_normal(n, dtype=np.float32) for n in sizes]
    grads = [r.standard_normal(n, dtype=np.float32) for n in sizes]
    return params, grads


def _pydl_sgd(params, grads):
    ps = [pydl.tensor(p) for p in params]
    gs = [pydl.tensor(g) for g in grads]
    bufs = [None] * len(ps)
    F.sgd(ps, gs, bufs, lr=LR, momentum=MOMENTUM)  # creates the buffers

    def run():
        F.sgd(ps, gs, bufs, lr=LR, momentum=MOMENTUM)
    return run


def _pydl_adam(params, grads):
    ps = [pydl.tensor(p) for p in params]
    gs = [pydl.tensor(g) for g in grads]
    ms = [pydl.zeros(p.shape[0]) for p in params]
    vs = [pydl.zeros(p.shape[0]) for p in params]
    step = [0]

    def run():
        step[0] += 1
        F.adam(ps, gs, ms, vs, [], step[0], lr=LR)
    run()
    return run


def _torch_opt(torch, params, grads, make):
    ps = [torch.from_numpy(p.copy()).requires_grad_() for p in params]
    for p, g in zip(ps, grads):
        p.grad = torch.from_numpy(g.copy())
    opt = make(ps)
    opt.step()  # creates the state
    return opt.step


def cases(torch):
    out = []
    for label, sizes in _layouts():
        params, grads = _data(sizes)
        n = sum(sizes)
        out.append({
            "op": "sgd momentum", "shape": label, "pydl": _pydl_sgd(params, grads),
            "torch": _torch_opt(torch, params, grads,
                                lambda ps: torch.optim.SGD(ps, lr=LR, momentum=MOMENTUM, foreach=True))
            if torch else None,
            "work": ("GB", SGD_BYTES * n / 1e9),
        })
        out.append({
            "op": "adam", "shape": label, "pydl": _pydl_adam(params, grads),
            "torch": _torch_opt(torch, params, grads, lambda ps: torch.optim.Adam(ps, lr=LR, foreach=True))
            if torch else None,
            "work": ("GB", ADAM_BYTES * n / 1e9),
        })
    return out
