"""Optimizer updates in functional form, as torch.optim's (``torch.optim.sgd.sgd``,
``torch.optim.adam.adam``, ...): each updates a list of parameters and their state buffers
in place with ONE call into C++, one fused pass per tensor.

Lists are aligned (entry i of each belongs to ``params[i]``) and hold pydl Tensors; a state
buffer has its parameter's shape, dtype and device, and its initial value is the caller's
(zeros, or ``initial_accumulator_value`` for Adagrad's sums). ``step`` is the number of
updates made so far including this one (1 on the first call; the caller counts): one int
for all the parameters, or one per parameter. Mismatched lists, shapes, dtypes or devices,
and invalid hyperparameters, raise ValueError naming the optimizer.
"""
from pydl import _C
from pydl.tensor import Tensor, _wrap

__all__ = ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta"]


def _arrays(op, what, tensors):
    """The C++ arrays of a list of Tensors (None or a missing list: an empty list)."""
    if tensors is None:
        return []
    try:
        return [t._a for t in tensors]
    except AttributeError:
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"{op}: {what} {i} must be a Tensor, got {type(t).__name__}") from None
        raise


def _steps(op, step):
    steps = list(step) if isinstance(step, (list, tuple)) else [step]
    try:
        return [int(s) for s in steps]
    except (TypeError, ValueError):
        raise TypeError(f"{op}: step must be an int or a list of ints, got {step!r}") from None


def sgd(params, grads, momentum_buffers, *, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0,
        maximize=False):
    """SGD with momentum, as torch.optim.SGD. ``momentum_buffers`` (a list, one entry per
    param, used when momentum != 0): an entry of None is the first step, where the buffer
    is created from the gradient (without dampening) and stored into the list."""
    use_buffers = float(momentum) != 0
    buffers = []
    if use_buffers:
        if momentum_buffers is None:
            momentum_buffers = []
        if any(b is None for b in momentum_buffers) and not isinstance(momentum_buffers, list):
            raise TypeError("sgd: momentum_buffers must be a list when some entries are None (they are filled in)")
        for i, b in enumerate(momentum_buffers):
            if b is not None and not isinstance(b, Tensor):
                raise TypeError(f"sgd: momentum_buffer {i} must be a Tensor or None, got {type(b).__name__}")
            buffers.append(None if b is None else b._a)
    out = _C.sgd_update(_arrays("sgd", "param", params), _arrays("sgd", "grad", grads), buffers, lr=float(lr),
                        momentum=float(momentum), dampening=float(dampening), weight_decay=float(weight_decay),
                        nesterov=bool(nesterov), maximize=bool(maximize))
    for i, b in enumerate(buffers):
        if b is None:
            momentum_buffers[i] = _wrap(out[i])


def adam(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, step, *, lr, beta1=0.9, beta2=0.999, eps=1e-8,
         weight_decay=0.0, amsgrad=False, maximize=False, decoupled_weight_decay=False):
    """Adam, as torch.optim.Adam (L2 weight decay added to the gradient), or AdamW with
    ``decoupled_weight_decay=True``. ``max_exp_avg_sqs`` is used only with amsgrad."""
    op = "adamw" if decoupled_weight_decay else "adam"
    _C.adam_update(_arrays(op, "param", params), _arrays(op, "grad", grads), _arrays(op, "exp_avg", exp_avgs),
                   _arrays(op, "exp_avg_sq", exp_avg_sqs),
                   _arrays(op, "max_exp_avg_sq", max_exp_avg_sqs) if amsgrad else [], _steps(op, step),
                   lr=float(lr), beta1=float(beta1), beta2=float(beta2), eps=float(eps),
                   weight_decay=float(weight_decay), amsgrad=bool(amsgrad), maximize=bool(maximize),
                   decoupled_weight_decay=bool(decoupled_weight_decay))


def adamw(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, step, *, lr, beta1=0.9, beta2=0.999, eps=1e-8,
          weight_decay=1e-2, amsgrad=False, maximize=False):
    """AdamW, as torch.optim.AdamW: the parameter is scaled by 1 - lr * weight_decay."""
    adam(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, step, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
         weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True)


def rmsprop(params, grads, square_avgs, grad_avgs, momentum_buffers, *, lr, alpha=0.99, eps=1e-8, weight_decay=0.0,
            momentum=0.0, centered=False, maximize=False):
    """RMSprop, as torch.optim.RMSprop. ``grad_avgs`` is used only when centered,
    ``momentum_buffers`` only when momentum > 0 (pass None or [] otherwise)."""
    _C.rmsprop_update(_arrays("rmsprop", "param", params), _arrays("rmsprop", "grad", grads),
                      _arrays("rmsprop", "square_avg", square_avgs),
                      _arrays("rmsprop", "grad_avg", grad_avgs) if centered else [],
                      _arrays("rmsprop", "momentum_buffer", momentum_buffers) if float(momentum) > 0 else [],
                      lr=float(lr), alpha=float(alpha), eps=float(eps), weight_decay=float(weight_decay),
                      momentum=float(momentum), centered=bool(centered), maximize=bool(maximize))


def adagrad(params, grads, state_sums, step, *, lr, lr_decay=0.0, weight_decay=0.0, eps=1e-10, maximize=False):
    """Adagrad, as torch.optim.Adagrad. The caller starts ``state_sums`` at
    ``initial_accumulator_value``; the step size is lr / (1 + (step - 1) * lr_decay)."""
    _C.adagrad_update(_arrays("adagrad", "param", params), _arrays("adagrad", "grad", grads),
                      _arrays("adagrad", "state_sum", state_sums), _steps("adagrad", step), lr=float(lr),
                      lr_decay=float(lr_decay), weight_decay=float(weight_decay), eps=float(eps),
                      maximize=bool(maximize))


def adadelta(params, grads, square_avgs, acc_deltas, *, lr, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    """Adadelta, as torch.optim.Adadelta (whose default lr is 1.0)."""
    _C.adadelta_update(_arrays("adadelta", "param", params), _arrays("adadelta", "grad", grads),
                       _arrays("adadelta", "square_avg", square_avgs), _arrays("adadelta", "acc_delta", acc_deltas),
                       lr=float(lr), rho=float(rho), eps=float(eps), weight_decay=float(weight_decay),
                       maximize=bool(maximize))
