"""Regularization helpers: clip_grad_norm_, clip_grad_value_, l1_penalty."""
import math

from pydl.autograd.grad_mode import no_grad
from pydl.tensor import Tensor


def _params(parameters):
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scales every .grad in place so that their joint norm is at most max_norm; returns the norm before."""
    grads = [p.grad for p in _params(parameters) if p.grad is not None]
    if not grads:
        from pydl.creation import tensor

        return tensor(0.0)
    with no_grad():
        if norm_type == math.inf:
            total = max(g.abs().max().item() for g in grads)
        else:
            total = sum((g.abs() ** norm_type).sum().item() for g in grads) ** (1.0 / norm_type)
        if error_if_nonfinite and not math.isfinite(total):
            raise RuntimeError(f"clip_grad_norm_: the total norm of the gradients is {total}")
        scale = max_norm / (total + 1e-6)
        if scale < 1.0:
            for g in grads:
                g.mul_(scale)
    from pydl.creation import tensor

    return tensor(total, device=grads[0].device)  # on the gradients' device, as PyTorch


def clip_grad_value_(parameters, clip_value):
    with no_grad():
        for p in _params(parameters):
            if p.grad is not None:
                p.grad._a.copy_(p.grad.clamp(-clip_value, clip_value)._a)


def l1_penalty(parameters, weight=1.0):
    """weight * sum(|p|) over the parameters, as a differentiable scalar to add to a loss."""
    total = None
    for p in _params(parameters):
        term = p.abs().sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("l1_penalty: no parameters given")
    return total * weight
