"""Reverse-mode automatic differentiation: Function, backward, grad mode, gradcheck."""
from pydl.autograd.function import Function, backward
from pydl.autograd.gradcheck import gradcheck
from pydl.autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled

__all__ = ["Function", "backward", "gradcheck", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "inference_mode"]
