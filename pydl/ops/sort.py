"""Sorting: ``sort``, ``argsort``, ``msort``, ``topk`` and ``kthvalue``, as PyTorch, over one
kernel that sorts (the first k of) a dim stably, NaN last (kernels/common/sort.h). The values'
gradient goes back to the positions they were taken from."""
from pydl import _C
from pydl.autograd.function import Function
from pydl.ops.reduction import values_indices
from pydl.tensor import _wrap

_WHOLE_DIM = -1  # k for _C.sort: all of the dim


class Picked(Function):
    """Values taken from x at `indices` along dim (computed with them); the gradient is
    scattered back there."""

    @staticmethod
    def forward(ctx, x, values, indices, dim):
        ctx.shape, ctx.dtype, ctx.device, ctx.dim, ctx.indices = x._a.shape, x._a.dtype, x._a.device, dim, indices
        return _wrap(values)

    @staticmethod
    def backward(ctx, g):
        zeros = _C.full(list(ctx.shape), 0.0, ctx.dtype, ctx.device)
        if not ctx.shape:  # a 0-d tensor sorts to itself
            return g, None, None, None
        return _wrap(_C.scatter_add(zeros, ctx.dim, ctx.indices, g._a)), None, None, None


def _sorted(x, dim, descending, k, name):
    values, indices = _C.sort(x._a, dim, descending, k, name)
    return values_indices(Picked.apply(x, values, indices, dim), _wrap(indices))


def sort(x, dim=-1, descending=False, stable=False):
    """(values, indices) of x sorted along dim. Always stable: equal values keep their order."""
    return _sorted(x, dim, descending, _WHOLE_DIM, "sort")


def argsort(x, dim=-1, descending=False, stable=False):
    return sort(x, dim, descending).indices


def msort(x):
    return sort(x, 0).values


def topk(x, k, dim=-1, largest=True, sorted=True):
    """The k largest (smallest) entries along dim and their indices, in order."""
    if k < 0:
        raise IndexError(f"topk: k = {k} must be non-negative")
    return _sorted(x, dim, largest, int(k), "topk")


def kthvalue(x, k, dim=-1, keepdim=False):
    """The k-th smallest entry along dim (k from 1) and its index."""
    if k < 1:
        raise IndexError(f"kthvalue: k = {k} is out of range (k counts from 1)")
    values, indices = _sorted(x, dim, False, int(k), "kthvalue")
    if not x.dim():
        return values_indices(values, indices)
    values, indices = values.narrow(dim, k - 1, 1), indices.narrow(dim, k - 1, 1)
    return values_indices(values, indices) if keepdim else values_indices(values.squeeze(dim), indices.squeeze(dim))
