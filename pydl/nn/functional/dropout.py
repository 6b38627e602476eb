"""Dropout, as ``torch.nn.functional.dropout``: inverted dropout with a Philox mask.

The keep decision for element i is a pure function of (seed, offset + i) of the global
generator, so ``pydl.manual_seed`` reproduces a mask and the CPU and the GPU draw the
same one. Each call reserves fresh stream positions; the backward reuses the forward's
mask (kept as one byte per element)."""
from pydl import _C
from pydl._C import ArgumentError
from pydl.autograd.function import Function
from pydl.autograd.grad_mode import state
from pydl.tensor import _wrap

__all__ = ["dropout"]


class Dropout(Function):
    @staticmethod
    def forward(ctx, x, p):
        out, mask = _C.dropout(x._a, p)
        ctx.mask, ctx.p = mask, p
        return _wrap(out)

    @staticmethod
    def backward(ctx, g):
        return _wrap(_C.dropout_backward(g._a, ctx.mask, ctx.p)), None


def dropout(input, p=0.5, training=True, inplace=False):
    """Zeroes each element with probability p and scales the others by 1 / (1 - p).
    In evaluation (training=False) or with p == 0 the input comes back unchanged."""
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if not inplace:
        return Dropout.apply(input, float(p))
    if state.enabled and input.requires_grad:
        raise RuntimeError("dropout: inplace=True is not supported on a tensor that requires grad; "
                           "use inplace=False")
    out, _ = _C.dropout(input._a, float(p))
    input._a.copy_(out)
    return input
