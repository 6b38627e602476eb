"""Batch normalization, as ``torch.nn.functional.batch_norm``, over (N, C), (N, C, L)
and (N, C, H, W) inputs. Training normalizes with the batch's mean and biased variance
and moves the running stats (in place) toward the mean and the unbiased variance;
evaluation normalizes with the running stats. The backward is one fused kernel. Layer
normalization, as ``torch.nn.functional.layer_norm``, normalizes each sample over its last dims
(float64 statistics, fused forward and backward kernels). ``normalize`` divides by a p-norm
along a dim, as torch.nn.functional.normalize."""
from pydl import _C
from pydl._C import ArgumentError
from pydl.autograd.function import Function
from pydl.tensor import _wrap

__all__ = ["batch_norm", "layer_norm", "normalize"]


def _arr(t):
    return None if t is None else t._a


class BatchNorm(Function):
    @staticmethod
    def forward(ctx, x, running_mean, running_var, weight, bias, training, momentum, eps):
        y, mean, invstd = _C.batch_norm(x._a, _arr(running_mean), _arr(running_var), _arr(weight), _arr(bias),
                                        training, momentum, eps)
        ctx.x, ctx.mean, ctx.invstd, ctx.weight, ctx.training = x._a, mean, invstd, _arr(weight), training
        return _wrap(y)

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        dx, dweight, dbias = _C.batch_norm_backward(g._a, ctx.x, ctx.mean, ctx.invstd, ctx.weight, ctx.training,
                                                    need[0], need[3], need[4])
        wrap = lambda a: None if a is None else _wrap(a)  # noqa: E731
        return wrap(dx), None, None, wrap(dweight), wrap(dbias), None, None, None


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Normalizes each channel (dim 1). running_mean / running_var may be None in training;
    when given there, they are updated in place:
    running = (1 - momentum) * running + momentum * batch statistic."""
    if momentum is None:
        if training and running_mean is not None:
            raise ArgumentError("batch_norm: momentum=None (a cumulative moving average) is not supported; pass a "
                             "float such as 1 / num_batches_tracked")
        momentum = 0.0
    return BatchNorm.apply(input, running_mean, running_var, weight, bias, bool(training), float(momentum),
                           float(eps))


class LayerNorm(Function):
    @staticmethod
    def forward(ctx, x, shape, weight, bias, eps):
        y, mean, rstd = _C.layer_norm(x._a, shape, _arr(weight), _arr(bias), eps)
        ctx.x, ctx.shape, ctx.mean, ctx.rstd, ctx.weight = x._a, shape, mean, rstd, _arr(weight)
        return _wrap(y)

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        grads = _C.layer_norm_backward(g._a, ctx.x, ctx.shape, ctx.mean, ctx.rstd, ctx.weight, need[0], need[2],
                                       need[3])
        dx, dweight, dbias = (None if a is None else _wrap(a) for a in grads)
        return dx, None, dweight, dbias, None


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalizes over the last len(normalized_shape) dims: (x - mean) / sqrt(var + eps) * weight + bias,
    with the biased variance; weight and bias (optional) have normalized_shape."""
    shape = [int(normalized_shape)] if isinstance(normalized_shape, int) else [int(n) for n in normalized_shape]
    return LayerNorm.apply(input, shape, weight, bias, float(eps))


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """input / max(||input||_p along dim, eps)."""
    from pydl.ops.reduction import norm

    return input / norm(input, p, dim, keepdim=True).clamp(min=eps)
