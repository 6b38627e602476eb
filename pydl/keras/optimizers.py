"""Optimizers with Keras's API and defaults (apply_gradients(zip(grads, vars)), learning_rate,
iterations), each step one call of pydl's multi-tensor optimizer kernels (pydl.optim.functional).

Where Keras's update differs from PyTorch's (the kernels'), the kernels are fed so that the
steps are Keras's:
- SGD: Keras keeps velocity = momentum * velocity - lr * g, PyTorch buf = momentum * buf + g and
  steps by lr * buf: the same steps while the learning rate is constant (a learning rate changed
  mid-training scales the momentum already gathered in Keras, not in PyTorch).
- Adam: Keras adds epsilon to sqrt(v) before the bias correction, PyTorch after; the kernel gets
  epsilon / sqrt(1 - beta_2 ** t), which makes the two equal.
- RMSprop and Adagrad: Keras adds epsilon under the square root (sqrt(v + eps)), PyTorch outside
  (sqrt(v) + eps); the kernels keep v + eps as their state (with their own eps 0), which is Keras's.
- Adadelta: the same update; only the defaults differ (Keras lr 0.001, rho 0.95, eps 1e-7; PyTorch
  lr 1.0, rho 0.9, eps 1e-6).
Defaults are Keras's: SGD lr 0.01; Adam lr 0.001, eps 1e-7; RMSprop lr 0.001, rho 0.9, eps 1e-7;
Adagrad lr 0.001, initial accumulator 0.1, eps 1e-7. weight_decay is decoupled (var -= lr * wd * var
before the update), as Keras's.
"""
import math
import warnings

import pydl
from pydl.autograd.grad_mode import no_grad
from pydl.keras.backend import convert_to_tensor
from pydl.optim import functional as F
from pydl.tensor import Tensor


class Optimizer:
    def __init__(self, learning_rate, name, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 **kwargs):
        kwargs = {k: v for k, v in kwargs.items() if k not in ("use_ema", "ema_momentum", "ema_overwrite_frequency",
                                                               "loss_scale_factor", "gradient_accumulation_steps",
                                                               "jit_compile")}
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword arguments {sorted(kwargs)}")
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(f"{type(self).__name__}: give at most one of clipnorm, clipvalue and global_clipnorm")
        self.learning_rate, self.name = learning_rate, name
        self.weight_decay, self.clipnorm, self.clipvalue = weight_decay, clipnorm, clipvalue
        self.global_clipnorm = global_clipnorm
        self.iterations = 0
        self._slots = {}  # id(variable) -> {slot name: Tensor}
        self._check("learning_rate", learning_rate if not callable(learning_rate) else 0.0)

    def _check(self, name, value, upper=None):
        if value < 0 or (upper is not None and value > upper):
            bound = f"[0, {upper}]" if upper is not None else "a non-negative value"
            raise ValueError(f"{type(self).__name__}: {name} must be {bound}, got {value}")

    @property
    def lr(self):
        return self.learning_rate

    def _current_lr(self):
        lr = self.learning_rate
        return float(lr(self.iterations) if callable(lr) else lr)

    def apply_gradients(self, grads_and_vars):
        """One update of each variable by its gradient; pairs whose gradient is None are skipped
        (with a warning), as Keras. Returns the iteration count."""
        pairs = list(grads_and_vars)
        for i, pair in enumerate(pairs):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"{type(self).__name__}.apply_gradients: expected (gradient, variable) pairs, "
                                f"item {i} is {type(pair).__name__}")
        kept = [(g, v) for g, v in pairs if g is not None]
        if not kept:
            raise ValueError(f"{type(self).__name__}.apply_gradients: no gradients provided for any variable")
        if len(kept) < len(pairs):
            missing = [getattr(v, "path", f"#{i}") for i, (g, v) in enumerate(pairs) if g is None]
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the loss")
        return self.apply([g for g, _ in kept], [v for _, v in kept])

    def apply(self, grads, trainable_variables):
        variables, grads = list(trainable_variables), list(grads)
        if len(variables) != len(grads):
            raise ValueError(f"{type(self).__name__}.apply: {len(grads)} gradients for {len(variables)} variables")
        prepared = []
        for i, (g, v) in enumerate(zip(grads, variables)):
            if not isinstance(v, Tensor):
                raise TypeError(f"{type(self).__name__}: variable {i} is a {type(v).__name__}, not a pydl Tensor")
            g = convert_to_tensor(g, dtype=v.dtype, device=v.device).detach()
            if tuple(g.shape) != tuple(v.shape):
                raise ValueError(f"{type(self).__name__}: the gradient of variable {i} "
                                 f"('{getattr(v, 'path', '?')}') has shape {tuple(g.shape)}, the variable "
                                 f"{tuple(v.shape)}")
            prepared.append(g.contiguous())
        with no_grad():
            prepared = self._clip(prepared)
            self.iterations += 1
            lr = self._current_lr()
            if self.weight_decay:
                for v in variables:
                    v.mul_(1.0 - lr * self.weight_decay)
            self._update(variables, prepared, lr)
        return self.iterations

    def _clip(self, grads):
        if self.clipvalue is not None:
            return [g.clamp(-self.clipvalue, self.clipvalue) for g in grads]
        if self.clipnorm is not None:
            return [g * (self.clipnorm / max(g.norm().item(), self.clipnorm)) for g in grads]
        if self.global_clipnorm is not None:
            total = math.sqrt(sum(g.double().pow(2).sum().item() for g in grads))
            return [g * (self.global_clipnorm / max(total, self.global_clipnorm)) for g in grads]
        return grads

    def _slot(self, v, name, init=0.0):
        slots = self._slots.setdefault(id(v), {})
        if name not in slots:
            slots[name] = pydl.full_like(v.detach(), init) if init else pydl.zeros_like(v.detach())
        return slots[name]

    def _update(self, variables, grads, lr):
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name, "learning_rate": self.learning_rate}


class SGD(Optimizer):
    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self._check("momentum", momentum, 1.0)
        self.momentum, self.nesterov = momentum, nesterov

    def _update(self, variables, grads, lr):
        if not self.momentum:
            F.sgd(variables, grads, None, lr=lr)
            return
        slots = [self._slots.setdefault(id(v), {}) for v in variables]
        buffers = [s.get("momentum") for s in slots]
        F.sgd(variables, grads, buffers, lr=lr, momentum=self.momentum, nesterov=self.nesterov)
        for s, b in zip(slots, buffers):
            s["momentum"] = b


class Adam(Optimizer):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, name="adam",
                 **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self._check("beta_1", beta_1, 1.0)
        self._check("beta_2", beta_2, 1.0)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def _update(self, variables, grads, lr):
        t = self.iterations
        eps = self.epsilon / math.sqrt(1.0 - self.beta_2 ** t)  # Keras's epsilon, in PyTorch's place
        F.adam(variables, grads, [self._slot(v, "m") for v in variables], [self._slot(v, "v") for v in variables],
               [self._slot(v, "v_hat") for v in variables] if self.amsgrad else None, t, lr=lr, beta1=self.beta_1,
               beta2=self.beta_2, eps=eps, amsgrad=self.amsgrad)


class RMSprop(Optimizer):
    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, name="rmsprop",
                 **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self._check("rho", rho, 1.0)
        self._check("momentum", momentum)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def _update(self, variables, grads, lr):
        # The kernel's square average holds velocity + epsilon: raised by epsilon * (1 - rho) / rho
        # before the kernel scales it by rho, it comes out as the new velocity + epsilon, and the
        # kernel's sqrt(state) (eps 0) is Keras's sqrt(velocity + epsilon).
        exact = self.rho > 0
        velocities = [self._slot(v, "velocity", self.epsilon if exact else 0.0) for v in variables]
        if exact:
            for s in velocities:
                s.add_(self.epsilon * (1.0 - self.rho) / self.rho)
        F.rmsprop(variables, grads, velocities,
                  [self._slot(v, "average_gradient") for v in variables] if self.centered else None,
                  [self._slot(v, "momentum") for v in variables] if self.momentum > 0 else None,
                  lr=lr, alpha=self.rho, eps=0.0 if exact else self.epsilon, momentum=self.momentum,
                  centered=self.centered)


class Adagrad(Optimizer):
    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, name="adagrad", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self._check("initial_accumulator_value", initial_accumulator_value)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _update(self, variables, grads, lr):
        # The kernel's sum holds accumulator + epsilon, so its sqrt(sum) (eps 0) is Keras's sqrt(acc + eps).
        start = self.initial_accumulator_value + self.epsilon
        F.adagrad(variables, grads, [self._slot(v, "accumulator", start) for v in variables], self.iterations,
                  lr=lr, eps=0.0)


class Adadelta(Optimizer):
    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name="adadelta", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self._check("rho", rho, 1.0)
        self.rho, self.epsilon = rho, epsilon

    def _update(self, variables, grads, lr):
        F.adadelta(variables, grads, [self._slot(v, "accumulated_grad") for v in variables],
                   [self._slot(v, "accumulated_delta") for v in variables], lr=lr, rho=self.rho, eps=self.epsilon)


_BY_NAME = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad, "adadelta": Adadelta}


def get(identifier):
    """An optimizer from a name ('adam', with Keras's defaults) or an Optimizer (returned as is)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise ValueError(f"pydl.keras.optimizers: unknown optimizer {identifier!r}; known: {', '.join(_BY_NAME)}")
