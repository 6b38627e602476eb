"""compile / fit / evaluate / predict, mixed into Model. One training step is Keras's: the forward
pass with training=True under a GradientTape, the loss, the tape's gradients of the trainable
weights, optimizer.apply_gradients."""
import sys
import time

import numpy as np
from tqdm import tqdm

import pydl
from pydl.autograd.grad_mode import no_grad
from pydl.keras import losses as losses_module
from pydl.keras import metrics as metrics_module
from pydl.keras import optimizers as optimizers_module
from pydl.keras.callbacks import Callback, CallbackList, History
from pydl.keras.keras_tensor import flatten
from pydl.keras.models.data import ArrayData, batch_size_of, make_data
from pydl.keras.tape import GradientTape

_IGNORED_COMPILE_ARGS = ("run_eagerly", "steps_per_execution", "jit_compile", "auto_scale_loss")


class Trainer:
    compiled = False
    optimizer = None
    stop_training = False

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                **kwargs):
        """optimizer: a name ('adam') or an Optimizer; loss: a name, a Loss or fn(y_true, y_pred);
        metrics: names ('accuracy', 'mse', ...), Metrics or functions. run_eagerly, jit_compile,
        steps_per_execution are accepted and ignored (pydl always runs eagerly)."""
        unknown = sorted(k for k in kwargs if k not in _IGNORED_COMPILE_ARGS)
        if unknown:
            raise TypeError(f"compile: unexpected keyword arguments {unknown}")
        if loss_weights is not None or weighted_metrics is not None:
            raise NotImplementedError("compile: loss_weights and weighted_metrics are not supported in pydl.keras")
        if isinstance(metrics, dict) or isinstance(loss, (dict, list)):
            raise NotImplementedError("compile: per-output losses and metrics are not supported in pydl.keras")
        object.__setattr__(self, "optimizer", optimizers_module.get(optimizer))
        object.__setattr__(self, "loss", loss)
        object.__setattr__(self, "_loss_fn", None if loss is None else losses_module.get(loss))
        object.__setattr__(self, "_metric_ids", list(metrics or []))
        object.__setattr__(self, "_metrics", None)
        object.__setattr__(self, "compiled", True)

    def _require_compiled(self, op):
        if not self.compiled:
            raise RuntimeError(f"You must call compile() before using the model ({op})")
        if self._loss_fn is None and op != "predict":
            raise ValueError(f"{op}: the model was compiled without a loss; pass loss= to compile()")

    @property
    def metrics_names(self):
        names = [getattr(m, "name", str(m)) if not isinstance(m, str) else m for m in getattr(self, "_metric_ids", [])]
        return ["loss"] + names

    def _metric_objects(self, y, y_pred):
        if self._metrics is None:
            from_logits = getattr(self._loss_fn, "from_logits", False)
            built = [metrics_module.get(m, y, y_pred, from_logits) for m in self._metric_ids]
            object.__setattr__(self, "_metrics", list(zip(self.metrics_names[1:], built)))
        return self._metrics

    def _data_device(self):
        weights = self.weights
        if weights:
            return weights[0].device
        return self._device if self._device is not None else pydl.device("cpu")

    # ------------------------------------------------------------------ steps
    def train_step(self, x, y):
        """One optimizer step on the batch; returns (loss, predictions)."""
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self._loss_fn(y, y_pred)
        variables = self.trainable_weights
        grads = tape.gradient(loss, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        return loss, y_pred

    def test_step(self, x, y):
        with no_grad():
            y_pred = self(x, training=False)
            return self._loss_fn(y, y_pred), y_pred

    # ------------------------------------------------------------------ loops
    def _run_epoch(self, data, step_fn, bar=None, callbacks=None, steps=None):
        """Runs step_fn over the batches; returns the logs (mean loss weighted by batch size, metrics)."""
        total, count = None, 0
        for m in self._metrics or ():
            m[1].reset_state()
        want_batch_logs = callbacks is not None and any(
            type(c).on_train_batch_end is not Callback.on_train_batch_end for c in callbacks.callbacks)
        for step, (x, y) in enumerate(data.batches(self._data_device(), shuffle=getattr(data, "shuffle", False))):
            if steps is not None and step >= steps:
                break
            if callbacks is not None:
                callbacks.on_train_batch_begin(step)
            if y is None:
                raise ValueError("fit/evaluate: the batches need targets y")
            loss, y_pred = step_fn(x, y)
            n = batch_size_of(x)
            with no_grad():
                total = loss.detach() * n if total is None else total + loss.detach() * n
                count += n
                for _, m in self._metric_objects(y, y_pred):
                    m.update_state(y, y_pred)
            if bar is not None:
                bar.update(1)
                if step % 10 == 0:
                    bar.set_postfix_str(_format(self._logs(total, count)), refresh=False)
            if want_batch_logs:
                callbacks.on_train_batch_end(step, self._logs(total, count))
            elif callbacks is not None:
                callbacks.on_train_batch_end(step, None)
            if callbacks is not None and self.stop_training:
                break
        if count == 0:
            raise ValueError("fit/evaluate: the data gave no batches")
        return self._logs(total, count)

    def _logs(self, total, count):
        logs = {"loss": total.item() / count}
        for name, m in self._metrics or ():
            logs[name] = float(m.result())
        return logs

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Trains for `epochs` epochs; returns a History whose .history maps 'loss', each metric and,
        with validation data, 'val_loss' and 'val_<metric>' to one value per epoch. verbose: 0 silent,
        1 (or 'auto') a progress bar per epoch, 2 one line per epoch."""
        self._require_compiled("fit")
        if class_weight is not None or sample_weight is not None:
            raise NotImplementedError("fit: class_weight and sample_weight are not supported in pydl.keras")
        verbose = 1 if verbose == "auto" else int(verbose)
        train = make_data("fit", x, y, batch_size, self.dtype)
        val = None
        if validation_data is not None:
            val = make_data("fit", *_unpack_validation(validation_data), validation_batch_size or batch_size,
                            self.dtype)
        elif validation_split:
            if not isinstance(train, ArrayData):
                train.split(validation_split)  # raises: needs arrays
            train, val = train.split(validation_split)
        train.shuffle = bool(shuffle) and isinstance(train, ArrayData)
        history = History()
        cbs = CallbackList([history] + list(callbacks or []), self,
                           {"epochs": epochs, "steps": steps_per_epoch or train.steps, "verbose": verbose})
        object.__setattr__(self, "stop_training", False)
        object.__setattr__(self, "history", history)
        cbs.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch)
            start = time.perf_counter()
            bar = tqdm(total=steps_per_epoch or train.steps, desc=f"Epoch {epoch + 1}/{epochs}", unit="step",
                       file=sys.stdout, disable=verbose != 1, leave=True, dynamic_ncols=True)
            try:
                logs = self._run_epoch(train, self.train_step, bar, cbs, steps_per_epoch)
                if val is not None and (epoch + 1) % validation_freq == 0:
                    val_logs = self._run_epoch(val, self.test_step, steps=validation_steps)
                    logs.update({f"val_{k}": v for k, v in val_logs.items()})
                bar.set_postfix_str(_format(logs), refresh=True)
            finally:
                bar.close()
            if verbose == 2:
                print(f"Epoch {epoch + 1}/{epochs} - {time.perf_counter() - start:.1f}s - {_format(logs)}",
                      flush=True)
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cbs.on_train_end()
        return history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """The loss (and metrics) over the data in inference mode: a number, a list [loss, metrics...],
        or with return_dict a {name: value} dict."""
        self._require_compiled("evaluate")
        if sample_weight is not None:
            raise NotImplementedError("evaluate: sample_weight is not supported in pydl.keras")
        verbose = 1 if verbose == "auto" else int(verbose)
        data = make_data("evaluate", x, y, batch_size, self.dtype)
        with tqdm(total=data.steps, desc="evaluate", unit="step", file=sys.stdout, disable=verbose != 1,
                  dynamic_ncols=True) as bar:
            logs = self._run_epoch(data, self.test_step, bar, steps=steps)
            bar.set_postfix_str(_format(logs), refresh=True)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs (inference mode) for all of x, as numpy arrays."""
        verbose = 1 if verbose == "auto" else int(verbose)
        data = make_data("predict", x, None, batch_size, self.dtype)
        outputs = []
        with no_grad(), tqdm(total=data.steps, desc="predict", unit="step", file=sys.stdout,
                             disable=verbose != 1, dynamic_ncols=True) as bar:
            for step, (xb, _) in enumerate(data.batches(self._data_device())):
                if steps is not None and step >= steps:
                    break
                out = self(xb, training=False)
                outputs.append([t.detach().cpu().numpy() for t in flatten(out)])
                bar.update(1)
        if not outputs:
            raise ValueError("predict: the data gave no batches")
        arrays = [np.concatenate(parts) for parts in zip(*outputs)]
        return arrays[0] if len(arrays) == 1 else arrays

    def train_on_batch(self, x, y=None, return_dict=False):
        self._require_compiled("train_on_batch")
        return self._on_batch(x, y, self.train_step, return_dict)

    def test_on_batch(self, x, y=None, return_dict=False):
        self._require_compiled("test_on_batch")
        return self._on_batch(x, y, self.test_step, return_dict)

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=batch_size_of(make_data("predict", x).x), verbose=0)

    def _on_batch(self, x, y, step_fn, return_dict):
        data = make_data("train_on_batch", x, y, None, self.dtype)
        data.batch_size = data.n
        logs = self._run_epoch(data, step_fn)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values


def _unpack_validation(validation_data):
    if isinstance(validation_data, (tuple, list)):
        if len(validation_data) == 2:
            return validation_data[0], validation_data[1]
        if len(validation_data) == 3:
            raise NotImplementedError("fit: validation sample weights are not supported in pydl.keras")
        raise ValueError(f"fit: validation_data must be (x_val, y_val), got a sequence of {len(validation_data)}")
    return validation_data, None


def _format(logs):
    return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
