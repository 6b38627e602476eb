"""Float classification and closeness (isnan, isinf, isfinite, isclose, allclose) and the
blends lerp and logaddexp, as PyTorch, composed of the elementwise kernels."""
import math

from pydl.ops.elementwise import eq, le, logical_and, logical_or, maximum, ne, where
from pydl.ops.unary import exp, log1p
from pydl.tensor import Tensor


def isnan(x):
    return ne(x, x)


def isinf(x):
    return eq(x.abs(), math.inf)


def isfinite(x):
    return eq(x - x, 0)  # inf - inf and NaN - NaN are NaN


def isposinf(x):
    return eq(x, math.inf)


def isneginf(x):
    return eq(x, -math.inf)


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| <= atol + rtol |other| for a finite difference, or equal (infinities), or
    both NaN with equal_nan."""
    error = (input - other).abs()
    close = logical_or(eq(input, other), logical_and(isfinite(error), le(error, atol + rtol * other.abs())))
    if equal_nan:
        close = logical_or(close, logical_and(isnan(input), isnan(other)))
    return close


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(isclose(input, other, rtol, atol, equal_nan).all().item())


def lerp(start, end, weight):
    """start + weight (end - start), as PyTorch computes it: from end's side for weight >= 1/2,
    so that weight 1 gives end exactly."""
    diff = end - start
    if isinstance(weight, Tensor):
        return where(weight.abs() < 0.5, start + weight * diff, end - diff * (1 - weight))
    return start + weight * diff if abs(weight) < 0.5 else end - diff * (1 - weight)


def logaddexp(a, b):
    """log(e^a + e^b) without overflow: max + log1p(e^-|a - b|); equal infinities give themselves."""
    m = maximum(a, b)
    same_inf = logical_and(eq(a, b), isinf(a))
    safe = where(same_inf, 0.0, (a - b).abs())
    return where(same_inf, a, m + log1p(exp(-safe)))
