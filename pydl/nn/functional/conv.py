"""``conv2d`` as ``torch.nn.functional.conv2d``: NCHW (or unbatched CHW) input, weight
(C_out, C_in / groups, kH, kW), optional bias; kernels for the forward, the input gradient and
the weight gradient on the CPU and CUDA. ``conv2d_relu`` applies a ReLU in the same pass (on
CUDA in the kernel's write-back). ``conv_transpose2d`` runs the same three kernels in the
adjoint roles; ``conv1d`` and ``conv_transpose1d`` are the 2-d ops at height 1; ``conv3d`` a
gather of its blocks and a matmul."""
import numbers

from pydl import _C
from pydl._C import ArgumentError
from pydl.autograd.function import Function
from pydl.ops._util import Binary, Unary
from pydl.tensor import Tensor, _wrap

__all__ = ["conv2d", "conv1d", "conv3d", "conv_transpose2d", "conv_transpose1d"]


def _pair(v, name, op):
    """An int or a pair of ints as the [h, w] list _C takes."""
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return [int(v), int(v)]
    if isinstance(v, (tuple, list)) and len(v) == 2 and all(
            isinstance(e, numbers.Integral) and not isinstance(e, bool) for e in v):
        return [int(v[0]), int(v[1])]
    error = ArgumentError if isinstance(v, (tuple, list)) else TypeError
    raise error(f"{op}: expected {name} as an int or a pair of ints, got {v!r}")


def _tensor(x, name, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected {name} to be a Tensor, got {type(x).__name__}")
    return x


def _padding(padding, weight, stride, dilation):
    """[h, w], or [top, left, bottom, right] for padding='same' with an even kernel extent."""
    if isinstance(padding, str):
        if padding == "valid":
            return [0, 0]
        if padding != "same":
            raise ArgumentError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
        if stride != [1, 1]:
            raise ArgumentError("conv2d: padding='same' is not supported for strided convolutions")
        shape = weight._a.shape
        if len(shape) != 4:
            raise ArgumentError(f"conv2d: expected a 4-d weight (C_out, C_in / groups, kH, kW), got shape {shape}")
        total = [d * (k - 1) for d, k in zip(dilation, shape[2:])]
        lo = [t // 2 for t in total]
        hi = [t - a for t, a in zip(total, lo)]
        return lo if lo == hi else lo + hi
    return _pair(padding, "padding", "conv2d")


class Conv2d(Function):
    """Saves only what each requested gradient needs: the weight for the input's, the input
    for the weight's, nothing for the bias's (and the output when a ReLU is fused).

    With ``pool`` (a max pooling's window and ceil_mode) after the ReLU, the pooling runs in the same
    node and ReLU's mask goes onto the pooled gradient before the pool's scatter: the pooled values
    are the ReLU's outputs at the indices, so the bits are those of the three ops apart, without a
    pass over the full-size gradient."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups, relu, pool=None):
        need = ctx.needs_input_grad
        ctx.args = (stride, padding, dilation, groups)
        ctx.x = x._a if need[1] else None
        ctx.w = weight._a if need[0] else None
        ctx.x_shape, ctx.w_shape = x._a.shape, weight._a.shape
        out = _C.conv2d(x._a, weight._a, None if bias is None else bias._a, stride, padding, dilation, groups, relu)
        ctx.out, ctx.pool = out if relu else None, None
        if pool is None:
            return _wrap(out)
        window, ceil_mode = pool
        values, indices = _C.max_pool2d(out, *window, ceil_mode)
        ctx.out, ctx.pool = values, (indices, out.shape, window)
        return _wrap(values)

    @staticmethod
    def backward(ctx, g):
        g = g._a
        if ctx.out is not None:  # ReLU's backward from its output: y > 0 exactly where the input is
            g = _C.unary_backward(Unary.RELU, g, ctx.out)
        if ctx.pool is not None:
            indices, shape, window = ctx.pool
            g = _C.max_pool2d_backward(g, indices, shape, *window)
        need = ctx.needs_input_grad
        gx = _wrap(_C.conv2d_backward_input(g, ctx.w, ctx.x_shape, *ctx.args)) if need[0] else None
        gw = _wrap(_C.conv2d_backward_weight(g, ctx.x, ctx.w_shape, *ctx.args)) if need[1] else None
        gb = _wrap(_C.conv2d_backward_bias(g)) if need[2] else None
        return gx, gw, gb, None, None, None, None, None, None


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d cross-correlation, as torch.nn.functional.conv2d (padding: int, pair, 'valid' or 'same')."""
    return _conv2d(input, weight, bias, stride, padding, dilation, groups, False)


def conv2d_relu(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``relu(conv2d(...))`` in one pass (what nn.Sequential fuses Conv2d + ReLU into)."""
    return _conv2d(input, weight, bias, stride, padding, dilation, groups, True)


def conv2d_relu_max_pool2d(input, weight, bias, stride, padding, dilation, groups, pool_window, ceil_mode):
    """``max_pool2d(relu(conv2d(...)))`` as one node (what nn.Sequential fuses Conv2d + ReLU + MaxPool2d
    into); pool_window is max_pool2d's [kernel, stride, padding, dilation] as pairs."""
    return _conv2d(input, weight, bias, stride, padding, dilation, groups, True, (pool_window, bool(ceil_mode)))


def _conv2d(input, weight, bias, stride, padding, dilation, groups, relu, pool=None):
    _tensor(input, "input", "conv2d")
    _tensor(weight, "weight", "conv2d")
    if bias is not None:
        _tensor(bias, "bias", "conv2d")
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool):
        raise TypeError(f"conv2d: expected groups to be an int, got {groups!r}")
    stride = _pair(stride, "stride", "conv2d")
    dilation = _pair(dilation, "dilation", "conv2d")
    padding = _padding(padding, weight, stride, dilation)
    return Conv2d.apply(input, weight, bias, stride, padding, dilation, int(groups), relu, pool)


class ConvTranspose2d(Function):
    """The adjoint of conv2d: its forward is conv2d's input gradient, its input gradient is
    conv2d itself, its weight gradient conv2d's weight gradient with the roles of x and g swapped."""

    @staticmethod
    def forward(ctx, x, weight, bias, out_shape, stride, padding, dilation, groups):
        ctx.args = (stride, padding, dilation, groups)
        ctx.x, ctx.w, ctx.has_bias = x._a, weight._a, bias is not None
        out = _C.conv2d_backward_input(x._a, weight._a, out_shape, *ctx.args)
        if bias is not None:
            out = _C.binary(Binary.ADD, out, bias._a.reshape([-1, 1, 1]))
        return _wrap(out)

    @staticmethod
    def backward(ctx, g):
        g, need = g._a, ctx.needs_input_grad
        gx = _wrap(_C.conv2d(g, ctx.w, None, *ctx.args, False)) if need[0] else None
        gw = _wrap(_C.conv2d_backward_weight(ctx.x, g, ctx.w.shape, *ctx.args)) if need[1] else None
        gb = _wrap(_C.conv2d_backward_bias(g)) if need[2] else None
        return gx, gw, gb, None, None, None, None, None


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transposed 2-d convolution (the "deconvolution" of decoders), as
    torch.nn.functional.conv_transpose2d; weight is (C_in, C_out / groups, kH, kW)."""
    op = "conv_transpose2d"
    _tensor(input, "input", op)
    _tensor(weight, "weight", op)
    stride, padding = _pair(stride, "stride", op), _pair(padding, "padding", op)
    output_padding, dilation = _pair(output_padding, "output_padding", op), _pair(dilation, "dilation", op)
    if input.dim() not in (3, 4) or weight.dim() != 4:
        raise ArgumentError(f"{op}: expected a 3-d or 4-d input and a 4-d weight (C_in, C_out / groups, kH, kW), "
                            f"got shapes {tuple(input.shape)} and {tuple(weight.shape)}")
    for o, s, d in zip(output_padding, stride, dilation):
        if not 0 <= o < max(s, d):
            raise ArgumentError(f"{op}: output_padding {tuple(output_padding)} must be smaller than the stride "
                                f"{tuple(stride)} or the dilation {tuple(dilation)}")
    if input.shape[-3] != weight.shape[0]:
        raise ArgumentError(f"{op}: input has {input.shape[-3]} channels, weight expects {weight.shape[0]}")
    size = [(n - 1) * s - 2 * p + d * (k - 1) + o + 1
            for n, s, p, d, k, o in zip(input.shape[-2:], stride, padding, dilation, weight.shape[2:], output_padding)]
    if min(size) <= 0:
        raise ArgumentError(f"{op}: the output size {tuple(size)} is not positive")
    out_shape = list(input.shape[:-3]) + [weight.shape[1] * int(groups)] + size
    return ConvTranspose2d.apply(input, weight, bias, out_shape, stride, padding, dilation, int(groups))


def _as_2d(op, input, weight, stride, padding, dilation):
    """A 1-d convolution's arguments as those of a 2-d one of height 1."""
    def one(v, name):
        if isinstance(v, (tuple, list)):
            if len(v) != 1:
                raise ArgumentError(f"{op}: expected {name} as an int or a 1-tuple, got {v!r}")
            v = v[0]
        return (1 if name in ("stride", "dilation") else 0, v)

    if input.dim() not in (2, 3) or weight.dim() != 3:
        raise ArgumentError(f"{op}: expected a 2-d or 3-d input and a 3-d weight, got shapes {tuple(input.shape)} "
                            f"and {tuple(weight.shape)}")
    padding = padding if isinstance(padding, str) else one(padding, "padding")
    return (input.unsqueeze(-2), weight.unsqueeze(2), one(stride, "stride"), padding, one(dilation, "dilation"))


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d cross-correlation over (N, C, L), as torch.nn.functional.conv1d: conv2d of height 1."""
    x, w, stride, padding, dilation = _as_2d("conv1d", input, weight, stride, padding, dilation)
    return conv2d(x, w, bias, stride, padding, dilation, groups).squeeze(-2)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    x, w, stride, padding, dilation = _as_2d("conv_transpose1d", input, weight, stride, padding, dilation)
    output_padding = (0, output_padding[0] if isinstance(output_padding, (tuple, list)) else output_padding)
    return conv_transpose2d(x, w, bias, stride, padding, output_padding, groups, dilation).squeeze(-2)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-d cross-correlation over (N, C, D, H, W), as torch.nn.functional.conv3d: the sliding
    blocks gathered once (one index_select over a position table, as F.unfold) and multiplied by
    the weight as a matrix, per group; the gradients come through the same two ops."""
    from pydl.nn.functional.padding import pad
    from pydl.nn.functional.unfold import block_positions
    from pydl.ops.indexing import _index_tensor, index_select
    from pydl.ops.shape import cat

    op = "conv3d"
    _tensor(input, "input", op)
    _tensor(weight, "weight", op)
    if input.dim() not in (4, 5) or weight.dim() != 5:
        raise ArgumentError(f"{op}: expected a 4-d or 5-d input and a 5-d weight (C_out, C_in / groups, kD, kH, kW), "
                            f"got shapes {tuple(input.shape)} and {tuple(weight.shape)}")
    x = input if input.dim() == 5 else input.unsqueeze(0)
    n, c = x.shape[:2]
    c_out, c_group = weight.shape[:2]
    if groups <= 0 or c != c_group * groups or c_out % groups:
        raise ArgumentError(f"{op}: input has {c} channels, weight expects {c_group} x groups={groups} "
                            f"(and {c_out} output channels must divide into the groups)")
    padded, p, grid, positions = block_positions(op, x.shape[2:], weight.shape[2:], dilation, padding, stride)
    if max(p):
        x = pad(x, (p[2], p[2], p[1], p[1], p[0], p[0]))
    blocks = grid[0] * grid[1] * grid[2]
    cols = index_select(x.reshape(n, c, padded[0] * padded[1] * padded[2]), 2, _index_tensor(positions, x.device))
    cols = cols.reshape(n, groups, c_group * (len(positions) // blocks), blocks)
    w = weight.reshape(groups, c_out // groups, -1)
    out = cat([w[g] @ cols[:, g] for g in range(groups)], 1) if groups > 1 else w[0] @ cols[:, 0]
    out = out.reshape(n, c_out, *grid)
    if bias is not None:
        out = out + bias.reshape(-1, 1, 1, 1)
    return out if input.dim() == 5 else out.squeeze(0)
