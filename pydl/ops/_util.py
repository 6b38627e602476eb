"""Helpers shared by the op modules."""
import numbers

from pydl import _C
from pydl.tensor import Tensor, _wrap

# The op families' codes: Python enums bound from the registries in kernels/common
# (Binary.ADD, Reduce.SUM, Unary.TANH), never positions kept in step by hand.
Unary, Binary, Reduce = _C.Unary, _C.Binary, _C.Reduce


def sum_to(g, shape):
    """Reduces a broadcast gradient back to ``shape`` (the inverse of broadcasting)."""
    gshape = g._a.shape
    if gshape == tuple(shape):
        return g
    lead = len(gshape) - len(shape)
    dims = list(range(lead)) + [lead + i for i, s in enumerate(shape) if s == 1 and gshape[lead + i] != 1]
    arr = _C.reduce(Reduce.SUM, g._a, dims, True, 0.0) if dims else g._a
    return _wrap(arr.reshape(list(shape)))


def is_scalar(x):
    return isinstance(x, numbers.Number) and not isinstance(x, Tensor)


def as_tensor_like(x, like):
    """x as a Tensor on like's device: a Python scalar takes like's dtype when that is floating."""
    if isinstance(x, Tensor):
        return x
    from pydl.creation import tensor

    if is_scalar(x):
        dt = like.dtype if like.dtype.is_floating_point or isinstance(x, (bool, numbers.Integral)) else None
        return tensor(x, dtype=dt, device=like.device)
    return tensor(x, device=like.device)


def dims_arg(dim):
    """PyTorch's dim argument (None, an int, or a sequence) as the list _C takes ([] = all)."""
    if dim is None:
        return []
    if isinstance(dim, (list, tuple)):
        return [int(d) for d in dim]
    return [int(dim)]
