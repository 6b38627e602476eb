"""Losses with Keras's argument order, loss(y_true, y_pred), over pydl's fused loss kernels.

Each function returns one loss per sample; a Loss object reduces them ('sum_over_batch_size', the
default, is the mean). from_logits=True feeds the logits to the fused, stable kernels
(cross_entropy, binary_cross_entropy_with_logits); probabilities are clipped to [eps, 1 - eps] first,
as Keras does.
"""
from pydl.keras.backend import convert_to_tensor, epsilon
from pydl.nn import functional as F
from pydl.tensor import Tensor


def _prepare(y_true, y_pred, name):
    if not isinstance(y_pred, Tensor):
        y_pred = convert_to_tensor(y_pred)
    y_true = convert_to_tensor(y_true, device=y_pred.device)
    return y_true, y_pred


def _same_rank(y_true, y_pred):
    """y_true (N,) against y_pred (N, 1) (or the reverse) gets y_pred's shape, as Keras."""
    if y_true.dim() == y_pred.dim() - 1 and y_pred.shape[-1] == 1:
        return y_true.unsqueeze(-1), y_pred
    if y_pred.dim() == y_true.dim() - 1 and y_true.shape[-1] == 1:
        return y_true.squeeze(-1), y_pred
    return y_true, y_pred


def _check_shapes(y_true, y_pred, name):
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(f"{name}: y_true has shape {tuple(y_true.shape)} and y_pred {tuple(y_pred.shape)}; "
                         f"they must match")


def _classes_to_dim1(x, axis):
    """(N, ..., C) with the classes on `axis` -> the (N, C, ...) layout pydl's cross_entropy takes."""
    axis = axis % x.dim()
    if x.dim() == 2 or axis == 1:
        return x
    order = [0, axis] + [d for d in range(1, x.dim()) if d != axis]
    return x.permute(*order)


def _log_probs(y_pred, axis):
    p = y_pred / y_pred.sum(dim=axis, keepdim=True)
    eps = epsilon()
    return p.clamp(eps, 1.0 - eps).log()


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    name = "sparse_categorical_crossentropy"
    y_true, y_pred = _prepare(y_true, y_pred, name)
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    if y_true.dtype.is_floating_point:
        y_true = y_true.long()
    if tuple(y_true.shape) != tuple(y_pred.shape[:-1]) or y_pred.dim() < 2:
        raise ValueError(f"{name}: expected y_true of shape {tuple(y_pred.shape[:-1])} (one class index per row "
                         f"of y_pred {tuple(y_pred.shape)}), got {tuple(y_true.shape)}")
    ignore = -100 if ignore_class is None else int(ignore_class)
    if from_logits:
        return F.cross_entropy(_classes_to_dim1(y_pred, axis), y_true, ignore_index=ignore, reduction="none")
    return F.nll_loss(_classes_to_dim1(_log_probs(y_pred, axis), axis), y_true, ignore_index=ignore,
                      reduction="none")


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    name = "categorical_crossentropy"
    y_true, y_pred = _prepare(y_true, y_pred, name)
    y_true = y_true.to(y_pred.dtype)
    _check_shapes(y_true, y_pred, name)
    if from_logits:
        return F.cross_entropy(_classes_to_dim1(y_pred, axis), _classes_to_dim1(y_true, axis), reduction="none",
                               label_smoothing=label_smoothing)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[axis]
    return -(y_true * _log_probs(y_pred, axis)).sum(dim=axis)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    name = "binary_crossentropy"
    y_true, y_pred = _same_rank(*_prepare(y_true, y_pred, name))
    y_true = y_true.to(y_pred.dtype)
    _check_shapes(y_true, y_pred, name)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        per_element = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        eps = epsilon()
        per_element = F.binary_cross_entropy(y_pred.clamp(eps, 1.0 - eps), y_true, reduction="none")
    return per_element.mean(dim=axis)


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _same_rank(*_prepare(y_true, y_pred, "mean_squared_error"))
    y_true = y_true.to(y_pred.dtype)
    _check_shapes(y_true, y_pred, "mean_squared_error")
    return F.mse_loss(y_pred, y_true, reduction="none").mean(dim=-1)


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _same_rank(*_prepare(y_true, y_pred, "mean_absolute_error"))
    y_true = y_true.to(y_pred.dtype)
    _check_shapes(y_true, y_pred, "mean_absolute_error")
    return F.l1_loss(y_pred, y_true, reduction="none").mean(dim=-1)


mse, mae = mean_squared_error, mean_absolute_error

_REDUCTIONS = ("sum_over_batch_size", "sum", "none", None, "mean")


class Loss:
    """Calls fn(y_true, y_pred, **kwargs) for per-sample losses and reduces them; subclasses may
    override call(y_true, y_pred) instead."""

    def __init__(self, fn=None, name=None, reduction="sum_over_batch_size", **kwargs):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        self.fn, self.kwargs, self.reduction = fn, kwargs, reduction
        self.name = name or (fn.__name__ if fn is not None else type(self).__name__)

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self.kwargs)

    def __call__(self, y_true, y_pred, sample_weight=None):
        losses = self.call(y_true, y_pred)
        if sample_weight is not None:
            w = convert_to_tensor(sample_weight, dtype=losses.dtype, device=losses.device)
            if w.dim() == losses.dim() + 1 and w.shape[-1] == 1:
                w = w.squeeze(-1)
            losses = losses * w
        if self.reduction in ("sum_over_batch_size", "mean"):
            return losses.mean() if losses.numel() else losses.sum()
        if self.reduction == "sum":
            return losses.sum()
        return losses

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, **self.kwargs}


class SparseCategoricalCrossentropy(Loss):
    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 name="sparse_categorical_crossentropy", axis=-1):
        super().__init__(sparse_categorical_crossentropy, name, reduction, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits


class CategoricalCrossentropy(Loss):
    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="categorical_crossentropy"):
        super().__init__(categorical_crossentropy, name, reduction, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits


class BinaryCrossentropy(Loss):
    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_crossentropy"):
        super().__init__(binary_crossentropy, name, reduction, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits


class MeanSquaredError(Loss):
    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error"):
        super().__init__(mean_squared_error, name, reduction)


class MeanAbsoluteError(Loss):
    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error"):
        super().__init__(mean_absolute_error, name, reduction)


_BY_NAME = {"sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
            "categorical_crossentropy": CategoricalCrossentropy, "binary_crossentropy": BinaryCrossentropy,
            "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
            "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError}


def get(identifier):
    """A Loss from a name ('sparse_categorical_crossentropy', 'mse', ...), a Loss, or a function of
    (y_true, y_pred)."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier) or {c.__name__: c for c in _BY_NAME.values()}.get(identifier)
        if cls is None:
            raise ValueError(f"pydl.keras.losses: unknown loss '{identifier}'; known: {', '.join(sorted(_BY_NAME))}")
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return Loss(identifier)
    raise TypeError(f"pydl.keras.losses: expected a name, a Loss or a function, got {type(identifier).__name__}")
