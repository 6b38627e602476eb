"""linear: x @ weight.T + bias in one GEMM, the bias (and an optional ReLU) applied in the
GEMM's write-back; the backward multiplies by transposed views (transpose flags, no copies)."""
from pydl import _C
from pydl.autograd.function import Function
from pydl.ops._util import Reduce, Unary
from pydl.tensor import _wrap

__all__ = ["linear"]


class Linear(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, relu):
        out = _C.linear(x._a, weight._a, None if bias is None else bias._a, relu)
        ctx.x, ctx.weight, ctx.has_bias = x._a, weight._a, bias is not None
        ctx.out = out if relu else None
        return _wrap(out)

    @staticmethod
    def backward(ctx, g):
        g = g._a
        if ctx.out is not None:  # ReLU's backward from its output: y > 0 exactly where x > 0
            g = _C.unary_backward(Unary.RELU, g, ctx.out)
        x, w = ctx.x, ctx.weight
        out_features, in_features = w.shape
        g2 = g.reshape([-1, out_features])
        need = ctx.needs_input_grad
        gx = _wrap(_C.matmul(g, w)) if need[0] else None
        gw = _wrap(_C.matmul(g2.transpose(0, 1), x.reshape([-1, in_features]))) if need[1] else None
        gb = _wrap(_C.reduce(Reduce.SUM, g2, [0], False, 0.0)) if ctx.has_bias and need[2] else None
        return gx, gw, gb, None


def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` for input (..., in_features) and weight (out_features, in_features)."""
    return Linear.apply(input, weight, bias, False)


def linear_relu(input, weight, bias=None):
    """``relu(linear(input, weight, bias))`` in one GEMM (what nn.Sequential fuses Linear + ReLU into)."""
    return Linear.apply(input, weight, bias, True)
