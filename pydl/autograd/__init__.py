"""Reverse-mode automatic differentiation: Function, backward, grad, grad mode, gradcheck."""
from pydl.autograd.function import Function, backward, grad
from pydl.autograd.gradcheck import gradcheck
from pydl.autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled

__all__ = ["Function", "backward", "grad", "gradcheck", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "inference_mode"]
