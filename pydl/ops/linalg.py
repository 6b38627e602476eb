"""matmul (``@``) with torch.matmul's semantics; its backward multiplies by transposed
views, which the GEMM takes as transpose flags, so no transpose is ever copied."""
from pydl import _C
from pydl._C import ArgumentError
from pydl.autograd.function import Function
from pydl.autograd.grad_mode import state as grad_state
from pydl.ops._util import sum_to
from pydl.tensor import _wrap


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = a._a, b._a
        return _wrap(_C.matmul(a._a, b._a))

    @staticmethod
    def backward(ctx, g):
        a, b, g = ctx.a, ctx.b, g._a
        # Give 1-d operands (and the matching gradient dims) their matrix form back.
        a2 = a.unsqueeze(0) if a.ndim == 1 else a
        b2 = b.unsqueeze(1) if b.ndim == 1 else b
        if a.ndim == 1:
            g = g.unsqueeze(-2 if b.ndim > 1 else 0)
        if b.ndim == 1:
            g = g.unsqueeze(-1)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = _wrap(_C.matmul(g, b2.transpose(-1, -2)))
            ga = sum_to(ga, a2.shape)
            ga = _wrap(ga._a.reshape(list(a.shape)))
        if ctx.needs_input_grad[1]:
            gb = _wrap(_C.matmul(a2.transpose(-1, -2), g))
            gb = sum_to(gb, b2.shape)
            gb = _wrap(gb._a.reshape(list(b.shape)))
        return ga, gb


def matmul(a, b):
    if (a.requires_grad or b.requires_grad) and grad_state.enabled:
        return MatMul.apply(a, b)
    return _wrap(_C.matmul(a._a, b._a))  # nothing records: no node (half the cost of a small product)


def mm(a, b):
    if a._a.ndim != 2 or b._a.ndim != 2:
        raise ArgumentError(f"mm: expected 2-d tensors, got {a._a.ndim}-d and {b._a.ndim}-d")
    return MatMul.apply(a, b)


def dot(a, b):
    if a._a.ndim != 1 or b._a.ndim != 1:
        raise ArgumentError(f"dot: expected 1-d tensors, got {a._a.ndim}-d and {b._a.ndim}-d")
    return MatMul.apply(a, b)


def outer(a, b):
    return MatMul.apply(a.unsqueeze(1), b.unsqueeze(0))


def _triangle(x, diagonal, lower, op):
    """x with the entries off one side of `diagonal` set to 0, over the last two dims."""
    from pydl.creation import arange
    from pydl.ops.elementwise import where

    if x._a.ndim < 2:
        raise ArgumentError(f"{op}: expected a tensor of at least 2 dimensions, got {x._a.ndim}")
    rows, cols = x._a.shape[-2:]
    offset = arange(cols, device=x.device).reshape(1, cols) - arange(rows, device=x.device).reshape(rows, 1)
    return where(offset <= diagonal if lower else offset >= diagonal, x, 0)


def tril(x, diagonal=0):
    return _triangle(x, diagonal, True, "tril")


def triu(x, diagonal=0):
    return _triangle(x, diagonal, False, "triu")
