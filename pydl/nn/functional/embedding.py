"""``F.embedding`` (rows of a weight picked by index; the gradient added back with index_add,
none for padding_idx) and ``F.one_hot``, as PyTorch's."""
import numpy as np

from pydl import _C
from pydl._C import ArgumentError, DTypeError
from pydl._dtype import int64
from pydl.autograd.function import Function
from pydl.autograd.grad_mode import no_grad
from pydl.tensor import Tensor, _wrap

__all__ = ["embedding", "one_hot"]


def _check_index(input, op):
    if not isinstance(input, Tensor) or input.dtype.is_floating_point or input.dtype.name == "bool":
        got = input.dtype if isinstance(input, Tensor) else type(input).__name__
        raise DTypeError(f"{op}: expected an integer index tensor, got {got}")


class Embedding(Function):
    @staticmethod
    def forward(ctx, index, weight, padding_idx):
        flat = index._a.reshape([-1]).astype(int64.code)
        ctx.flat, ctx.rows, ctx.padding_idx = flat, weight._a.shape[0], padding_idx
        out = _C.index_select(weight._a, 0, flat)
        return _wrap(out.reshape(list(index._a.shape) + [weight._a.shape[1]]))

    @staticmethod
    def backward(ctx, g):
        g = g._a.reshape([-1, g._a.shape[-1]])
        if ctx.padding_idx is not None:  # the padding row learns nothing
            keep = _C.binary_scalar(_C.Binary.NE, ctx.flat, float(ctx.padding_idx), False, False)
            g = _C.where(keep.reshape([-1, 1]), g, _C.full([1], 0.0, g.dtype, g.device))
        zeros = _C.full([ctx.rows, g.shape[1]], 0.0, g.dtype, g.device)
        return None, _wrap(_C.index_add(zeros, 0, ctx.flat, g)), None


def _renorm_rows(weight, index, max_norm, norm_type):
    """Scales, in place, the rows of weight that index picks and whose norm exceeds max_norm."""
    from pydl.ops.reduction import norm

    rows = np.unique(index._a.to("cpu").numpy())
    with no_grad():
        picked = _wrap(_C.index_select(weight._a, 0, _C.from_numpy(rows).to(weight._a.device)))
        norms = norm(picked, norm_type, 1, keepdim=True)
        scale = (max_norm / (norms + 1e-7)).clamp(max=1.0)
        weight._a.copy_(_C.index_add(weight._a, 0, _C.from_numpy(rows).to(weight._a.device),
                                     (picked * scale - picked)._a))


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    """weight's rows at the indices of input: shape input.shape + (embedding_dim,)."""
    op = "embedding"
    _check_index(input, op)
    if weight.dim() != 2:
        raise ArgumentError(f"{op}: expected a 2-d weight (num_embeddings, embedding_dim), got shape "
                            f"{tuple(weight.shape)}")
    if scale_grad_by_freq or sparse:
        raise ArgumentError(f"{op}: scale_grad_by_freq and sparse gradients are not supported")
    rows = weight.shape[0]
    if padding_idx is not None:
        if not -rows <= padding_idx < rows:
            raise ArgumentError(f"{op}: padding_idx {padding_idx} is out of range for {rows} embeddings")
        padding_idx %= rows
    if input.numel():
        low, high = int(input.min().item()), int(input.max().item())
        if low < 0 or high >= rows:
            raise IndexError(f"{op}: index {low if low < 0 else high} is out of range for {rows} embeddings")
    if max_norm is not None:
        _renorm_rows(weight, input, float(max_norm), float(norm_type))
    return Embedding.apply(input, weight, padding_idx)


def one_hot(tensor, num_classes=-1):
    """An int64 tensor of tensor.shape + (num_classes,), 1 at each index, 0 elsewhere."""
    from pydl.creation import zeros

    op = "one_hot"
    _check_index(tensor, op)
    if tensor.numel() and int(tensor.min().item()) < 0:
        raise ArgumentError(f"{op}: expected non-negative class indices, got {int(tensor.min().item())}")
    top = int(tensor.max().item()) + 1 if tensor.numel() else 0
    if num_classes == -1:
        if not tensor.numel():
            raise ArgumentError(f"{op}: cannot infer the number of classes from an empty tensor")
        num_classes = top
    elif top > num_classes:
        raise ArgumentError(f"{op}: class index {top - 1} is out of range for {num_classes} classes")
    out = zeros(*tensor.shape, num_classes, dtype=int64, device=tensor.device)
    index = tensor.to(int64).unsqueeze(-1)
    ones = _C.full(list(index.shape), 1.0, int64.code, index._a.device)
    return _wrap(_C.scatter_add(out._a, -1, index._a, ones))
