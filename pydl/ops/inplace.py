"""Tensor's in-place methods: ``x.add_(y)``, ``x += y``, ``x.zero_()``, ``x.fill_(v)``,
``x.copy_(src)``, ``x.uniform_()``, ``x.normal_()``, ``x.scatter_()``, ``x.scatter_add_()``,
``x.scatter_reduce_()``, ``x.masked_fill_()``, ``x.clamp_()``. They write into x's memory, so they are
refused (or, for ``+=`` and friends, fall back to the out-of-place op) where autograd would
need x's old value."""
from pydl import _C
from pydl.autograd.grad_mode import state as grad_state
from pydl.ops import elementwise as ew
from pydl.ops._util import Binary, as_tensor_like


def _inplace(code):
    def method(x, other, alpha=1):
        return ew.inplace(code, x, other if alpha == 1 else other * alpha)

    return method


add_, sub_, mul_, div_ = (_inplace(code) for code in (Binary.ADD, Binary.SUB, Binary.MUL, Binary.DIV))


def _augmented(code, fallback):
    """x += y: in place when autograd does not need x's old value, else x = x + y."""

    def method(x, other):
        if grad_state.enabled and (x.requires_grad or getattr(other, "requires_grad", False)):
            return fallback(x, other)
        return ew.inplace(code, x, other)

    return method


iadd, isub, imul, itruediv, iand, ior, ixor = (_augmented(code, fallback) for code, fallback in (
    (Binary.ADD, ew.add), (Binary.SUB, ew.sub), (Binary.MUL, ew.mul), (Binary.DIV, ew.div),
    (Binary.BITWISE_AND, ew.bitwise_and), (Binary.BITWISE_OR, ew.bitwise_or), (Binary.BITWISE_XOR, ew.bitwise_xor)))


def _check_writable(t, op):
    if grad_state.enabled and t.requires_grad:
        raise RuntimeError(f"{op}: in-place write into a tensor that requires grad; use pydl.no_grad()")


def zero_(x):
    return fill_(x, 0.0)


def fill_(x, value):
    _check_writable(x, "fill_")
    x._a.fill_(float(value))
    return x


def copy_(x, src, non_blocking=False):
    """``non_blocking=True``: a copy from pinned memory to a GPU is queued, as in ``Tensor.to``."""
    _check_writable(x, "copy_")
    x._a.copy_(src._a if hasattr(src, "_a") else as_tensor_like(src, x)._a, bool(non_blocking))
    return x


def uniform_(x, a=0.0, b=1.0):
    _check_writable(x, "uniform_")
    x._a.copy_(_C.uniform(list(x._a.shape), a, b, x._a.dtype, x._a.device))
    return x


def normal_(x, mean=0.0, std=1.0):
    _check_writable(x, "normal_")
    x._a.copy_(_C.normal(list(x._a.shape), mean, std, x._a.dtype, x._a.device))
    return x


def _write_result(x, result, op):
    """x's memory takes result (the out-of-place op's value), as the in-place op would write it."""
    _check_writable(x, op)
    x._a.copy_(result._a)
    return x


def scatter_(x, dim, index, src=None, value=None, reduce=None):
    """In place: x.scatter(...); reduce='add' or 'multiply' combines instead of writing (as PyTorch's)."""
    from pydl.ops import indexing

    if reduce is None:
        return _write_result(x, indexing.scatter(x, dim, index, src, value), "scatter_")
    steps = {"add": "sum", "multiply": "prod"}
    if reduce not in steps:
        raise _C.ArgumentError(f"scatter_: reduce must be 'add' or 'multiply', got {reduce!r}")
    if src is None or not hasattr(src, "_a"):
        from pydl.creation import full

        fill = value if src is None else src
        src = full(tuple(index.shape), fill, dtype=x.dtype, device=x.device)
    return _write_result(x, indexing.scatter_reduce(x, dim, index, src, steps[reduce]), "scatter_")


def scatter_add_(x, dim, index, src):
    from pydl.ops import indexing

    return _write_result(x, indexing.scatter_add(x, dim, index, src), "scatter_add_")


def scatter_reduce_(x, dim, index, src, reduce, include_self=True):
    from pydl.ops import indexing

    return _write_result(x, indexing.scatter_reduce(x, dim, index, src, reduce, include_self), "scatter_reduce_")


def masked_fill_(x, mask, value):
    from pydl.ops import indexing

    return _write_result(x, indexing.masked_fill(x, mask, value), "masked_fill_")


def clamp_(x, min=None, max=None):  # noqa: A002  (PyTorch's argument names)
    return _write_result(x, ew.clamp(x, min, max), "clamp_")
