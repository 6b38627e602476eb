"""pydl.autograd.grad against torch.autograd.grad (float64): inputs and outputs one or several,
grad_outputs, non-leaf inputs, allow_unused / materialize_grads, retain_graph, .grad and hooks left
alone, the errors; and Tensor.movedim / pydl.movedim against torch.movedim."""
import numpy as np
import pytest

import pydl

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)


def pair(*shape, requires_grad=True):
    a = RNG.standard_normal(shape)
    return (pydl.tensor(a, dtype=pydl.float64, requires_grad=requires_grad),
            torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad))


def check(got, want):
    assert isinstance(got, tuple) and len(got) == len(want)
    for g, w in zip(got, want):
        if w is None:
            assert g is None
        else:
            np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-12, atol=1e-12)


def both(fn, *tensors):
    """fn run on the pydl tensors, then on the torch ones."""
    return fn(pydl, *tensors[0::2]), fn(torch, *tensors[1::2])


def mlp(lib, x, w, b):
    return lib.tanh(x @ w + b)


def test_one_output_several_inputs():
    xp, xt = pair(4, 3)
    wp, wt = pair(3, 2)
    bp, bt = pair(2)
    yp, yt = both(lambda lib, x, w, b: (mlp(lib, x, w, b) ** 2).sum(), xp, xt, wp, wt, bp, bt)
    check(pydl.autograd.grad(yp, [xp, wp, bp]), torch.autograd.grad(yt, [xt, wt, bt]))
    assert xp.grad is None and wp.grad is None and bp.grad is None


def test_one_input_as_a_tensor_and_grad_outputs():
    xp, xt = pair(3, 4)
    gp, gt = pair(3, 4, requires_grad=False)
    got = pydl.autograd.grad(xp.sin() * xp, xp, grad_outputs=gp, retain_graph=True)
    check(got, torch.autograd.grad(xt.sin() * xt, xt, grad_outputs=gt))
    (g32,) = pydl.autograd.grad(xp.sin() * xp, xp, grad_outputs=gp.float())  # cast to the output's dtype
    assert g32.dtype == pydl.float64
    np.testing.assert_allclose(g32.numpy(), got[0].numpy(), rtol=1e-6)


def test_several_outputs_summed_with_their_grad_outputs():
    xp, xt = pair(5)
    wp, wt = pair(5)
    gp, gt = pair(5, requires_grad=False)
    (ap, bp), (at, bt) = both(lambda lib, x, w: ((x * w).sum(), lib.exp(x) * w), xp, xt, wp, wt)
    # the scalar output takes None (ones); one output also feeds the other's input
    got = pydl.autograd.grad([ap, bp, ap * bp], [wp, xp], [None, gp, gp])
    check(got, torch.autograd.grad([at, bt, at * bt], [wt, xt], [None, gt, gt]))


def test_non_leaf_inputs_get_the_total_gradient_flowing_into_them():
    xp, xt = pair(3, 3)
    wp, wt = pair(3, 3)
    hp, ht = xp @ wp, xt @ wt
    yp, yt = both(lambda lib, h: (h.relu() * h + h.sum(0)).sum(), hp, ht)  # h feeds three nodes
    check(pydl.autograd.grad(yp, [hp, xp, hp]), torch.autograd.grad(yt, [ht, xt, ht]))


def test_an_output_that_is_an_input():
    xp, xt = pair(2, 3)
    gp, gt = pair(2, 3, requires_grad=False)
    check(pydl.autograd.grad(xp, xp, gp), torch.autograd.grad(xt, xt, gt))
    hp, ht = xp * 2, xt * 2
    check(pydl.autograd.grad([hp, hp.sum()], [hp, xp], [gp, None]), torch.autograd.grad([ht, ht.sum()], [ht, xt],
                                                                                           [gt, None]))


def test_loss_seeded_implicitly_matches_torch():
    xp, xt = pair(6, 4)
    labels = RNG.integers(0, 4, 6)
    lp = pydl.nn.functional.cross_entropy(xp, pydl.tensor(labels))
    lt = torch.nn.functional.cross_entropy(xt, torch.tensor(labels))
    check(pydl.autograd.grad(lp, xp), torch.autograd.grad(lt, xt))


def test_allow_unused_and_materialize_grads():
    xp, xt = pair(3)
    up, ut = pair(2, 2)
    with pytest.raises(RuntimeError, match=r"autograd.grad: input 1 was not used .*allow_unused=True"):
        pydl.autograd.grad((xp * 2).sum(), [xp, up])
    check(pydl.autograd.grad((xp * 2).sum(), [xp, up], allow_unused=True),
          torch.autograd.grad((xt * 2).sum(), [xt, ut], allow_unused=True))
    got = pydl.autograd.grad((xp * 2).sum(), [xp, up], materialize_grads=True)
    check(got, torch.autograd.grad((xt * 2).sum(), [xt, ut], materialize_grads=True))
    assert got[1].dtype == pydl.float64 and tuple(got[1].shape) == (2, 2)
    with pytest.raises(ValueError, match="materialize_grads"):
        pydl.autograd.grad((xp * 2).sum(), [xp, up], allow_unused=False, materialize_grads=True)


def test_retain_graph():
    xp, xt = pair(4)
    y = (xp.exp() * xp).sum()
    first = pydl.autograd.grad(y, xp, retain_graph=True)
    check(pydl.autograd.grad(y, xp), first)  # retained: a second walk works, and this one frees it
    with pytest.raises(RuntimeError, match=r"autograd.grad: .*second time.*retain_graph=True"):
        pydl.autograd.grad(y, xp)
    y = (xp.exp() * xp).sum()
    pydl.autograd.grad(y, xp)  # retain_graph defaults to create_graph: False
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_grad_then_backward_on_a_retained_graph():
    xp, _ = pair(3)
    y = (xp * xp).sum()
    (g,) = pydl.autograd.grad(y, xp, retain_graph=True)
    assert xp.grad is None
    y.backward()
    np.testing.assert_allclose(xp.grad.numpy(), g.numpy())


def test_grad_and_hooks_of_leaves_as_torch():
    """.grad and post-accumulate hooks are left alone; register_hook hooks of an input leaf see its total
    gradient and may replace it (as torch); a leaf that is not an input runs none."""
    xp, xt = pair(3)
    wp, wt = pair(3)
    post, seen = [], []
    for x in (xp, xt):
        x.register_hook(lambda g: g * 10)
        x.register_post_accumulate_grad_hook(post.append)
    wp.register_hook(seen.append)
    wt.register_hook(seen.append)
    yp, yt = both(lambda lib, x, w: (x * w + x).sum(), xp, xt, wp, wt)
    check(pydl.autograd.grad(yp, [xp, xp]), torch.autograd.grad(yt, [xt, xt]))
    assert post == [] and seen == []
    assert xp.grad is None and wp.grad is None


def test_only_nodes_on_a_path_to_an_input_run():
    calls = []

    class Noted(pydl.Function):
        @staticmethod
        def forward(ctx, x, tag):
            ctx.tag = tag
            return x.detach() * 1.0

        @staticmethod
        def backward(ctx, g):
            calls.append(ctx.tag)
            return g, None

    x, _ = pair(2)
    w, _ = pair(2)
    h = Noted.apply(x, "h")
    y = (Noted.apply(h, "to x") * Noted.apply(w, "to w only")).sum()
    pydl.autograd.grad(y, x, retain_graph=True)  # (a walk through a freed node raises, even one not run)
    assert sorted(calls) == ["h", "to x"]
    calls.clear()
    pydl.autograd.grad(Noted.apply(h, "above h").sum(), h)  # h's own node need not run
    assert calls == ["above h"]


def test_works_under_no_grad_and_inside_a_backward():
    xp, xt = pair(3)
    y = (xp * xp).sum()
    with pydl.no_grad():
        check(pydl.autograd.grad(y, xp), (2 * xt.detach(),))
    z = (xp * 3).sum()
    w, _ = pair(3)
    inner, done = [], []

    def hook(t):
        inner.append(pydl.autograd.grad(z, xp)[0])
        pydl.autograd.function.queue_callback(lambda: done.append(True))  # the outer backward's, still

    w.register_post_accumulate_grad_hook(hook)
    (w * 2).sum().backward()
    np.testing.assert_allclose(inner[0].numpy(), [3.0] * 3)
    assert done == [True] and xp.grad is None


def test_errors():
    xp, _ = pair(3)
    with pytest.raises(RuntimeError, match=r"autograd.grad: grad can be implicitly created only for scalar "
                                           r"outputs; output 0 has shape \(3,\)"):
        pydl.autograd.grad(xp * 2, xp)
    with pytest.raises(NotImplementedError, match="first-order gradients only"):
        pydl.autograd.grad((xp * 2).sum(), xp, create_graph=True)
    c, _ = pair(3, requires_grad=False)
    with pytest.raises(RuntimeError, match="autograd.grad: input 1 does not require grad"):
        pydl.autograd.grad((xp * c).sum(), [xp, c])
    with pytest.raises(RuntimeError, match="autograd.grad: output 0 does not require grad"):
        pydl.autograd.grad(c.sum(), xp)
    with pytest.raises(RuntimeError, match="got 1 outputs and 2 grad_outputs"):
        pydl.autograd.grad((xp * 2).sum(), xp, [None, None])
    with pytest.raises(RuntimeError, match=r"grad_outputs\[0\] has shape \(2,\), but output 0 has shape \(3,\)"):
        pydl.autograd.grad(xp * 2, xp, pydl.ones(2, dtype=pydl.float64))
    with pytest.raises(TypeError, match=r"grad_outputs\[0\] must be a Tensor or None"):
        pydl.autograd.grad(xp * 2, xp, [1.0])
    with pytest.raises(TypeError, match=r"autograd.grad: inputs\[1\] is a str"):
        pydl.autograd.grad((xp * 2).sum(), [xp, "w"])
    with pytest.raises(RuntimeError, match="inputs cannot be empty"):
        pydl.autograd.grad((xp * 2).sum(), [])
    assert pydl.autograd.grad is pydl.autograd.function.grad


# ---------------------------------------------------------------------- movedim
@pytest.mark.parametrize("source, destination", [
    (0, -1), (-1, 0), (1, 1), ((0, 1), (-1, 0)), ([0, 2], [3, 1]), ((), ()), ((3, 2, 1, 0), (0, 1, 2, 3)),
])
def test_movedim_matches_torch(source, destination):
    xp, xt = pair(2, 3, 4, 5)
    yp, yt = xp.movedim(source, destination), torch.movedim(xt, source, destination)
    assert tuple(yp.shape) == tuple(yt.shape)
    np.testing.assert_array_equal(yp.detach().numpy(), yt.detach().numpy())
    assert yp.data_ptr() == xp.data_ptr()  # a view
    gp, gt = pair(*yt.shape, requires_grad=False)
    check(pydl.autograd.grad(pydl.movedim(xp, source, destination), xp, gp), torch.autograd.grad(yt, xt, gt))


def test_movedim_of_a_scalar_and_errors():
    s = pydl.tensor(2.0)
    assert s.movedim(0, -1).item() == 2.0 and s.movedim(0, -1).dim() == 0
    x = pydl.zeros(2, 3)
    with pytest.raises(IndexError, match="movedim: source dim 2 is out of range for a tensor of 2 dimension"):
        x.movedim(2, 0)
    with pytest.raises(IndexError, match="movedim: destination dim -3 is out of range"):
        x.movedim(0, -3)
    with pytest.raises(RuntimeError, match=r"movedim: repeated dim in source \(0, -2\)"):
        x.movedim((0, -2), (0, 1))
    with pytest.raises(RuntimeError, match="movedim: source has 2 dims but destination has 1"):
        x.movedim((0, 1), (1,))
    with pytest.raises(TypeError, match="movedim: destination must be an int or a sequence of ints"):
        x.movedim(0, 1.0)
