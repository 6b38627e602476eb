"""Scans and products: ``cumsum``, ``cumprod``, ``logcumsumexp``, ``cummax``, ``cummin`` and
``prod``, over the scan kernels (kernels/common/scan.h: in order, accumulating in double or
int64, forward or reversed, inclusive or exclusive). Their gradients are scans too, and stay
exact where inputs are 0."""
import numpy as np

from pydl import _C
from pydl.autograd.function import Function
from pydl.ops._util import Binary
from pydl.tensor import _wrap

SCAN = _C.Scan


def _scan(op, a, dim, reverse=False, exclusive=False):
    return _C.scan(op, a, dim, reverse, exclusive)


class CumSum(Function):
    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return _wrap(_scan(SCAN.CUMSUM, x._a, dim))

    @staticmethod
    def backward(ctx, g):
        return _wrap(_scan(SCAN.CUMSUM, g._a, ctx.dim, reverse=True)), None


class CumProd(Function):
    """d y_k / d x_i = prod_{j <= k, j != i} x_j. Before a row's first zero that is y_k / x_i;
    at the first zero, the cumprod of the row with that zero taken as 1; after it, 0."""

    @staticmethod
    def forward(ctx, x, dim):
        y = _scan(SCAN.CUMPROD, x._a, dim)
        ctx.x, ctx.y, ctx.dim = x, y, dim
        return _wrap(y)

    @staticmethod
    def backward(ctx, g):
        from pydl.ops.elementwise import where

        x, y, dim = ctx.x.detach(), _wrap(ctx.y), ctx.dim
        zero = x == 0
        zeros_so_far = _wrap(_scan(SCAN.CUMSUM, zero._a, dim))
        before, first = zeros_so_far == 0, zero & (zeros_so_far == 1)
        from_later = _wrap(_scan(SCAN.CUMSUM, (g * y)._a, dim, reverse=True))
        grad = where(before, from_later / where(before, x, 1.0), 0.0)
        if first.any().item():
            y_without = _wrap(_scan(SCAN.CUMPROD, where(first, 1.0, x)._a, dim))
            grad = where(first, _wrap(_scan(SCAN.CUMSUM, (g * y_without)._a, dim, reverse=True)), grad)
        return grad, None


class LogCumSumExp(Function):
    """d y_k / d x_i = e^(x_i - y_k) for i <= k. The sum over k of g_k e^(x_i - y_k) is taken in
    log space, positive and negative g apart (PyTorch's and TensorFlow's formula), so that
    neither e^x nor e^-y overflows."""

    @staticmethod
    def forward(ctx, x, dim):
        y = _scan(SCAN.LOGCUMSUMEXP, x._a, dim)
        ctx.x, ctx.y, ctx.dim = x, y, dim
        return _wrap(y)

    @staticmethod
    def backward(ctx, g):
        from pydl.ops.elementwise import where
        from pydl.ops.unary import exp, log

        x, y, dim = ctx.x.detach(), _wrap(ctx.y), ctx.dim
        lowest = float(np.finfo(x.dtype.numpy).min)
        log_g = log(g.abs())

        def part(sign_holds):
            logs = where(sign_holds, log_g, lowest) - y
            return exp(_wrap(_scan(SCAN.LOGCUMSUMEXP, logs._a, dim, reverse=True)) + x)

        return part(g > 0) - part(g < 0), None


class Prod(Function):
    """The product along dim: the scan's last entry. d/dx_i = the product of the others,
    the exclusive scans from both ends multiplied (exact where some x are 0)."""

    @staticmethod
    def forward(ctx, x, dim, keepdim):
        ctx.x, ctx.dim = x, dim
        scanned = _scan(SCAN.CUMPROD, x._a, dim)
        if x._a.shape[dim]:
            out = scanned.select(dim, -1)
        else:  # the empty product
            shape = list(scanned.shape)
            del shape[dim]
            out = _C.full(shape, 1.0, scanned.dtype, scanned.device)
        return _wrap(out.unsqueeze(dim) if keepdim else out)

    @staticmethod
    def backward(ctx, g):
        x, dim = ctx.x.detach()._a, ctx.dim
        others = _C.binary(Binary.MUL, _scan(SCAN.CUMPROD, x, dim, exclusive=True),
                           _scan(SCAN.CUMPROD, x, dim, reverse=True, exclusive=True))
        g = g._a if g._a.ndim == x.ndim else g._a.unsqueeze(dim)
        return _wrap(_C.binary(Binary.MUL, others, g)), None, None


def _to(out, dtype):
    return out if dtype is None else out.to(dtype)


def cumsum(x, dim, dtype=None):
    return CumSum.apply(_to(x, dtype), dim)


def cumprod(x, dim, dtype=None):
    return CumProd.apply(_to(x, dtype), dim)


def logcumsumexp(x, dim):
    """log(cumsum(exp(x))) along dim, without overflow (float inputs)."""
    return LogCumSumExp.apply(x, dim)


def _running_extremum(x, dim, op):
    """(values, indices) of the running max / min: the values one scan; the index, the last
    position where the running value was reached (or a NaN met), as PyTorch picks it: a running
    max of those positions."""
    from pydl.creation import arange
    from pydl.ops.elementwise import where
    from pydl.ops.numeric import isnan
    from pydl.ops.reduction import values_indices
    from pydl.ops.sort import Picked

    values = _wrap(_scan(op, x._a, dim)).to(x.dtype)
    d = dim % max(x.dim(), 1)
    positions = arange(x.shape[d] if x.dim() else 1, device=x.device).reshape([-1] + [1] * (x.dim() - d - 1))
    reached = (x.detach() == values) | isnan(x.detach())
    indices = _wrap(_scan(SCAN.CUMMAX, where(reached, positions, -1)._a, dim))
    return values_indices(Picked.apply(x, values._a, indices._a, dim), indices)


def cummax(x, dim):
    return _running_extremum(x, dim, SCAN.CUMMAX)


def cummin(x, dim):
    return _running_extremum(x, dim, SCAN.CUMMIN)


def prod(x, dim=None, keepdim=False, dtype=None):
    x = _to(x, dtype)
    if dim is None:
        out = Prod.apply(x.reshape(-1), 0, False)
        return out.reshape([1] * x.dim()) if keepdim else out
    return Prod.apply(x, dim, keepdim)
