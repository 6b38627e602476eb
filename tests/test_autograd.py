"""The autograd engine: custom Functions, accumulation, retain_graph, grad modes,
detach / requires_grad_, hooks, deep graphs and that a training loop leaks nothing."""
import gc
import weakref

import numpy as np
import pytest

import pydl


def f64(data, requires_grad=True):
    return pydl.tensor(data, dtype=pydl.float64, requires_grad=requires_grad)


# ---------------------------------------------------------------------- custom Function
class ScaledMul(pydl.Function):
    """forward(x, y, k) = k * x * y; backward uses ctx and needs_input_grad."""

    calls = []

    @staticmethod
    def forward(ctx, x, y, k):
        ctx.x, ctx.y, ctx.k = x.detach(), y.detach(), k
        ScaledMul.calls.append(tuple(ctx.needs_input_grad[i] for i in range(3)))
        return x.detach() * y.detach() * k

    @staticmethod
    def backward(ctx, g):
        gx = g * ctx.y * ctx.k if ctx.needs_input_grad[0] else None
        gy = g * ctx.x * ctx.k if ctx.needs_input_grad[1] else None
        return gx, gy, None


def test_custom_function_forward_backward():
    ScaledMul.calls.clear()
    x, y = f64([1.0, 2.0, 3.0]), f64([4.0, 5.0, 6.0])
    out = ScaledMul.apply(x, y, 3.0)
    assert out.requires_grad and not out.is_leaf
    assert isinstance(out.grad_fn, ScaledMul)
    assert "ScaledMul" in repr(out.grad_fn)
    np.testing.assert_allclose(out.detach().numpy(), [12.0, 30.0, 54.0])
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [12.0, 15.0, 18.0])
    np.testing.assert_allclose(y.grad.numpy(), [3.0, 6.0, 9.0])
    assert ScaledMul.calls == [(True, True, False)]


def test_custom_function_needs_input_grad_partial():
    ScaledMul.calls.clear()
    x, y = f64([1.0, 2.0]), f64([3.0, 4.0], requires_grad=False)
    ScaledMul.apply(x, y, 2.0).sum().backward()
    assert ScaledMul.calls == [(True, False, False)]
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 8.0])
    assert y.grad is None


def test_custom_function_without_grad_records_nothing():
    x, y = f64([1.0], requires_grad=False), f64([2.0], requires_grad=False)
    out = ScaledMul.apply(x, y, 1.0)
    assert not out.requires_grad and out.grad_fn is None
    with pydl.no_grad():
        out = ScaledMul.apply(f64([1.0]), y, 1.0)
    assert not out.requires_grad and out.grad_fn is None


def test_custom_function_single_gradient_not_tuple():
    class Double(pydl.Function):
        @staticmethod
        def forward(ctx, x):
            return x.detach() * 2.0

        @staticmethod
        def backward(ctx, g):
            return g * 2.0

    x = f64([1.0, -1.0])
    (Double.apply(Double.apply(x)) * f64([1.0, 3.0], False)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 12.0])


# ---------------------------------------------------------------------- accumulation
def test_reused_node_gradients_accumulate():
    x = f64([1.0, -2.0, 3.0])
    y = x * x + x * x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.array([1.0, -2.0, 3.0]))


def test_intermediate_used_three_times():
    x = f64([0.5, 2.0])
    a = x * 2.0 + 1.0
    z = a * a * a  # a used three times
    z.sum().backward()
    av = np.array([0.5, 2.0]) * 2 + 1
    np.testing.assert_allclose(x.grad.numpy(), 3 * av ** 2 * 2)

    x2 = f64([0.5, 2.0])
    b = x2.exp()
    (b + b * b + b.tanh()).sum().backward()  # b used three times
    e = np.exp([0.5, 2.0])
    np.testing.assert_allclose(x2.grad.numpy(), e * (1 + 2 * e + 1 - np.tanh(e) ** 2))


def test_diamond_graph():
    x = f64([1.5])
    a = x * 3.0
    b, c = a.exp(), a * a
    (b * c).sum().backward()
    av = 4.5
    np.testing.assert_allclose(x.grad.numpy(), [3.0 * (np.exp(av) * av ** 2 + np.exp(av) * 2 * av)])


def test_grad_accumulates_across_backward_calls():
    x = f64([1.0, 2.0])
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 7.0])
    x.grad = None
    (x * 2.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_retain_graph_allows_second_backward():
    x = f64([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_second_backward_without_retain_graph_raises():
    x = f64([1.0, 2.0])
    y = (x.exp() * 2.0).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_backward_of_non_scalar_needs_gradient():
    x = f64([1.0, 2.0])
    y = x * 2.0
    with pytest.raises(RuntimeError, match="scalar"):
        y.backward()
    y.backward(gradient=f64([10.0, -1.0], False))
    np.testing.assert_allclose(x.grad.numpy(), [20.0, -2.0])


def test_backward_gradient_argument_checked():
    x = f64([[1.0, 2.0]])
    y = x * x
    y.backward(pydl.tensor([[1.0, 0.5]], dtype=pydl.float64))
    np.testing.assert_allclose(x.grad.numpy(), [[2.0, 2.0]])
    with pytest.raises(ValueError):
        (x * x).backward(pydl.ones(3, dtype=pydl.float64))
    with pytest.raises(TypeError):
        (x * x).backward([[1.0, 1.0]])


def test_backward_without_requires_grad_raises():
    with pytest.raises(RuntimeError):
        pydl.ones(2).sum().backward()


def test_backward_on_leaf_itself():
    x = f64(3.0)
    x.backward()
    assert x.grad.item() == 1.0


def test_deep_chain_no_recursion_error():
    x = pydl.ones(1, dtype=pydl.float64, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** 10_000], rtol=1e-9)
    # a 10,000-deep graph that was never backpropagated is freed without blowing the stack
    z = x
    for _ in range(10_000):
        z = z + 1.0
    ref = weakref.ref(z)
    del z
    assert ref() is None


# ---------------------------------------------------------------------- grad modes
def test_no_grad_context_manager():
    x = f64([1.0, 2.0])
    assert pydl.is_grad_enabled()
    with pydl.no_grad():
        assert not pydl.is_grad_enabled()
        y = x * 2.0 + x.exp()
        z = (x @ x)
    assert pydl.is_grad_enabled()
    for t in (y, z):
        assert t.requires_grad is False
        assert t.grad_fn is None
    assert (x * 2.0).requires_grad


def test_no_grad_decorator():
    @pydl.no_grad()
    def f(t):
        assert not pydl.is_grad_enabled()
        return t * t

    x = f64([3.0])
    y = f(x)
    assert not y.requires_grad and y.grad_fn is None
    assert pydl.is_grad_enabled()
    assert f.__name__ == "f"


def test_no_grad_restores_on_exception():
    with pytest.raises(ZeroDivisionError):
        with pydl.no_grad():
            1 / 0
    assert pydl.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = f64([1.0])
    with pydl.no_grad():
        with pydl.enable_grad():
            assert pydl.is_grad_enabled()
            y = x * 2.0
        assert not pydl.is_grad_enabled()
        z = x * 2.0
    assert y.requires_grad and y.grad_fn is not None
    assert not z.requires_grad

    @pydl.enable_grad()
    def g(t):
        return t * 3.0

    with pydl.no_grad():
        w = g(x)
    assert w.requires_grad
    w.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0])


def test_set_grad_enabled():
    x = f64([1.0])
    try:
        pydl.set_grad_enabled(False)
        assert not pydl.is_grad_enabled()
        assert not (x * 2).requires_grad
        pydl.set_grad_enabled(True)
        assert (x * 2).requires_grad
    finally:
        pydl.set_grad_enabled(True)
    with pydl.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with pydl.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not pydl.is_grad_enabled()
    assert pydl.is_grad_enabled()


# ---------------------------------------------------------------------- detach and friends
def test_detach_shares_storage_and_cuts_graph():
    x = f64([1.0, 2.0])
    y = x * 2.0
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    np.testing.assert_allclose(d.numpy(), [2.0, 4.0])
    d[0] = 100.0  # same memory as y
    assert y.detach().numpy()[0] == 100.0
    (y.detach() * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [100.0, 4.0])


def test_detach_in_place():
    x = f64([1.0, 2.0])
    y = x * 3.0
    assert y.detach_() is y
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    z = y * x
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 6.0])


def test_requires_grad_():
    x = pydl.ones(2, dtype=pydl.float64)
    assert not x.requires_grad
    assert x.requires_grad_() is x
    assert x.requires_grad and x.is_leaf
    (x * 5.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])
    x.requires_grad_(False)
    assert not (x * 5.0).requires_grad
    y = f64([1.0]) * 2
    with pytest.raises(RuntimeError):
        y.requires_grad_(False)


def test_data_property():
    x = f64([1.0, 2.0])
    d = x.data
    assert not d.requires_grad and d.grad_fn is None
    with pydl.no_grad():
        d.mul_(10.0)
    np.testing.assert_allclose(x.detach().numpy(), [10.0, 20.0])
    x.data = pydl.tensor([7.0, 8.0], dtype=pydl.float64)
    assert x.requires_grad
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [14.0, 16.0])
    with pytest.raises(TypeError):
        x.data = [1.0, 2.0]


def test_is_leaf_and_grad_fn():
    x = f64([1.0])
    c = pydl.ones(1)
    y = x * 2
    assert x.is_leaf and c.is_leaf and not y.is_leaf
    assert x.grad_fn is None and y.grad_fn is not None
    assert (c * 2).is_leaf  # no grad needed: nothing recorded
    # gradients land only on leaves
    (y * 3).sum().backward()
    assert y.grad is None
    np.testing.assert_allclose(x.grad.numpy(), [6.0])


def test_register_hook_on_leaf():
    x = f64([1.0, 2.0])
    seen = []
    assert x.register_hook(lambda g: seen.append(g.detach().numpy().copy())) is not None
    (x * 4.0).sum().backward()
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], [4.0, 4.0])
    y = x * 2
    with pytest.raises(RuntimeError):
        y.register_hook(lambda g: None)


@pytest.mark.parametrize("sa,sb", [((2, 3), (3,)), ((2, 1), (1, 3)), ((4, 1, 3), (2, 1)), ((2, 3), ()),
                                   ((1,), (2, 2))])
def test_broadcasting_reduces_gradients(sa, sb):
    a = pydl.ones(*sa, dtype=pydl.float64, requires_grad=True)
    b = pydl.ones(*sb, dtype=pydl.float64, requires_grad=True)
    out = a * b + b
    out.sum().backward()
    n = int(np.prod(out.shape))
    assert tuple(a.grad.shape) == sa and tuple(b.grad.shape) == sb
    np.testing.assert_allclose(a.grad.numpy(), np.full(sa, n / np.prod(sa)))
    np.testing.assert_allclose(b.grad.numpy(), np.full(sb, 2 * n / np.prod(sb)))


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError):
        pydl.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(RuntimeError):
        pydl.arange(3).requires_grad_()
    with pytest.raises(RuntimeError):
        pydl.zeros(2, dtype=pydl.int64, requires_grad=True)
    with pytest.raises(RuntimeError):
        pydl.tensor([True, False]).requires_grad_(True)


def test_integer_cast_has_no_grad():
    x = f64([1.7, -2.2])
    n = x.long()
    assert n.dtype == pydl.int64
    assert not n.requires_grad and n.grad_fn is None
    np.testing.assert_array_equal(n.numpy(), [1, -2])
    b = (x > 0)
    assert b.dtype == pydl.bool and not b.requires_grad


def test_in_place_on_grad_tensor_refused():
    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError):
        x.add_(1.0)
    with pytest.raises(RuntimeError):
        x[0] = 5.0
    with pydl.no_grad():
        x.add_(1.0)
    np.testing.assert_allclose(x.detach().numpy(), [2.0, 3.0])
    x2 = x
    x += 1.0  # out of place when grad is needed: a new node, x2 untouched
    assert x is not x2 and x.grad_fn is not None
    np.testing.assert_allclose(x2.detach().numpy(), [2.0, 3.0])


# ---------------------------------------------------------------------- memory
def _live_tensors():
    return sum(1 for o in gc.get_objects() if isinstance(o, pydl.Tensor))


def test_training_loop_leaks_no_tensors():
    pydl.manual_seed(0)
    x = pydl.randn(8, 4)
    w = pydl.randn(4, 4, requires_grad=True)

    def step():
        loss = (x @ w).relu().sum()
        loss.backward()
        w.grad = None
        return loss

    step()
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()  # freed by reference counting alone: no cycles allowed either
    try:
        before = _live_tensors()
        total = 0.0
        first = weakref.ref(step())
        for _ in range(10_000):
            loss = step()
            total = total + loss.item()
        del loss
        after = _live_tensors()
    finally:
        if was_enabled:
            gc.enable()
    assert first() is None
    assert after <= before, f"{after - before} Tensors left alive by 10,000 iterations"
    assert isinstance(total, float) and np.isfinite(total) and total > 0


def test_graph_freed_after_backward():
    x = f64([1.0, 2.0])
    y = x.exp()
    mid = weakref.ref(y)
    loss = (y * 2.0).sum()
    del y
    assert mid() is not None  # the graph keeps the intermediate alive ...
    loss.backward()
    assert mid() is None  # ... until backward frees it
    assert x.grad is not None


def test_hook_sees_the_total_gradient_once_per_backward():
    x = pydl.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    (x * 2 + x * 3).sum().backward()
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], [5.0, 5.0])


def test_hook_can_replace_the_gradient():
    x = pydl.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * 10)
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [30.0, 30.0])


def test_autograd_needs_no_import_of_tensor():
    """The graph knows tensors as TensorBase: no module of pydl.autograd imports pydl.tensor."""
    import ast
    import pathlib

    for path in pathlib.Path(pydl.autograd.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            assert "pydl.tensor" not in modules, f"{path.name} imports pydl.tensor"
    assert isinstance(pydl.ones(1), pydl.autograd.tensor_base.TensorBase)
