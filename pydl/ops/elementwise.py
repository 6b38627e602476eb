"""Binary elementwise ops with broadcasting (the one-input ops are the pointwise family,
pydl/ops/unary.py). Python scalars stay scalars all the way to the
kernel (no 0-d tensor is made for ``x * 2``); gradients of broadcast inputs are
summed back to the input's shape."""
import math
import numbers

from pydl import _C
from pydl._C import ArgumentError, DTypeError
from pydl._dtype import bool_ as bool_dtype
from pydl.autograd.function import Function
from pydl.autograd.grad_mode import state as grad_state
from pydl.ops._util import Binary, as_tensor_like, sum_to
from pydl.ops.unary import log
from pydl.tensor import Tensor, _new, _wrap


def _operand(x, other):
    """x as something _C.binary* takes: a Tensor, a Python number, or (lists, arrays) a new Tensor."""
    if isinstance(x, Tensor) or isinstance(x, numbers.Number):
        return x
    return as_tensor_like(x, other)


def _raw(op, a, b):
    """The C++ result of ``a op b``; at least one of a, b is a Tensor."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            return _C.binary(op, a._a, b._a)
        return _C.binary_scalar(op, a._a, b, not isinstance(b, numbers.Integral), False)
    return _C.binary_scalar(op, b._a, a, not isinstance(a, numbers.Integral), True)


class _Binary(Function):
    """a op b for Tensors or Python scalars; subclasses give the op code and the gradients."""

    op = None

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.a, ctx.b = a, b
        return _wrap(_raw(cls.op, a, b))

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.a, ctx.b
        ga, gb = cls.grads(ctx, g, a, b)
        need = ctx.needs_input_grad
        return (sum_to(ga, a._a.shape) if need[0] else None, sum_to(gb, b._a.shape) if need[1] else None)

    @classmethod
    def record(cls, a, b):
        """apply(a, b) for two Tensors when autograd records: the node apply would make, built
        without its generic argument loop (a fifth of the cost of a small op)."""
        ctx = _new(cls)
        ra, rb = a.requires_grad, b.requires_grad
        ctx.needs_input_grad = [ra, rb]
        out = _wrap(_C.binary(cls.op, a._a, b._a))
        ctx.a, ctx.b = a, b
        ctx.inputs = (a if ra else None, b if rb else None)
        out.requires_grad = True
        out._node = ctx
        return out


class Add(_Binary):
    op = Binary.ADD

    @staticmethod
    def grads(ctx, g, a, b):
        return g, g


class Sub(_Binary):
    op = Binary.SUB

    @staticmethod
    def grads(ctx, g, a, b):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(_Binary):
    op = Binary.MUL

    @staticmethod
    def grads(ctx, g, a, b):
        n = ctx.needs_input_grad
        return (g * b if n[0] else None), (g * a if n[1] else None)


class Div(_Binary):
    op = Binary.DIV

    @staticmethod
    def grads(ctx, g, a, b):
        n = ctx.needs_input_grad  # d/db as PyTorch writes it, -g (a / b) / b: no g * a to overflow first
        return (g / b if n[0] else None), (-g * ((a / b) / b) if n[1] else None)


class Pow(_Binary):
    op = Binary.POW

    @staticmethod
    def grads(ctx, g, a, b):
        """PyTorch's conventions at a == 0: d/da is 0 where b == 0 (not 0 * inf), d/db is 0 where
        b >= 0 (and -inf where b < 0, from a^b log a)."""
        n = ctx.needs_input_grad
        ga = gb = None
        if n[0]:
            if isinstance(b, Tensor):
                ga = g * where(eq(b, 0), 0.0, b * pow(a, b - 1))
            else:
                ga = g * b * pow(a, b - 1) if b != 0 else g * 0.0
        if n[1]:  # d(a^b)/db = a^b log a
            if isinstance(a, Tensor):
                gb = g * where(logical_and(eq(a, 0), ge(b, 0)), 0.0, pow(a, b) * log(a))
            elif a == 0:  # a Python number as the base (2 ** x)
                gb = g * where(ge(b, 0), 0.0, -math.inf)
            else:
                gb = g * pow(a, b) * (math.log(a) if a > 0 else math.nan)
        return ga, gb


class Fmod(_Binary):
    """d/da = 1, d/db = -trunc(a / b), as PyTorch (fmod = a - trunc(a / b) b)."""

    op = Binary.FMOD
    rounding = Binary.TRUNC_DIVIDE

    @classmethod
    def grads(cls, ctx, g, a, b):
        n = ctx.needs_input_grad
        if not n[1]:
            return (g if n[0] else None), None
        a, b = (x.detach() if isinstance(x, Tensor) else x for x in (a, b))
        return (g if n[0] else None), -g * _wrap(_raw(cls.rounding, a, b))


class Remainder(Fmod):
    """Python's %: d/db = -floor(a / b)."""

    op = Binary.REMAINDER
    rounding = Binary.FLOOR_DIVIDE


def _gated(g, weight):
    """g * weight, exactly 0 where weight is 0 even if g is +-inf or nan there: the backward of an
    op that routes its gradient (maximum, clamp, max) gives the unpicked inputs 0, as PyTorch."""
    zero = _C.full([], 0.0, g._a.dtype, g._a.device)
    return _wrap(_C.where(_C.binary_scalar(Binary.NE, weight._a, 0, False, False), (g * weight)._a, zero))


class _Pick(_Binary):
    """maximum / minimum: the gradient goes to the operand picked; ties split it evenly, as PyTorch."""

    wins = None  # the comparison under which a is picked

    @classmethod
    def grads(cls, ctx, g, a, b):
        share = _wrap(_C.binary_scalar(Binary.MUL, _raw(cls.wins, a, b), 1.0, True, False)) + \
            _wrap(_C.binary_scalar(Binary.MUL, _raw(Binary.EQ, a, b), 0.5, True, False))
        return _gated(g, share), _gated(g, 1.0 - share)


class Maximum(_Pick):
    op, wins = Binary.MAXIMUM, Binary.GT


class Minimum(_Pick):
    op, wins = Binary.MINIMUM, Binary.LT


def _apply(fn, a, b):
    """fn(a, b): its kernel straight for two Tensors, or a Tensor and a Python number, when
    autograd records nothing (no node, no ctx: half the per-op cost on small tensors); for two
    Tensors that record, fn.record; else fn.apply."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            try:
                if (a.requires_grad or b.requires_grad) and grad_state.enabled:
                    return fn.record(a, b)
                return _wrap(_C.binary(fn.op, a._a, b._a))
            except TypeError:  # float16 / bfloat16: apply says which op refuses them and why
                return fn.apply(a, b)
        if isinstance(b, numbers.Number):
            if not (a.requires_grad and grad_state.enabled):
                try:
                    return _wrap(_C.binary_scalar(fn.op, a._a, b, not isinstance(b, numbers.Integral), False))
                except TypeError:
                    pass
            return fn.apply(a, b)
    return fn.apply(_operand(a, b), _operand(b, a))


def add(a, b, alpha=1):
    if alpha != 1:
        b = b * alpha
    return _apply(Add, a, b)


def sub(a, b, alpha=1):
    if alpha != 1:
        b = b * alpha
    return _apply(Sub, a, b)


def mul(a, b):
    return _apply(Mul, a, b)


def div(a, b, rounding_mode=None):
    """a / b; rounding_mode 'trunc' or 'floor' rounds the quotient (integers stay integers)."""
    if rounding_mode is None:
        return _apply(Div, a, b)
    if rounding_mode == "floor":
        return floor_divide(a, b)
    if rounding_mode != "trunc":
        raise ArgumentError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
    _check_integer_divisor("div", a, b)
    return _wrap(_raw(Binary.TRUNC_DIVIDE, _operand(a, b), _operand(b, a)))


def pow(a, b):
    return _apply(Pow, a, b)


def _check_integer_divisor(op, a, b):
    """Integer division by zero raises, as PyTorch's ZeroDivisionError (the kernels never trap)."""
    integral = all(not x.dtype.is_floating_point for x in (a, b) if isinstance(x, Tensor)) and \
        not any(isinstance(x, float) for x in (a, b))
    if not integral:
        return
    zero = (b == 0).any().item() if isinstance(b, Tensor) else b == 0
    if zero:
        raise ZeroDivisionError(f"{op}: integer division by zero")


def fmod(a, b):
    _check_integer_divisor("fmod", a, b)
    return _apply(Fmod, a, b)


def remainder(a, b):
    _check_integer_divisor("remainder", a, b)
    return _apply(Remainder, a, b)


def floor_divide(a, b):
    """a // b, rounding down; not differentiable (its gradient is 0 almost everywhere)."""
    _check_integer_divisor("floor_divide", a, b)
    return _wrap(_raw(Binary.FLOOR_DIVIDE, _operand(a, b), _operand(b, a)))


def maximum(a, b):
    return _apply(Maximum, a, b)


def minimum(a, b):
    return _apply(Minimum, a, b)


def _compare(op):
    def compare(a, b):
        return _wrap(_raw(op, _operand(a, b), _operand(b, a)))

    return compare


eq, ne, lt, le, gt, ge = (_compare(op) for op in (Binary.EQ, Binary.NE, Binary.LT, Binary.LE, Binary.GT, Binary.GE))


def square(x):
    return mul(x, x)


class Clamp(Function):
    @staticmethod
    def forward(ctx, x, lo, hi):
        arr = x._a
        if lo is not None:
            arr = _C.binary_scalar(Binary.MAXIMUM, arr, lo, not isinstance(lo, numbers.Integral), False)
        if hi is not None:
            arr = _C.binary_scalar(Binary.MINIMUM, arr, hi, not isinstance(hi, numbers.Integral), False)
        ctx.x, ctx.lo, ctx.hi = x._a, lo, hi
        return _wrap(arr)

    @staticmethod
    def backward(ctx, g):
        x = _wrap(ctx.x)
        if ctx.lo is not None:
            g = _gated(g, ge(x, ctx.lo))
        if ctx.hi is not None:
            g = _gated(g, le(x, ctx.hi))
        return g, None, None


def clamp(x, min=None, max=None):
    if min is None and max is None:
        raise ArgumentError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = x
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    return Clamp.apply(x, min, max)


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond = cond._a
        ctx.shapes = (a._a.shape, b._a.shape)
        return _wrap(_C.where(cond._a, a._a, b._a))

    @staticmethod
    def backward(ctx, g):
        zero = _C.full([], 0.0, g._a.dtype, g._a.device)
        ga = _wrap(_C.where(ctx.cond, g._a, zero))
        gb = _wrap(_C.where(ctx.cond, zero, g._a))
        return None, sum_to(ga, ctx.shapes[0]), sum_to(gb, ctx.shapes[1])


def where(condition, input, other):
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        if not isinstance(condition, Tensor):
            raise TypeError("where: expected a Tensor condition or at least one Tensor branch")
        from pydl.creation import tensor  # two Python scalars: tensors of their own dtypes, as PyTorch

        input, other = tensor(input, device=condition.device), tensor(other, device=condition.device)
    like = input if isinstance(input, Tensor) else other
    condition = as_tensor_like(condition, like)
    return Where.apply(condition, as_tensor_like(input, like), as_tensor_like(other, like))


def _bitwise(op):
    def bitwise(a, b):
        """PyTorch's bitwise op: integers and bool (where it is the logical op); a Python bool
        beside a bool tensor keeps the result bool."""
        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            raise TypeError(f"{op.name.lower()}: expected a Tensor operand, got {type(a).__name__} and "
                            f"{type(b).__name__}")
        a, b = _operand(a, b), _operand(b, a)
        if isinstance(a, bool) and b.dtype == bool_dtype:
            a = _bool_scalar(a, b)
        if isinstance(b, bool) and a.dtype == bool_dtype:
            b = _bool_scalar(b, a)
        return _wrap(_raw(op, a, b))

    return bitwise


bitwise_and, bitwise_or, bitwise_xor, bitwise_left_shift, bitwise_right_shift = (_bitwise(op) for op in (
    Binary.BITWISE_AND, Binary.BITWISE_OR, Binary.BITWISE_XOR, Binary.BITWISE_LEFT_SHIFT, Binary.BITWISE_RIGHT_SHIFT))


def _bool_scalar(value, like):
    return _wrap(_C.full([], value, bool_dtype.code, like._a.device))


def bitwise_not(x):
    """~x: every bit flipped (x ^ all-ones); for bool, logical not."""
    if x.dtype == bool_dtype:
        return eq(x, False)
    if x.dtype.is_floating_point:
        raise DTypeError(f"bitwise_not: expected an integer or bool tensor, got {x.dtype.name}")
    all_ones = -1 if x.dtype.is_signed else (1 << 8 * x.dtype.itemsize) - 1
    return _wrap(_raw(Binary.BITWISE_XOR, x, all_ones))


def _truth(x, other):
    """x as a bool tensor (nonzero is True); a Python number becomes a 0-d one."""
    if isinstance(x, numbers.Number):
        if not isinstance(other, Tensor):
            raise TypeError(f"logical op: expected a Tensor operand, got {type(x).__name__} and {type(other).__name__}")
        return _bool_scalar(bool(x), other)
    x = _operand(x, other)
    return x if x.dtype == bool_dtype else ne(x, 0)


def logical_and(a, b):
    return bitwise_and(_truth(a, b), _truth(b, a))


def logical_or(a, b):
    return bitwise_or(_truth(a, b), _truth(b, a))


def logical_xor(a, b):
    return bitwise_xor(_truth(a, b), _truth(b, a))


def logical_not(a):
    return eq(a, 0)


# ---------------------------------------------------------------------- in place
def inplace(op, t, other):
    """t op= other, writing into t. Refused where autograd would need t's old value."""
    from pydl.autograd.grad_mode import state

    if state.enabled and (t.requires_grad or (isinstance(other, Tensor) and other.requires_grad)):
        raise RuntimeError(
            "in-place operation on a tensor that requires grad (or with one that does); "
            "wrap it in pydl.no_grad() or use the out-of-place op"
        )
    if isinstance(other, Tensor):
        _C.binary_(op, t._a, other._a)
    elif isinstance(other, numbers.Number):
        if not isinstance(other, numbers.Integral) and not t.dtype.is_floating_point:
            raise TypeError(f"in-place op: a float cannot be written into a {t.dtype.name} tensor in place")
        _C.binary_scalar_(op, t._a, other)
    else:
        _C.binary_(op, t._a, as_tensor_like(other, t)._a)
    return t
