"""``F.scaled_dot_product_attention``: softmax(q k^T * scale + mask) v. On the CPU, without an
explicit mask or dropout, one fused kernel per head (csrc/ops_attention.cpp); otherwise PyTorch's
math reference over batched matmuls and the fused softmax. Differentiable in q, k, v and a float mask."""
import math

from pydl import _C
from pydl._C import ArgumentError
from pydl._dtype import bool_, float32, float64
from pydl.autograd.function import Function
from pydl.tensor import _wrap

__all__ = ["scaled_dot_product_attention"]


class FusedAttention(Function):
    @staticmethod
    def forward(ctx, query, key, value, scale, causal):
        out, weights = _C.attention(query._a, key._a, value._a, scale, causal)
        ctx.qkv, ctx.weights, ctx.scale = (query._a, key._a, value._a), weights, scale
        return _wrap(out)

    @staticmethod
    def backward(ctx, g):
        grads = _C.attention_backward(*ctx.qkv, ctx.weights, g._a, ctx.scale)
        return tuple(_wrap(d) if need else None for d, need in zip(grads, ctx.needs_input_grad)) + (None, None)


def _fusable(query, key, value, attn_mask, dropout_p):
    return (attn_mask is None and dropout_p == 0.0 and query.device.type == "cpu"
            and query.dtype in (float32, float64) and key.dtype == query.dtype and value.dtype == query.dtype
            and query.dim() == key.dim() == value.dim() and query.shape[:-2] == key.shape[:-2] == value.shape[:-2])


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev). A bool attn_mask
    says which positions may be attended to; a float one is added to the scores."""
    from pydl.creation import ones
    from pydl.nn.functional.activation import softmax
    from pydl.nn.functional.dropout import dropout
    from pydl.ops.linalg import tril
    from pydl.ops.shape import repeat_interleave

    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise ArgumentError(f"scaled_dot_product_attention: expected query, key and value of at least 2 dims, "
                            f"got {query.dim()}, {key.dim()} and {value.dim()}")
    if is_causal and attn_mask is not None:
        raise ArgumentError("scaled_dot_product_attention: pass either attn_mask or is_causal, not both")
    if enable_gqa and query.dim() >= 3 and key.shape[-3] != query.shape[-3]:
        groups = query.shape[-3] // key.shape[-3]
        if groups * key.shape[-3] != query.shape[-3]:
            raise ArgumentError(f"scaled_dot_product_attention: {query.shape[-3]} query heads are not a multiple "
                                f"of {key.shape[-3]} key heads")
        key, value = repeat_interleave(key, groups, -3), repeat_interleave(value, groups, -3)
    if key.shape[-1] != query.shape[-1] or value.shape[-2] != key.shape[-2]:
        raise ArgumentError(f"scaled_dot_product_attention: expected query (..., L, E), key (..., S, E) and value "
                            f"(..., S, Ev), got {tuple(query.shape)}, {tuple(key.shape)} and {tuple(value.shape)}")
    if _fusable(query, key, value, attn_mask, dropout_p):
        factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
        return FusedAttention.apply(query, key, value, factor, bool(is_causal))
    length, source = query.shape[-2], key.shape[-2]
    # The scale split over q and k, as PyTorch's math path: passes over (L, E) and (S, E), not (L, S).
    root = math.sqrt(1.0 / math.sqrt(query.shape[-1]) if scale is None else scale)
    scores = (query * root) @ (key * root).transpose(-2, -1)
    if is_causal:
        attn_mask = tril(ones(length, source, dtype=bool_, device=query.device))
    if attn_mask is not None:
        if attn_mask.dtype == bool_:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    weights = softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return weights @ value

