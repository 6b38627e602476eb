"""Finite-difference checks (pydl.gradcheck, float64) of every differentiable op's backward."""
import numpy as np
import pytest

import pydl


def leaf(shape, seed=0, low=-1.0, high=1.0, positive=False, away_from_zero=False):
    """A small float64 leaf that requires grad, with values chosen to avoid kinks and ties."""
    r = np.random.default_rng(seed)
    a = np.asarray(r.uniform(low, high, size=shape))
    if positive:
        a = np.abs(a) + 0.5
    if away_from_zero:
        a = np.asarray(np.sign(a) * (np.abs(a) + 0.2))
        a[a == 0] = 0.5
    return pydl.tensor(a, dtype=pydl.float64, requires_grad=True)


def distinct(shape, seed=0):
    """Values well apart from each other (no ties for max/min), shuffled."""
    n = int(np.prod(shape))
    r = np.random.default_rng(seed)
    a = (r.permutation(n) * 0.37 - 1.1).reshape(shape)
    return pydl.tensor(a, dtype=pydl.float64, requires_grad=True)


def check(fn, *inputs):
    assert pydl.gradcheck(fn, inputs)


# ---------------------------------------------------------------------- binary arithmetic
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "add_fn": lambda a, b: pydl.add(a, b, alpha=2.5),
    "sub_fn": lambda a, b: pydl.sub(a, b),
    "mul_fn": pydl.mul,
    "div_fn": pydl.div,
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((3,), ())])
def test_binary_tensor_tensor_broadcast(name, shapes):
    a = leaf(shapes[0], seed=1)
    b = leaf(shapes[1], seed=2, away_from_zero=True)
    check(BINARY[name], a, b)


def test_pow_tensor_tensor_broadcast():
    a = leaf((2, 3), seed=3, positive=True)
    b = leaf((3,), seed=4)
    check(lambda x, y: x ** y, a, b)
    check(pydl.pow, a, b)


@pytest.mark.parametrize("fn", [
    lambda x: x + 1.5, lambda x: x - 2, lambda x: x * -3.0, lambda x: x / 1.7, lambda x: x ** 2,
    lambda x: x ** 3.5, lambda x: x ** -0.5, lambda x: pydl.pow(x, 2),
], ids=["add", "sub", "mul", "div", "pow_int", "pow_float", "pow_neg", "pow_fn"])
def test_tensor_scalar(fn):
    check(fn, leaf((2, 3), seed=5, positive=True))


@pytest.mark.parametrize("fn", [
    lambda x: 1.5 + x, lambda x: 2 - x, lambda x: -3.0 * x, lambda x: 1.7 / x, lambda x: 2.0 ** x,
    lambda x: 3 ** x, lambda x: pydl.sub(1.0, x), lambda x: pydl.div(2.0, x), lambda x: pydl.pow(2.5, x),
], ids=["radd", "rsub", "rmul", "rdiv", "rpow_float", "rpow_int", "sub_fn", "div_fn", "pow_fn"])
def test_scalar_tensor_reflected(fn):
    check(fn, leaf((2, 3), seed=6, positive=True))


def test_pow_tensor_exponent_at_zero_base_is_finite():
    # d(a^b)/db at a == 0 is taken as 0 (as PyTorch), not nan.
    a = pydl.tensor([0.0, 2.0], dtype=pydl.float64)
    b = pydl.tensor([2.0, 3.0], dtype=pydl.float64, requires_grad=True)
    (a ** b).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), [0.0, 8.0 * np.log(2.0)])
    c = pydl.tensor([1.0, 2.0], dtype=pydl.float64, requires_grad=True)
    (0.0 ** c).sum().backward()  # a Python-number base
    np.testing.assert_allclose(c.grad.numpy(), [0.0, 0.0])


def test_pow_at_zero_base_follows_pytorch():
    # d/da of a^b is 0 where b == 0 (not 0 * inf = nan at a == 0): polynomial features.
    x = pydl.tensor([0.0, 1.0, 2.0], dtype=pydl.float64, requires_grad=True)
    (x.unsqueeze(1) ** pydl.tensor([0.0, 1.0, 2.0], dtype=pydl.float64)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 3.0, 5.0])
    y = pydl.tensor([0.0, 2.0], dtype=pydl.float64, requires_grad=True)
    (y ** 0).sum().backward()  # a Python-number exponent
    np.testing.assert_array_equal(y.grad.numpy(), [0.0, 0.0])
    # d/db at a == 0: 0 where b >= 0, -inf where b < 0 (a^b log a = inf * -inf)
    b = pydl.tensor([-1.0, 0.0, 2.0], dtype=pydl.float64, requires_grad=True)
    (pydl.zeros(3, dtype=pydl.float64) ** b).sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), [-np.inf, 0.0, 0.0])
    c = pydl.tensor([-1.0, 0.0], dtype=pydl.float64, requires_grad=True)
    (0.0 ** c).sum().backward()
    np.testing.assert_array_equal(c.grad.numpy(), [-np.inf, 0.0])


def test_divisor_gradient_near_overflow_follows_pytorch():
    # d(a/b)/db = -g (a / b) / b, as PyTorch writes it: -g a / b^2 overflowed in g * a first (the op
    # fuzzer's case: -inf from 1.5 * 3e38 plus +inf from the other entry gave nan; PyTorch gives +inf).
    a = pydl.tensor([3e38, -np.inf], requires_grad=True)
    b = pydl.tensor([2.0], requires_grad=True)
    (a / b * pydl.tensor([1.5, 1.0])).sum().backward()
    assert b.grad.numpy().tolist() == [np.inf]
    b.grad = None
    (a[:1] / b * 1.5).sum().backward()
    assert b.grad.numpy()[0] == pytest.approx(-1.5 * 3e38 / 4, rel=1e-6)


@pytest.mark.parametrize("op", [pydl.maximum, pydl.minimum])
def test_maximum_minimum(op):
    a = leaf((2, 3), seed=7)
    b = pydl.tensor(a.detach().numpy() + np.array([[0.3, -0.4, 0.5], [-0.6, 0.2, -0.3]]), requires_grad=True)
    check(op, a, b)
    check(op, leaf((2, 3), seed=8), pydl.tensor([0.15, -0.25, 0.05], dtype=pydl.float64, requires_grad=True))


def test_maximum_tie_splits_gradient():
    a = pydl.tensor([1.0, 2.0], dtype=pydl.float64, requires_grad=True)
    b = pydl.tensor([1.0, 0.0], dtype=pydl.float64, requires_grad=True)
    pydl.maximum(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.5, 1.0])
    np.testing.assert_allclose(b.grad.numpy(), [0.5, 0.0])


# ---------------------------------------------------------------------- unary
UNARY = {
    "neg": (lambda x: -x, {}),
    "neg_fn": (pydl.neg, {}),
    "exp": (pydl.exp, {}),
    "log": (pydl.log, {"positive": True}),
    "sqrt": (pydl.sqrt, {"positive": True}),
    "rsqrt": (pydl.rsqrt, {"positive": True}),
    "abs": (pydl.abs, {"away_from_zero": True}),
    "tanh": (pydl.tanh, {}),
    "sigmoid": (pydl.sigmoid, {}),
    "relu": (pydl.relu, {"away_from_zero": True}),
    "square": (pydl.square, {}),
    "method_exp": (lambda x: x.exp(), {}),
    "method_relu": (lambda x: x.relu(), {"away_from_zero": True}),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name):
    fn, kw = UNARY[name]
    check(fn, leaf((2, 3), seed=9, **kw))


def test_clamp():
    x = pydl.tensor([-1.2, -0.3, 0.1, 0.45, 0.9, 1.7], dtype=pydl.float64, requires_grad=True)
    check(lambda t: pydl.clamp(t, -0.5, 0.5), x)
    check(lambda t: t.clamp(min=0.0), x)
    check(lambda t: t.clamp(max=0.2), x)
    check(lambda t: pydl.clamp(t, min=pydl.tensor(0.2, dtype=pydl.float64)), x)


def test_where():
    a, b = leaf((2, 3), seed=10), leaf((3,), seed=11)
    cond = pydl.tensor([[True, False, True], [False, False, True]])
    check(lambda x, y: pydl.where(cond, x, y), a, b)
    check(lambda x: pydl.where(cond, x, 0.0), a)
    check(lambda y: pydl.where(cond, 1.0, y), b)


# ---------------------------------------------------------------------- reductions
@pytest.mark.parametrize("kwargs", [{}, {"dim": 0}, {"dim": 1}, {"dim": -1, "keepdim": True}, {"dim": (0, 2)},
                                    {"dim": (0, 2), "keepdim": True}])
@pytest.mark.parametrize("op", ["sum", "mean", "var", "std"])
def test_reductions(op, kwargs):
    x = leaf((2, 3, 2), seed=12)
    check(lambda t: getattr(t, op)(**kwargs), x)
    check(lambda t: getattr(pydl, op)(t, **kwargs), x)


def test_var_std_correction():
    x = leaf((3, 4), seed=13)
    check(lambda t: t.var(dim=1, unbiased=False), x)
    check(lambda t: t.std(dim=0, correction=0), x)
    check(lambda t: t.var(correction=2), x)


@pytest.mark.parametrize("op", ["max", "min", "amax", "amin"])
def test_extrema_whole(op):
    check(lambda t: getattr(t, op)(), distinct((2, 3), seed=14))


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("dim,keepdim", [(0, False), (1, False), (-1, True)])
def test_extrema_along_dim(op, dim, keepdim):
    x = distinct((3, 4), seed=15)
    check(lambda t: getattr(t, op)(dim, keepdim=keepdim).values, x)
    check(lambda t: getattr(pydl, op)(t, dim=dim, keepdim=keepdim)[0], x)


@pytest.mark.parametrize("kwargs", [{"dim": 0}, {"dim": 1, "keepdim": True}, {"dim": (0, 1)}])
def test_amax_amin_dims(kwargs):
    x = distinct((3, 4), seed=16)
    check(lambda t: pydl.amax(t, **kwargs), x)
    check(lambda t: t.amin(**kwargs), x)


def test_max_tie_shares_gradient():
    x = pydl.tensor([1.0, 3.0, 3.0], dtype=pydl.float64, requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.5, 0.5])


# ---------------------------------------------------------------------- matmul
@pytest.mark.parametrize("sa,sb", [
    ((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((2, 2, 3), (3, 4)),
    ((3,), (2, 3, 4)), ((2, 2, 3), (2, 3, 1)), ((1, 2, 3), (2, 3, 2)), ((2, 1, 2, 3), (3, 3, 2)),
])
def test_matmul_shapes(sa, sb):
    check(lambda a, b: a @ b, leaf(sa, seed=17), leaf(sb, seed=18))


def test_matmul_transposed_views_and_aliases():
    a, b = leaf((3, 2), seed=19), leaf((4, 3), seed=20)
    check(lambda x, y: x.t() @ y.T, a, b)
    check(lambda x, y: pydl.matmul(y, x).mT, a, b)
    check(lambda x, y: pydl.mm(x.transpose(0, 1), y.permute(1, 0)), a, b)
    c = leaf((2, 3, 4), seed=21)
    check(lambda x: x.transpose(-1, -2) @ x, c)  # the same input on both sides
    v, w = leaf((3,), seed=22), leaf((3,), seed=23)
    check(pydl.dot, v, w)
    check(pydl.outer, v, w)


def test_matmul_only_one_side_requires_grad():
    a = leaf((2, 3), seed=24)
    b = pydl.tensor(np.ones((3, 2)), dtype=pydl.float64)
    check(lambda x: x @ b, a)
    check(lambda x: b.T @ x.T, a)


# ---------------------------------------------------------------------- shapes and views
SHAPE_OPS = {
    "reshape": lambda t: t.reshape(3, 4),
    "reshape_tuple_neg": lambda t: pydl.reshape(t, (-1, 2)),
    "view": lambda t: t.view(4, 3),
    "permute": lambda t: t.reshape(2, 3, 2).permute(2, 0, 1),
    "permute_fn": lambda t: pydl.permute(t.reshape(2, 3, 2), (1, 2, 0)),
    "transpose": lambda t: t.transpose(0, 1),
    "transpose_fn": lambda t: pydl.transpose(t, 1, 0) * 2.0,
    "expand": lambda t: t[:1].expand(3, 4),
    "expand_new_dims": lambda t: t.reshape(3, 1, 4).expand(2, 3, 5, 4),
    "broadcast_to": lambda t: pydl.broadcast_to(t, (2, 3, 4)),
    "squeeze": lambda t: t.reshape(3, 1, 4, 1).squeeze(),
    "squeeze_dim": lambda t: pydl.squeeze(t.reshape(1, 3, 4), 0),
    "unsqueeze": lambda t: t.unsqueeze(1),
    "unsqueeze_neg": lambda t: pydl.unsqueeze(t, -1),
    "flatten": lambda t: t.reshape(3, 2, 2).flatten(),
    "flatten_dims": lambda t: pydl.flatten(t.reshape(3, 2, 2), 1),
    "contiguous": lambda t: t.T.contiguous(),
    "clone": lambda t: t.clone(),
    "view_of_permuted_reshape": lambda t: t.T.reshape(12),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_ops(name):
    check(SHAPE_OPS[name], leaf((3, 4), seed=25))


# ---------------------------------------------------------------------- indexing
GETITEM = {
    "int": lambda t: t[1],
    "neg_int": lambda t: t[-1, 2],
    "slice": lambda t: t[1:3],
    "slice_step": lambda t: t[::2, 1::2],
    "ellipsis_none": lambda t: t[..., None, 1],
    "int_array": lambda t: t[[0, 2, 2]],
    "int_tensor": lambda t: t[pydl.tensor([3, 0, 1])],
    "int_array_col": lambda t: t[:, [1, 2, 1]],
    "pick": lambda t: t[pydl.arange(4), pydl.tensor([1, 0, 2, 1])],
    "pick_lists": lambda t: t[list(range(4)), [2, 2, 0, 1]],
    "pick_negative": lambda t: t[[0, -1], [-1, 0]],
    "bool_mask": lambda t: t[t.detach() > 0],
    "bool_rows": lambda t: t[pydl.tensor([True, False, True, True])],
}


@pytest.mark.parametrize("name", sorted(GETITEM))
def test_getitem(name):
    check(GETITEM[name], leaf((4, 3), seed=26))


def test_getitem_repeated_index_accumulates():
    x = pydl.tensor([1.0, 2.0, 3.0], dtype=pydl.float64, requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 0.0, 1.0])


def test_narrow_split_chunk_unbind():
    x = leaf((5, 3), seed=27)
    check(lambda t: t.narrow(0, 1, 3), x)
    check(lambda t: pydl.narrow(t, 1, 1, 2), x)
    check(lambda t: t.split(2)[2], x)
    check(lambda t: pydl.cat([p * (i + 1) for i, p in enumerate(t.split([1, 3, 1]))]), x)
    check(lambda t: t.chunk(2, dim=1)[0] * 2.0 + t.chunk(2, dim=1)[1].sum(), x)
    check(lambda t: pydl.stack([p * (i + 1) for i, p in enumerate(pydl.chunk(t, 3)[:2])]).sum(0), x)
    check(lambda t: t.unbind(1)[2], x)


def test_cat_stack():
    a, b, c = leaf((2, 3), seed=28), leaf((1, 3), seed=29), leaf((2, 3), seed=30)
    check(lambda x, y: pydl.cat([x, y], 0), a, b)
    check(lambda x, z: pydl.cat([x, z, x], dim=1), a, c)
    check(lambda x, z: pydl.concat((x, z), -1), a, c)
    check(lambda x, z: pydl.stack([x, z]), a, c)
    check(lambda x, z: pydl.stack([x, z], dim=2), a, c)
    const = pydl.ones(1, 3, dtype=pydl.float64)
    check(lambda x: pydl.cat([const, x, const]), a)


def test_gather_scatter_add():
    x = leaf((3, 4), seed=31)
    idx = pydl.tensor([[0, 3, 3], [1, 1, 0], [2, 0, 3]])
    check(lambda t: t.gather(1, idx), x)
    idx0 = pydl.tensor([[0, 2, 1, 0], [2, 2, 0, 1]])
    check(lambda t: pydl.gather(t, 0, idx0), x)
    src = leaf((3, 3), seed=32)
    check(lambda t, s: t.scatter_add(1, idx, s), x, src)
    check(lambda s: pydl.scatter_add(pydl.zeros(3, 4, dtype=pydl.float64), 1, idx, s), src)


def test_index_select_index_add():
    x = leaf((4, 3), seed=33)
    check(lambda t: t.index_select(0, pydl.tensor([3, 1, 1])), x)
    check(lambda t: pydl.index_select(t, 1, [2, 0]), x)
    src = leaf((3, 3), seed=34)
    idx = pydl.tensor([0, 2, 0])
    check(lambda t, s: t.index_add(0, idx, s), x, src)
    check(lambda t, s: pydl.index_add(t, 0, idx, s, alpha=-2.0), x, src)
    src1 = leaf((4, 2), seed=35)
    check(lambda t, s: t.index_add(1, pydl.tensor([2, 2]), s), x, src1)


# ---------------------------------------------------------------------- casts
def test_cast_float64_to_float32_and_back():
    x = leaf((2, 3), seed=36)
    # the float32 round trip limits the finite differences' accuracy
    assert pydl.gradcheck(lambda t: t.to(pydl.float32) * 2.0, (x,), eps=1e-3, atol=1e-3, rtol=1e-2)
    assert pydl.gradcheck(lambda t: t.float().exp().double(), (x,), eps=1e-3, atol=1e-3, rtol=1e-2)
    x.grad = None
    y = x.to(pydl.float32)
    assert y.dtype == pydl.float32 and y.requires_grad
    (y * 3.0).sum().backward()
    assert x.grad.dtype == pydl.float64
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), 3.0))


def test_cast_float32_leaf_grad_keeps_float32():
    w = pydl.ones(2, 2, requires_grad=True)
    (w.double() * pydl.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=pydl.float64)).sum().backward()
    assert w.grad.dtype == pydl.float32
    np.testing.assert_allclose(w.grad.numpy(), [[1, 2], [3, 4]])


def test_to_same_dtype_is_identity():
    x = leaf((2,), seed=37)
    assert x.to(pydl.float64) is x
    assert x.double() is x


# ---------------------------------------------------------------------- a composite
def test_composite_mlp_cross_entropy():
    x = pydl.tensor(np.random.default_rng(38).standard_normal((4, 3)), dtype=pydl.float64)
    w1, w2 = leaf((3, 5), seed=39), leaf((5, 3), seed=40)
    labels = pydl.tensor([0, 2, 1, 2])

    def loss(a, b):
        h = (x @ a).tanh()
        logits = h @ b
        m = logits.amax(dim=1, keepdim=True).detach()
        lse = (logits - m).exp().sum(1).log() + m.squeeze(1)
        return (lse - logits[pydl.arange(4), labels]).mean()

    check(loss, w1, w2)


# ---------------------------------------------------------------------- gradcheck itself
class WrongSquare(pydl.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return x * x

    @staticmethod
    def backward(ctx, g):
        return g * ctx.x  # should be 2 * g * x


class RightSquare(pydl.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.x = x.detach()
        return x.detach() * x.detach()

    @staticmethod
    def backward(ctx, g):
        return g * 2.0 * ctx.x


def test_gradcheck_fails_for_wrong_backward():
    x = leaf((3,), seed=41, away_from_zero=True)
    with pytest.raises(AssertionError, match="gradcheck"):
        pydl.gradcheck(WrongSquare.apply, (x,))
    assert pydl.gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False
    assert pydl.gradcheck(RightSquare.apply, (x,)) is True


def test_gradcheck_rejects_float32_and_no_grad_inputs():
    with pytest.raises(TypeError):
        pydl.gradcheck(lambda t: t * 2, (pydl.ones(2, requires_grad=True),))
    with pytest.raises(ValueError):
        pydl.gradcheck(lambda t: t * 2, (pydl.ones(2, dtype=pydl.float64),))
