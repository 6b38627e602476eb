"""Ops that autograd does not record go straight to their kernel (pydl/ops/unary.py _public,
elementwise.py _apply, linalg.py matmul): the same values as through Function.apply, no node,
and a node as soon as an input requires grad with grad mode on."""
import numpy as np
import pytest

import pydl
from pydl.ops import elementwise, linalg, unary

UNARY = ["neg", "abs", "sign", "relu", "exp", "expm1", "log", "log1p", "sqrt", "rsqrt", "sigmoid", "tanh"]
BINARY = {"add": elementwise.Add, "sub": elementwise.Sub, "mul": elementwise.Mul, "div": elementwise.Div,
          "pow": elementwise.Pow, "maximum": elementwise.Maximum, "minimum": elementwise.Minimum}


def positive(shape, seed):
    return pydl.tensor(np.random.default_rng(seed).uniform(0.5, 2.0, shape))


@pytest.mark.parametrize("name", UNARY)
def test_unary_same_values_no_node(name):
    x = positive((3, 4), 0)
    y = getattr(pydl, name)(x)
    assert y.grad_fn is None and not y.requires_grad
    want = unary.FUNCTIONS[getattr(pydl._C.Unary, name.upper())].apply(x)
    assert y.numpy().tobytes() == want.numpy().tobytes()
    assert y.__class__ is pydl.Tensor and getattr(pydl, name).__name__ == name


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("other", ["tensor", "broadcast", "float", "int"])
def test_binary_same_values_no_node(name, other):
    a = positive((3, 4), 1)
    b = {"tensor": positive((3, 4), 2), "broadcast": positive((4,), 3), "float": 1.5, "int": 2}[other]
    y = getattr(pydl, name)(a, b)
    assert y.grad_fn is None and not y.requires_grad
    want = BINARY[name].apply(a, b)
    assert y.dtype == want.dtype and y.numpy().tobytes() == want.numpy().tobytes()


def test_matmul_same_values_no_node():
    a, b = positive((3, 4), 4), positive((4, 5), 5)
    y = a @ b
    assert y.grad_fn is None
    assert y.numpy().tobytes() == linalg.MatMul.apply(a, b).numpy().tobytes()


@pytest.mark.parametrize("op", [lambda x, y: x + y, lambda x, y: y * x, lambda x, y: x * 2.0, lambda x, y: 3 - x,
                                lambda x, y: x @ y, lambda x, y: x.exp(), lambda x, y: pydl.maximum(y, x)],
                         ids=["add", "mul_reflected_operand", "mul_scalar", "rsub", "matmul", "exp", "maximum"])
def test_recorded_when_an_input_requires_grad(op):
    x = positive((3, 3), 6).requires_grad_()
    y = positive((3, 3), 7)
    out = op(x, y)
    assert out.requires_grad and out.grad_fn is not None
    out.sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape
    with pydl.no_grad():
        plain = op(x, y)
    assert plain.grad_fn is None and not plain.requires_grad
    assert plain.numpy().tobytes() == out.detach().numpy().tobytes()
