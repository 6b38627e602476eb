"""Benchmark cases for padding, resizing, sorting, scans, the transposed convolution and
attention (run by bench/cpu_kernels.py).

Each case times one op through autograd, forward and (where it is differentiable) backward,
pydl against PyTorch CPU on the same float32 data. "work" counts the bytes the op must move:
the input read and the output written, and the same again for the backward's gradient
(sorting and attention count their inputs and outputs once per pass).
"""
import numpy as np

import pydl
import pydl.nn.functional as F


def _case(torch, name, shapes, pydl_fn, torch_fn, backward=True, work_factor=2):
    """pydl_fn / torch_fn take the inputs and return the output; its sum is the loss."""
    r = np.random.default_rng(0)
    data = [r.standard_normal(s, dtype=np.float32) for s in shapes]
    px = [pydl.tensor(d, requires_grad=backward) for d in data]
    out_numel = pydl_fn(*[pydl.tensor(d) for d in data]).numel()
    grad = pydl.ones(*pydl_fn(*[pydl.tensor(d) for d in data]).shape)

    def run_pydl():
        out = pydl_fn(*px)
        if backward:
            out.backward(grad)
            for x in px:
                x.grad = None

    run_torch = None
    if torch is not None:
        tx = [torch.tensor(d, requires_grad=backward) for d in data]
        tgrad = torch.ones(tuple(grad.shape))

        def run_torch():
            out = torch_fn(*tx)
            if backward:
                out.backward(tgrad)
                for x in tx:
                    x.grad = None

    moved = 4 * (sum(d.size for d in data) + out_numel) * (work_factor if backward else 1)
    return {"op": name + (" fwd+bwd" if backward else ""), "shape": " ".join("x".join(map(str, s)) for s in shapes),
            "pydl": run_pydl, "torch": run_torch, "work": ("GB", moved / 1e9)}


def cases(torch):
    TF = torch.nn.functional if torch is not None else None
    image = (16, 16, 64, 64)
    return [
        _case(torch, "pad(reflect, 2)", [image], lambda x: F.pad(x, (2, 2, 2, 2), mode="reflect"),
              lambda x: TF.pad(x, (2, 2, 2, 2), mode="reflect")),
        _case(torch, "pad(constant, 1)", [image], lambda x: F.pad(x, (1, 1, 1, 1)), lambda x: TF.pad(x, (1, 1, 1, 1))),
        _case(torch, "interpolate(nearest, 2x)", [image], lambda x: F.interpolate(x, scale_factor=2),
              lambda x: TF.interpolate(x, scale_factor=2)),
        _case(torch, "interpolate(bilinear, 2x)", [image],
              lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"),
              lambda x: TF.interpolate(x, scale_factor=2, mode="bilinear")),
        _case(torch, "cumsum(dim=1)", [(1024, 1024)], lambda x: x.cumsum(1), lambda x: x.cumsum(1)),
        _case(torch, "cumsum(dim=0)", [(1024, 1024)], lambda x: x.cumsum(0), lambda x: x.cumsum(0)),
        _case(torch, "sort(dim=1)", [(512, 1024)], lambda x: x.sort(1).values, lambda x: x.sort(1).values,
              backward=False),
        _case(torch, "topk(10)", [(512, 4096)], lambda x: x.topk(10).values, lambda x: x.topk(10).values,
              backward=False),
        _case(torch, "conv_transpose2d(stride 2)", [(16, 32, 16, 16), (32, 16, 4, 4)],
              lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1),
              lambda x, w: TF.conv_transpose2d(x, w, stride=2, padding=1)),
        _case(torch, "scaled_dot_product_attention", [(8, 8, 256, 64)] * 3, F.scaled_dot_product_attention,
              lambda q, k, v: TF.scaled_dot_product_attention(q, k, v)),
    ]
