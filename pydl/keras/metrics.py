"""Metrics, as keras.metrics: stateful means over batches (update_state, result, reset_state). The
running sums stay on the tensors' device; result() reads them (a GPU sync), so fit reads them rarely."""
import pydl
from pydl.autograd.grad_mode import no_grad
from pydl.keras import losses as _losses
from pydl.keras.backend import convert_to_tensor
from pydl.tensor import Tensor


def _pair(y_true, y_pred):
    if not isinstance(y_pred, Tensor):
        y_pred = convert_to_tensor(y_pred)
    return convert_to_tensor(y_true, device=y_pred.device), y_pred.detach()


def sparse_categorical_accuracy(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    return (y_pred.argmax(dim=-1) == y_true.long()).float()


def categorical_accuracy(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_pred.argmax(dim=-1) == y_true.argmax(dim=-1)).float()


def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true, y_pred = _pair(y_true, y_pred)
    y_true, y_pred = _losses._same_rank(y_true, y_pred)
    return ((y_pred > threshold).float() == y_true.float()).float().mean(dim=-1)


def accuracy(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    y_true, y_pred = _losses._same_rank(y_true, y_pred)
    return (y_pred == y_true.to(y_pred.dtype)).float().mean(dim=-1)


class Metric:
    def __init__(self, name=None, dtype=None):
        self.name = name or type(self).__name__
        self.reset_state()

    def reset_state(self):
        self._total, self._count = None, 0.0

    def _add(self, total, count):
        self._total = total if self._total is None else self._total + total
        self._count += count

    def result(self):
        """The mean so far, as a 0-d pydl Tensor (float(result) gives the number)."""
        if self._total is None or self._count == 0:
            return pydl.tensor(0.0)
        return (self._total / self._count).cpu()

    def update_state(self, *args, **kwargs):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class Mean(Metric):
    """The (weighted) mean of the values given."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name, dtype)

    def update_state(self, values, sample_weight=None):
        with no_grad():
            values = convert_to_tensor(values).detach().double()
            if sample_weight is None:
                self._add(values.sum(), values.numel())
                return
            w = pydl.ones_like(values) * convert_to_tensor(sample_weight, device=values.device).double()
            self._add((values * w).sum(), w.sum().item())


class MeanMetricWrapper(Mean):
    """The mean over samples of fn(y_true, y_pred, **kwargs)."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name or fn.__name__, dtype)
        self.fn, self.kwargs = fn, kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        with no_grad():
            values = self.fn(y_true, y_pred, **self.kwargs)
        super().update_state(values, sample_weight)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name, dtype)


class CategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name, dtype)


class BinaryAccuracy(MeanMetricWrapper):
    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name, dtype, threshold=threshold)


class Accuracy(MeanMetricWrapper):
    """How often y_pred equals y_true exactly (for class ids; 'accuracy' in compile() picks the
    accuracy that suits the loss instead)."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name, dtype)


class MeanSquaredError(MeanMetricWrapper):
    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(_losses.mean_squared_error, name, dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(_losses.mean_absolute_error, name, dtype)


_BY_NAME = {"sparse_categorical_accuracy": SparseCategoricalAccuracy, "categorical_accuracy": CategoricalAccuracy,
            "binary_accuracy": BinaryAccuracy, "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
            "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError}


def get(identifier, y_true=None, y_pred=None, from_logits=False):
    """A Metric from a name, a Metric or a function. 'accuracy' / 'acc' becomes binary, sparse
    categorical or categorical accuracy from the shapes of y_true and y_pred, as Keras decides; a
    binary accuracy after a from_logits loss thresholds the logits at 0 (Keras thresholds at 0.5)."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier in ("accuracy", "acc"):
            if y_pred is None:
                return Accuracy(name=identifier)
            if y_pred.shape[-1] == 1:
                return MeanMetricWrapper(binary_accuracy, identifier, threshold=0.0 if from_logits else 0.5)
            if y_true.dim() < y_pred.dim() or (y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1):
                return MeanMetricWrapper(sparse_categorical_accuracy, identifier)
            return MeanMetricWrapper(categorical_accuracy, identifier)
        cls = _BY_NAME.get(identifier)
        if cls is None:
            raise ValueError(f"pydl.keras.metrics: unknown metric '{identifier}'; known: accuracy, acc, "
                             f"{', '.join(sorted(_BY_NAME))}")
        return cls(name=identifier)
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(f"pydl.keras.metrics: expected a name, a Metric or a function, got {type(identifier).__name__}")
