"""Finite-difference gradient check in float64, as ``torch.autograd.gradcheck``."""
import numpy as np

from pydl.autograd.grad_mode import no_grad
from pydl.autograd.tensor_base import TensorBase


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Compares the analytic gradient of sum(fn(*inputs) * w) (w a fixed random weight) with
    central differences, for every input that requires grad. Inputs should be float64."""
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    targets = [i for i, x in enumerate(inputs) if isinstance(x, TensorBase) and x.requires_grad]
    if not targets:
        raise ValueError("gradcheck: no input requires grad")
    for i in targets:
        if inputs[i].dtype.name != "float64":
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype.name}; use float64 for finite differences")

    out = fn(*inputs)
    rng = np.random.default_rng(0)
    weight = out.new_tensor(rng.standard_normal(tuple(out.shape)), dtype="float64")

    def objective():
        with no_grad():
            return float((fn(*inputs).double() * weight).sum().item())

    for x in inputs:
        if isinstance(x, TensorBase):
            x.grad = None
    (out * weight).sum().backward()

    for i in targets:
        x = inputs[i]
        analytic = np.zeros(tuple(x.shape)) if x.grad is None else x.grad.cpu().numpy().astype(np.float64)
        numeric = np.zeros(tuple(x.shape))
        data = x.data  # same memory, outside the graph
        for idx in np.ndindex(*tuple(x.shape)):
            orig = data[idx].item()
            data[idx] = orig + eps
            plus = objective()
            data[idx] = orig - eps
            minus = objective()
            data[idx] = orig
            numeric[idx] = (plus - minus) / (2 * eps)
        if not np.allclose(analytic, numeric, atol=atol, rtol=rtol):
            if raise_exception:
                worst = np.abs(analytic - numeric).max()
                raise AssertionError(
                    f"gradcheck: input {i}: analytic and numerical gradients differ (max abs diff {worst:.3g})\n"
                    f"analytic:\n{analytic}\nnumerical:\n{numeric}"
                )
            return False
    return True
