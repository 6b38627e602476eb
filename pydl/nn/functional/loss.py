"""Losses, as ``torch.nn.functional``. cross_entropy is one fused kernel: its forward
writes the loss and, when a gradient is wanted, d loss / d logits in the same pass, so
the backward only scales that by the incoming gradient."""
from pydl import _C
from pydl._C import ArgumentError
from pydl.autograd.function import Function, is_unit_seed
from pydl.ops._util import Binary, sum_to
from pydl.tensor import _wrap

__all__ = ["cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss",
           "l1_loss"]

# The registries of kernels/common/loss.h, through _C.
NONE = _C.Reduction.NONE
_REDUCTIONS = {name.lower(): code for name, code in _C.Reduction.__members__.items()}  # "mean": MEAN, ...


def _reduction(name, size_average, reduce, reduction):
    """The reduction code; the legacy size_average / reduce arguments win when given, as PyTorch."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else "mean" if size_average else "sum"
    code = _REDUCTIONS.get(reduction)
    if code is None:
        raise ArgumentError(f"{name}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    return code


def _arr(t):
    return None if t is None else t._a


def _per_sample_grad(g, like_shape):
    """An incoming per-sample gradient (N, d1, ...) viewed as (N, 1, d1, ...) to scale (N, C, d1, ...)."""
    return g._a.reshape([like_shape[0], 1] + list(like_shape[2:]))


# ---------------------------------------------------------------------- cross-entropy
# On a GPU, reading the incoming gradient back to the host waits for the device: worth it
# only where it saves a pass over dlogits at least this large (elements).
_READ_BACK_MIN = 1 << 20


def _is_unit(g, d):
    """Whether the 0-d incoming gradient is exactly 1 (what loss.backward() seeds): then
    dlogits already is the gradient, and scaling it by 1 (a pass over N x C) is skipped."""
    if is_unit_seed(g):
        return True
    if g._a.is_cuda and d.numel < _READ_BACK_MIN:
        return False
    return g.item() == 1.0


class CrossEntropy(Function):
    @staticmethod
    def forward(ctx, input, target, weight, reduction, ignore_index, label_smoothing):
        loss, dlogits = _C.cross_entropy(input._a, target._a, _arr(weight), reduction, ignore_index,
                                         label_smoothing, bool(ctx.needs_input_grad[0]))
        ctx.dlogits, ctx.reduction = dlogits, reduction
        if dlogits is not None:  # to compute dlogits again for a second backward (retain_graph)
            ctx.args = (input._a, target._a, _arr(weight), reduction, ignore_index, label_smoothing)
        return _wrap(loss)

    @staticmethod
    def backward(ctx, g):
        if not ctx.needs_input_grad[0]:  # only the class weight asked for a gradient: it gets none
            return None, None, None, None, None, None
        # Handed over: the caller owns the gradient and may change it in place; a second
        # backward through a retained graph computes it again.
        d, ctx.dlogits = ctx.dlogits, None
        if d is None:
            d = _C.cross_entropy(*ctx.args, True)[1]
        if ctx.reduction == NONE:
            d = _C.binary(Binary.MUL, d, _per_sample_grad(g, d.shape))
        elif not _is_unit(g, d):
            d = _C.binary(Binary.MUL, d, g._a)
        return _wrap(d), None, None, None, None, None


def _cross_entropy_with_probabilities(input, target, weight, code, label_smoothing):
    """-sum_c weight_c target_c log_softmax(input)_c per sample; 'mean' divides by the sample
    count (not by the weights), as PyTorch."""
    from pydl.nn.functional.activation import log_softmax

    if target.shape != input.shape:
        raise ArgumentError(f"cross_entropy: a {target.dtype.name} target holds class probabilities and must have "
                            f"the input's shape {tuple(input.shape)}, got {tuple(target.shape)} (class indices "
                            f"are int64)")
    class_dim = 0 if input.dim() == 1 else 1
    classes = input.shape[class_dim]
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + label_smoothing / classes
    terms = target * log_softmax(input, class_dim)
    if weight is not None:
        terms = terms * weight.reshape([classes] + [1] * (input.dim() - class_dim - 1))
    loss = -terms.sum(class_dim)
    return loss if code == NONE else loss.sum() if code == _REDUCTIONS["sum"] else loss.mean()


def _unbatched(input, target):
    """(C,) logits with a 0-d target run as a batch of one."""
    return input.dim() == 1 and target.dim() == 0


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    """Softmax cross-entropy on logits (N, C), (N, C, d1, ...) or unbatched (C,), with int64 class
    targets or, of the input's shape, class probabilities."""
    code = _reduction("cross_entropy", size_average, reduce, reduction)
    if target.dtype.is_floating_point:
        return _cross_entropy_with_probabilities(input, target, weight, code, label_smoothing)
    if _unbatched(input, target):
        loss = CrossEntropy.apply(input.reshape(1, -1), target.reshape(1), weight, code, int(ignore_index),
                                  float(label_smoothing))
        return loss.reshape(()) if code == NONE else loss
    return CrossEntropy.apply(input, target, weight, code, int(ignore_index), float(label_smoothing))


# ---------------------------------------------------------------------- NLL
class NllLoss(Function):
    @staticmethod
    def forward(ctx, input, target, weight, reduction, ignore_index):
        loss, scale = _C.nll_loss(input._a, target._a, _arr(weight), reduction, ignore_index)
        ctx.shape, ctx.target, ctx.weight = list(input._a.shape), target._a, _arr(weight)
        ctx.reduction, ctx.ignore_index, ctx.scale = reduction, ignore_index, scale
        return _wrap(loss)

    @staticmethod
    def backward(ctx, g):
        if not ctx.needs_input_grad[0]:
            return None, None, None, None, None
        dx = _C.nll_loss_backward(g._a, ctx.shape, ctx.target, ctx.weight, ctx.reduction, ctx.ignore_index, ctx.scale)
        return _wrap(dx), None, None, None, None


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood on log-probabilities (N, C) or (N, C, d1, ...) with int64 class targets."""
    code = _reduction("nll_loss", size_average, reduce, reduction)
    if _unbatched(input, target):
        loss = NllLoss.apply(input.reshape(1, -1), target.reshape(1), weight, code, int(ignore_index))
        return loss.reshape(()) if code == NONE else loss
    return NllLoss.apply(input, target, weight, code, int(ignore_index))


# ---------------------------------------------------------------------- pointwise losses
class PointwiseLoss(Function):
    """MSE, L1, BCE, BCE with logits: one kernel forward; the backward kernel gives the
    gradient in the input and, when asked, in the target (summed back over broadcasting)."""

    @staticmethod
    def forward(ctx, input, target, weight, pos_weight, op, reduction):
        loss, scale = _C.pointwise_loss(op, input._a, target._a, _arr(weight), _arr(pos_weight), reduction)
        ctx.args = (input._a, target._a, _arr(weight), _arr(pos_weight))
        ctx.op, ctx.reduction, ctx.scale = op, reduction, scale
        return _wrap(loss)

    @staticmethod
    def backward(ctx, g):
        x, y, w, pw = ctx.args
        grads = []
        for i, arr in enumerate((x, y)):
            if not ctx.needs_input_grad[i]:
                grads.append(None)
                continue
            d = _C.pointwise_loss_backward(ctx.op, g._a, x, y, w, pw, ctx.reduction, ctx.scale, i == 1)
            grads.append(sum_to(_wrap(d), arr.shape))
        return grads[0], grads[1], None, None, None, None


def _pointwise(name, input, target, weight, pos_weight, size_average, reduce, reduction):
    """The loss `name`: its registry entry is _C.PointwiseLoss.<NAME>."""
    return PointwiseLoss.apply(input, target, weight, pos_weight, getattr(_C.PointwiseLoss, name.upper()),
                               _reduction(name, size_average, reduce, reduction))


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """(input - target)^2, times weight if given ('mean' then divides by the sum of the weights)."""
    return _pointwise("mse_loss", input, target, weight, None, size_average, reduce, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """|input - target|, times weight if given ('mean' then divides by the sum of the weights)."""
    return _pointwise("l1_loss", input, target, weight, None, size_average, reduce, reduction)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """On probabilities in [0, 1]; logs clamped at -100 as PyTorch."""
    return _pointwise("binary_cross_entropy", input, target, weight, None, size_average, reduce, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    """On logits, in the stable form max(x, 0) - x y + log(1 + e^-|x|) (pos_weight scales the positive term)."""
    return _pointwise("binary_cross_entropy_with_logits", input, target, weight, pos_weight, size_average, reduce,
                      reduction)
