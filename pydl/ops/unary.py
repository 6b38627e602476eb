"""The pointwise family: every one-input elementwise op and activation (neg, exp, tanh, relu,
gelu, ...) is one entry of the registry in kernels/common/unary.h, run forward and backward
by one strided engine per backend.

Each entry gets one ``Function`` here, generated from the registry (``Tanh`` for
``_C.Unary.TANH``, its grad_fn ``<TanhBackward>``), and each op is one Python function:
``pydl.tanh``, which is also ``Tensor.tanh`` (named in the class body of pydl/tensor.py) and, for the activations,
``pydl.nn.functional.tanh`` and the module ``nn.Tanh``. So ``x.tanh()``, ``pydl.tanh(x)``,
``F.tanh(x)`` and ``nn.Tanh()(x)`` are one op: the same bits, the same grad_fn. Activations
that only ``torch.nn.functional`` has (leaky_relu, gelu, ...), and F.relu with its inplace=,
are written in pydl/nn/functional/activation.py over the same Functions."""
from pydl import _C
from pydl.autograd.function import Function
from pydl.autograd.grad_mode import state as grad_state
from pydl.tensor import _wrap

__all__ = ["neg", "abs", "sign", "relu", "exp", "expm1", "log", "log1p", "sqrt", "rsqrt", "sigmoid", "tanh", "sin",
           "cos", "tan", "floor", "ceil", "trunc", "fix", "round", "erf", "log2", "log10",
           "exp2"]


class Unary(Function):
    """y = op(x) for the registry entry ``op`` of a subclass, with the op's parameters (p0,
    p1: leaky_relu's slope, softplus' beta and threshold; None for the ops that take none);
    the backward reads the saved output or input, as the registry says."""

    op = None  # a _C.Unary
    from_output = False  # op.grad_from_output
    params = ()  # (p0, p1) on the nodes of ops that take them

    @classmethod
    def forward(cls, ctx, x, p0=None, p1=0.0):
        if p0 is None:  # the common case, kept to two arguments: per-op cost on small tensors
            y = _C.unary(cls.op, x._a)
        else:
            y = _C.unary(cls.op, x._a, p0, p1)
            ctx.params = (p0, p1)
        ctx.saved = y if cls.from_output else x._a
        return _wrap(y)

    @classmethod
    def backward(cls, ctx, g):
        return _wrap(_C.unary_backward(cls.op, g._a, ctx.saved, *ctx.params))


def _function(op):
    name = "".join(part[0] + part[1:].lower() for part in op.name.split("_"))  # GELU_TANH: GeluTanh
    return type(name, (Unary,), {"op": op, "from_output": op.grad_from_output, "__module__": __name__})


FUNCTIONS = {op: _function(op) for op in _C.Unary.__members__.values()}  # one per registry entry
U = _C.Unary
Neg, Abs, Sign, Relu = FUNCTIONS[U.NEG], FUNCTIONS[U.ABS], FUNCTIONS[U.SIGN], FUNCTIONS[U.RELU]
Exp, Log, Sqrt, Rsqrt = FUNCTIONS[U.EXP], FUNCTIONS[U.LOG], FUNCTIONS[U.SQRT], FUNCTIONS[U.RSQRT]
Sigmoid, Tanh, Log1p, Expm1 = FUNCTIONS[U.SIGMOID], FUNCTIONS[U.TANH], FUNCTIONS[U.LOG1P], FUNCTIONS[U.EXPM1]
Sin, Cos, Tan = FUNCTIONS[U.SIN], FUNCTIONS[U.COS], FUNCTIONS[U.TAN]
Floor, Ceil, Trunc, Round = FUNCTIONS[U.FLOOR], FUNCTIONS[U.CEIL], FUNCTIONS[U.TRUNC], FUNCTIONS[U.ROUND]
Erf, Log2, Log10 = FUNCTIONS[U.ERF], FUNCTIONS[U.LOG2], FUNCTIONS[U.LOG10]


def in_place(fn, x, *params):
    """fn's op written into x, as PyTorch's inplace=True. Where autograd records x it would
    need x's old value, so the result is computed out of place instead (as ``x += y`` does):
    use the returned tensor, as in ``x = F.relu(x, inplace=True)``."""
    if grad_state.enabled and x.requires_grad:
        return fn.apply(x, *params)
    x._a.copy_(_C.unary(fn.op, x._a, *params))
    return x


def _public(fn, name):
    """pydl.<name>: fn.apply where autograd records, else fn's kernel straight (no node, no ctx:
    half the per-op cost on small tensors)."""
    op = fn.op

    def run(input):
        if input.requires_grad and grad_state.enabled:
            return fn.apply(input)
        try:
            return _wrap(_C.unary(op, input._a))
        except TypeError:  # float16 / bfloat16: apply says which op refuses them and why
            return fn.apply(input)

    run.__name__ = run.__qualname__ = name
    return run


neg = _public(Neg, "neg")
abs = _public(Abs, "abs")
sign = _public(Sign, "sign")
relu = _public(Relu, "relu")
exp = _public(Exp, "exp")
expm1 = _public(Expm1, "expm1")
log = _public(Log, "log")
log1p = _public(Log1p, "log1p")
sqrt = _public(Sqrt, "sqrt")
rsqrt = _public(Rsqrt, "rsqrt")
sigmoid = _public(Sigmoid, "sigmoid")
tanh = _public(Tanh, "tanh")
sin = _public(Sin, "sin")
cos = _public(Cos, "cos")
tan = _public(Tan, "tan")
floor = _public(Floor, "floor")
ceil = _public(Ceil, "ceil")
trunc = fix = _public(Trunc, "trunc")
erf = _public(Erf, "erf")
log2 = _public(Log2, "log2")
log10 = _public(Log10, "log10")
_round = _public(Round, "round")


def exp2(input):
    """2 ** input (pow's kernel, and its gradient 2^x ln 2)."""
    from pydl.ops.elementwise import pow

    return pow(2.0, input)


def round(input, decimals=0):
    """Half to even, as PyTorch; with decimals, of input * 10^decimals, scaled back."""
    if decimals == 0:
        return _round(input)
    scale = 10.0 ** decimals
    return _round(input * scale) / scale
