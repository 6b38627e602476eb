"""Reductions with PyTorch's signatures: ``sum(dim=None, keepdim=False)``, ``max(dim)``
returning (values, indices), ``var(dim, correction=1)``, ..."""
import builtins
import functools
from collections import namedtuple

from pydl import _C
from pydl._C import ArgumentError
from pydl.autograd.function import Function
from pydl.ops._util import Binary, Reduce, Unary, dims_arg
from pydl.ops.elementwise import _gated
from pydl.tensor import _wrap

values_indices = namedtuple("values_indices", ["values", "indices"])


def _numpy_names(fn):
    """PyTorch's numpy-style aliases: ``axis=`` for ``dim=``, ``keepdims=`` for ``keepdim=``."""

    @functools.wraps(fn)
    def reduction(x, *args, axis=None, keepdims=None, **kwargs):
        if axis is not None:
            if args or "dim" in kwargs:
                raise TypeError(f"{fn.__name__}: got both dim and its alias axis")
            kwargs["dim"] = axis
        if keepdims is not None:
            if "keepdim" in kwargs:
                raise TypeError(f"{fn.__name__}: got both keepdim and its alias keepdims")
            kwargs["keepdim"] = keepdims
        return fn(x, *args, **kwargs)

    return reduction


def _kept_shape(shape, dims):
    """The reduced output's shape with keepdim=True (dims: [] means all)."""
    nd = len(shape)
    reduced = {d % builtins.max(nd, 1) for d in dims} if dims else set(range(nd))
    return [1 if i in reduced else s for i, s in enumerate(shape)]


def _expand_back(g, in_shape, dims):
    """g (a reduced gradient, keepdim or not) viewed with keepdim and broadcast to in_shape."""
    return g._a.reshape(_kept_shape(in_shape, dims)).expand(list(in_shape))


class Sum(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.shape, ctx.dims = x._a.shape, dims
        return _wrap(_C.reduce(Reduce.SUM, x._a, dims, keepdim, 0.0))

    @staticmethod
    def backward(ctx, g):
        return _wrap(_expand_back(g, ctx.shape, ctx.dims)), None, None


class Mean(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.shape, ctx.dims = x._a.shape, dims
        out = _C.reduce(Reduce.MEAN, x._a, dims, keepdim, 0.0)
        ctx.count = x._a.numel // builtins.max(out.numel, 1)
        return _wrap(out)

    @staticmethod
    def backward(ctx, g):
        return _wrap(_expand_back(g, ctx.shape, ctx.dims)) * (1.0 / builtins.max(ctx.count, 1)), None, None


class Var(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim, correction):
        out = _C.reduce(Reduce.VAR, x._a, dims, keepdim, float(correction))
        ctx.x, ctx.dims, ctx.correction = x, dims, correction
        ctx.count = x._a.numel // builtins.max(out.numel, 1)
        return _wrap(out)

    @staticmethod
    def backward(ctx, g):
        x = ctx.x
        mean = _wrap(_C.reduce(Reduce.MEAN, x._a, ctx.dims, True, 0.0))
        scale = 2.0 / (ctx.count - ctx.correction) if ctx.count > ctx.correction else float("nan")
        return _wrap(_expand_back(g, x._a.shape, ctx.dims)) * ((x - mean) * scale), None, None, None


class Extremum(Function):
    """max()/min() over whole dims: the gradient is shared evenly among tied extrema."""

    @staticmethod
    def forward(ctx, x, op, dims, keepdim):
        out = _C.reduce(op, x._a, dims, keepdim, 0.0)
        ctx.x, ctx.out, ctx.dims = x._a, out, dims
        return _wrap(out)

    @staticmethod
    def backward(ctx, g):
        shape = ctx.x.shape
        hits = _C.binary(Binary.EQ, ctx.x, _expand_back(_wrap(ctx.out), shape, ctx.dims)).astype(g._a.dtype)
        count = _C.reduce(Reduce.SUM, hits, ctx.dims, True, 0.0)
        shared = _wrap(_expand_back(g, shape, ctx.dims)) / _wrap(count)
        return _gated(shared, _wrap(hits)), None, None, None


class ExtremumDim(Function):
    """max(dim)/min(dim): values come precomputed with their indices; the gradient goes to the index."""

    @staticmethod
    def forward(ctx, x, values, indices, dim, keepdim):
        ctx.shape, ctx.dim, ctx.indices = x._a.shape, dim, indices
        ctx.dtype, ctx.device = x._a.dtype, x._a.device
        return _wrap(values)

    @staticmethod
    def backward(ctx, g):
        kept = _kept_shape(ctx.shape, [ctx.dim])
        zeros = _C.full(list(ctx.shape), 0.0, ctx.dtype, ctx.device)
        out = _C.scatter_add(zeros, ctx.dim, ctx.indices.reshape(kept), g._a.reshape(kept))
        return _wrap(out), None, None, None, None


@_numpy_names
def sum(x, dim=None, keepdim=False, dtype=None):
    out = Sum.apply(x, dims_arg(dim), keepdim)
    return out if dtype is None else out.to(dtype)


@_numpy_names
def mean(x, dim=None, keepdim=False):
    return Mean.apply(x, dims_arg(dim), keepdim)


@_numpy_names
def var(x, dim=None, unbiased=None, keepdim=False, correction=None):
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return Var.apply(x, dims_arg(dim), keepdim, correction)


@_numpy_names
def std(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return var(x, dim, unbiased, keepdim, correction).sqrt()


def _extremum(x, is_max, dim, keepdim):
    if dim is None or isinstance(dim, (list, tuple)):
        op = Reduce.MAX if is_max else Reduce.MIN
        return Extremum.apply(x, op, dims_arg(dim), keepdim and dim is not None)
    values, indices = _C.max_min_dim(is_max, x._a, int(dim), keepdim)
    return values_indices(ExtremumDim.apply(x, values, indices, int(dim), keepdim), _wrap(indices))


@_numpy_names
def max(x, dim=None, keepdim=False):
    """max over everything (a 0-d tensor), or along dim: (values, indices)."""
    from pydl.ops.elementwise import maximum

    if dim is not None and not isinstance(dim, (int, list, tuple)):  # max(a, b), as torch.max(a, other)
        return maximum(x, dim)
    return _extremum(x, True, dim, keepdim)


@_numpy_names
def min(x, dim=None, keepdim=False):
    from pydl.ops.elementwise import minimum

    if dim is not None and not isinstance(dim, (int, list, tuple)):
        return minimum(x, dim)
    return _extremum(x, False, dim, keepdim)


@_numpy_names
def amax(x, dim=None, keepdim=False):
    return Extremum.apply(x, Reduce.MAX, dims_arg(dim), keepdim)


@_numpy_names
def amin(x, dim=None, keepdim=False):
    return Extremum.apply(x, Reduce.MIN, dims_arg(dim), keepdim)


@_numpy_names
def argmax(x, dim=None, keepdim=False):
    return _wrap(_C.arg_max_min(True, x._a, dims_arg(dim), keepdim))


@_numpy_names
def argmin(x, dim=None, keepdim=False):
    return _wrap(_C.arg_max_min(False, x._a, dims_arg(dim), keepdim))


@_numpy_names
def logsumexp(x, dim=None, keepdim=False):
    """log(sum(exp(x))) over dim, computed as m + log(sum(exp(x - m))) with m the (constant) max,
    so that nothing overflows; rows of infinities give their infinity, as PyTorch."""
    from pydl.ops.elementwise import where
    from pydl.ops.unary import exp, log

    dims = dims_arg(dim)
    m = _wrap(_C.reduce(Reduce.MAX, x.detach()._a, dims, True, 0.0)) if x._a.numel else x.detach().sum(dims, True)
    m = where(m.abs() == float("inf"), 0.0, m)
    out = log(sum(exp(x - m), dims or None, keepdim=True)) + m
    return out if keepdim else out.squeeze(dims or None)


class EuclideanNorm(Function):
    """sqrt(sum(x^2)) over dims; its gradient x / norm is 0 where the norm is 0, as PyTorch's."""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        norm = _C.unary(Unary.SQRT, _C.reduce(Reduce.SUM, _C.binary(Binary.MUL, x._a, x._a), dims, keepdim, 0.0))
        ctx.x, ctx.norm, ctx.dims = x, norm, dims
        return _wrap(norm)

    @staticmethod
    def backward(ctx, g):
        from pydl.ops.elementwise import where

        shape = ctx.x._a.shape
        norm, g = _wrap(_expand_back(_wrap(ctx.norm), shape, ctx.dims)), _wrap(_expand_back(g, shape, ctx.dims))
        return ctx.x.detach() * where(norm == 0, 0.0, g / norm), None, None


def norm(x, p="fro", dim=None, keepdim=False, dtype=None):
    """The vector p-norm over dim (all of x by default): 2 ('fro'), inf, -inf, 0 (the count of
    nonzeros) or any other p, as sum(|x|^p)^(1/p)."""
    if dtype is not None:
        x = x.to(dtype)
    dims = dims_arg(dim)
    if p in ("fro", 2, 2.0):
        return EuclideanNorm.apply(x, dims, keepdim)
    if p == float("inf"):
        return amax(x.abs(), dim, keepdim)
    if p == float("-inf"):
        return amin(x.abs(), dim, keepdim)
    if p == 0:
        return sum((x != 0).to(x.dtype), dim, keepdim)
    if isinstance(p, str):
        raise ArgumentError(f"norm: p must be a number or 'fro', got {p!r}")
    return sum(x.abs() ** p, dim, keepdim) ** (1.0 / p)


def var_mean(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return var(x, dim, unbiased, keepdim, correction), mean(x, dim, keepdim)


def std_mean(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return std(x, dim, unbiased, keepdim, correction), mean(x, dim, keepdim)


@_numpy_names
def all(x, dim=None, keepdim=False):
    # Counts (a sum has an identity) rather than min/max, so empty reductions give True / False.
    is_zero = _C.binary_scalar(Binary.EQ, x._a, 0, False, False)
    zeros = _C.reduce(Reduce.SUM, is_zero, dims_arg(dim), keepdim, 0.0)
    return _wrap(_C.binary_scalar(Binary.EQ, zeros, 0, False, False))


@_numpy_names
def any(x, dim=None, keepdim=False):
    is_nonzero = _C.binary_scalar(Binary.NE, x._a, 0, False, False)
    nonzeros = _C.reduce(Reduce.SUM, is_nonzero, dims_arg(dim), keepdim, 0.0)
    return _wrap(_C.binary_scalar(Binary.NE, nonzeros, 0, False, False))
