"""Fuzzing of op chains: hypothesis builds random chains of 1-4 ops (elementwise, reductions,
shape ops and views, matmul, softmax, where, indexing, cat/stack) on random shapes (0- and
1-sized dims included), strided / transposed / expanded inputs, broadcast operands, mixed
float32 / float64 / int64 dtypes and extreme values (huge, subnormal, +-inf, signed zeros).

Every op's result is checked against numpy computed in float64 from the op's actual inputs
(rounded to the result dtype, a few ulps of tolerance, error bounds for sums); at the end the
gradients of ``(out * w).sum()`` (w: fixed random weights in [0.5, 1.5], so that a sum that is
constant in exact arithmetic, such as that of a softmax, does not leave gradients of pure
rounding noise) are compared with PyTorch's, computed in float64 with every intermediate
rounded to pydl's dtype (skipped when torch is missing).

CI runs a fixed, small set of examples. For a long run (no deadline, many examples, a new
random set on each run):  PYDL_FUZZ_LONG=1 pytest tests/test_fuzz_ops.py
and PYDL_FUZZ_EXAMPLES=N sets the number of examples per test explicitly.
"""
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pydl
import pydl.nn.functional as F

try:
    import torch
except ImportError:  # forward checks still run
    torch = None

LONG = os.environ.get("PYDL_FUZZ_LONG", "") not in ("", "0")


@pytest.fixture(autouse=True, scope="module")
def ieee_denormals():
    """The references keep denormal floats, so pydl does here too (its default flush to zero is
    tested in test_denormals.py)."""
    pydl.set_flush_denormal(False)
    yield
    pydl.set_flush_denormal(True)


def fuzz_settings(ci_examples):
    """CI: few, fixed examples. PYDL_FUZZ_LONG=1: many random ones, no deadline."""
    n = int(os.environ.get("PYDL_FUZZ_EXAMPLES", 0)) or (200 * ci_examples if LONG else ci_examples)
    return settings(max_examples=n, deadline=None, derandomize=not LONG, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


F32, F64, I64 = pydl.float32, pydl.float64, pydl.int64
EPS = {F32: float(np.finfo(np.float32).eps), F64: float(np.finfo(np.float64).eps)}
TORCH = {F32: "float32", F64: "float64", I64: "int64"}
SIZES = [2, 1, 3, 0, 4]  # hypothesis shrinks towards 2


def promote(*dtypes):
    """PyTorch's promotion between tensors of pydl's three dtypes here."""
    return F64 if F64 in dtypes else F32 if F32 in dtypes else I64


def check(got, want, rtol, atol, what):
    """got (pydl, or numpy) against want (numpy, already rounded to got's dtype): infs and nans where
    want has them, elsewhere |got - want| <= atol + rtol |want|. atol may be an array; +inf marks
    entries whose float32/64 value is not determined (a sum whose partial sums may overflow)."""
    g = got if isinstance(got, np.ndarray) else got.detach().cpu().numpy()
    assert g.shape == want.shape, f"{what}: shape {g.shape}, expected {want.shape}"
    if want.dtype.kind in "iub":
        np.testing.assert_array_equal(g, want, err_msg=what)
        return
    g = g.astype(np.float64)
    atol = np.broadcast_to(atol, want.shape)
    free = np.isposinf(atol)
    atol = np.where(np.isfinite(atol), atol, 0.0)
    ok = free | (g == want) | (np.isnan(g) & np.isnan(want))
    ok |= np.isfinite(want) & (np.abs(g - want) <= atol + rtol * np.abs(want))
    if not ok.all():
        bad = np.argwhere(~ok)[:5]
        pairs = ", ".join(f"{tuple(i)}: {g[tuple(i)]!r} vs {want[tuple(i)]!r}" for i in bad)
        raise AssertionError(f"{what}: {int((~ok).sum())} of {ok.size} values differ (got vs numpy) at {pairs}")


def sum_bound(abs_sum, count, dtype):
    """Error bound of a float sum of count terms whose finite |terms| add up to abs_sum; +inf
    (undetermined) where a partial sum may overflow the dtype."""
    if dtype == I64:
        return 0.0
    fi = np.finfo(dtype.numpy)
    return np.where(abs_sum > fi.max, np.inf, (abs_sum * EPS[dtype] + fi.smallest_subnormal) * (count + 2))


def finite_abs(a):
    return np.where(np.isfinite(a), np.abs(a), 0.0) if a.dtype.kind == "f" else np.abs(a)


class V:
    """A value of the chain: the pydl tensor and its PyTorch twins (empty without torch): one
    computed in float64 and rounded to pydl's dtype after each op, one in pydl's dtypes."""

    def __init__(self, x, ts):
        self.x, self.ts = x, ts

    @property
    def dtype(self):
        return self.x.dtype

    @property
    def shape(self):
        return tuple(self.x.shape)

    def np(self, as_dtype=None):
        """The values as numpy: float64 (exact) or int64; ints as_dtype float are first rounded to it,
        as the op does."""
        a = self.x.detach().cpu().numpy()
        if as_dtype is not None and as_dtype != I64:
            a = a.astype(as_dtype.numpy)
        return a.astype(np.float64) if a.dtype.kind == "f" else a.astype(np.int64)


class Chain:
    """Draws leaves and op parameters, applies ops to pydl and torch, checks each result."""

    def __init__(self, data):
        self.draw = data.draw
        self.rng = np.random.default_rng(self.draw(st.integers(0, 2**32 - 1), label="seed"))
        self.leaves = []  # (pydl leaf, torch leaf) for the gradient check
        self.inner = []  # the torch twins (float64) of the leaves' views and results in between
        self.float32 = False  # a float32 leaf or result anywhere: gradients hold float32's accuracy
        self.log = []
        self.nan_pick = False  # maximum, minimum or max() got a nan input
        self.undetermined = False  # float32/64 leave a result open (a sum that may overflow, a zero's sign)

    # ---------------------------------------------------------------- leaves
    def values(self, shape, dtype, kind):
        rng = self.rng
        if dtype == I64:
            hi = 2**20 if kind == "large" else 50
            return np.asarray(rng.integers(-hi, hi + 1, size=shape))
        n = rng.standard_normal(shape) * 2
        if kind == "positive":
            a = rng.uniform(0.25, 4.0, shape)
        elif kind == "divisor":  # bounded away from 0: no error amplification
            a = np.sign(n + 1e-300) * rng.uniform(0.5, 4.0, shape)
        elif kind == "large":
            a = np.sign(n) * 10.0 ** rng.uniform(10, 30, shape)
        elif kind == "tiny":  # down into float32's subnormals
            a = n * 10.0 ** -rng.uniform(15, 40, shape)
        elif kind == "special":  # some entries +-inf, +-0, huge, tiny
            specials = np.array([np.inf, -np.inf, 0.0, -0.0, 1e30, -1e-40, 88.0, -104.0])
            a = np.where(rng.random(shape) < 0.3, rng.choice(specials, size=shape), n)
        else:
            a = n
        return np.asarray(a).astype(dtype.numpy)

    def leaf(self, shape, dtype, kind=None):
        """A fresh operand of this shape: contiguous, or a transposed, strided or expanded view of a leaf."""
        shape = tuple(shape)
        if kind is None:
            kind = self.draw(st.sampled_from(["normal", "positive", "large", "tiny", "special"]), label="kind")
        layout = self.draw(st.sampled_from(["contiguous", "transposed", "strided", "expanded"]), label="layout")
        nd = len(shape)
        if layout == "transposed" and nd >= 2:
            perm = list(self.rng.permutation(nd))
            base_shape, view = [shape[p] for p in perm], ("permute", list(np.argsort(perm)))
        elif layout == "strided" and nd >= 1:
            base_shape, view = [2 * s + 1 for s in shape], ("slice", None)
        elif layout == "expanded" and nd >= 1:
            ones = self.rng.random(nd) < 0.5
            base_shape, view = [1 if o else s for o, s in zip(ones, shape)], ("expand", list(shape))
        else:
            base_shape, view = list(shape), None
        base = self.values(base_shape, dtype, kind)
        grad = dtype != I64
        self.float32 |= dtype == F32
        x = pydl.tensor(base, requires_grad=grad)
        t = None if torch is None else torch.tensor(base, requires_grad=grad)
        if grad:
            self.leaves.append((x, t))
        ts = [x] if t is None else [x, t, t]
        if view and view[0] == "permute":
            ts = [a.permute(*view[1]) for a in ts]
        elif view and view[0] == "slice":
            ts = [a[tuple(slice(1, None, 2) for _ in shape)] for a in ts]
        elif view:
            ts = [a.expand(*view[1]) for a in ts]
        out = V(ts[0], ts[1:])
        assert out.shape == shape
        if grad and t is not None:
            self.inner.append(ts[1])  # the gradient of an expanded view holds the terms its leaf's sums
        return out

    def operand_shape(self, shape, wide=True):
        """A shape that broadcasts with shape (dims dropped, set to 1, or stretching a 1)."""
        out = []
        for s in shape:
            c = self.draw(st.sampled_from(["same", "one", "wide"] if wide else ["same", "one"]), label="bcast")
            if c == "wide" and s == 1:
                s = self.draw(st.sampled_from([2, 3]), label="n")
            out.append(1 if c == "one" else s)
        drop = self.draw(st.integers(0, len(out)), label="drop")
        out = out[drop:]
        if drop == 0 and self.draw(st.booleans(), label="lead"):  # a new leading dim
            out = [self.draw(st.sampled_from([1, 2]), label="n")] + out
        return tuple(out)

    def dtype(self, floats_only=False):
        return self.draw(st.sampled_from([F32, F64] if floats_only else [F32, F64, I64]), label="dtype")

    def ill_conditioned(self, *operands):
        """Gradients through a product or a softmax of values this large are ill-conditioned (a
        saturated softmax times 1e30, say): rounding alone moves them beyond any fixed tolerance,
        differently in every library, so only the values are compared."""
        self.undetermined |= any(finite_abs(a).max(initial=0.0) > 1e6 for a in operands)

    # ---------------------------------------------------------------- applying ops
    def apply(self, name, fn, ins, ref, out_dtype, rtol_ulps=0.0, atol=0.0, tfn=None):
        """out = fn(*pydl inputs), checked against ref (numpy in float64 from the same inputs) rounded
        to out_dtype; the torch twins: tfn (or fn) in float64 rounded to out_dtype, and in pydl's dtypes."""
        self.log.append(name)
        self.undetermined |= bool(np.isposinf(atol).any())
        self.float32 |= out_dtype == F32
        xs = [v.x if isinstance(v, V) else v for v in ins]
        out = fn(*xs)
        assert out.dtype == out_dtype, f"{name}: dtype {out.dtype}, expected {out_dtype}"
        want = np.asarray(ref).astype(out_dtype.numpy)
        eps = EPS.get(out_dtype, 0.0)
        check(out, want.astype(np.float64) if out_dtype != I64 else want, rtol_ulps * eps, atol, " -> ".join(self.log))
        ts = []
        if torch is not None:
            tdtype = getattr(torch, TORCH[out_dtype])
            wide = [v.ts[0] if not isinstance(v, V) or v.dtype == I64 else v.ts[0].double() for v in ins]
            native = [v.ts[1] if isinstance(v, V) else v for v in ins]
            ts = [(tfn or fn)(*wide).to(tdtype), (tfn or fn)(*native).to(tdtype)]
            if ts[0].requires_grad:
                self.inner.append(ts[0])
        if name.startswith(PICKS):
            self.nan_pick |= any(isinstance(v, V) and v.dtype != I64 and np.isnan(v.np()).any() for v in ins)
        return V(out, ts)


def lib(x):
    """pydl for a pydl tensor, torch for its twins."""
    return pydl if isinstance(x, pydl.Tensor) else torch


def _np_softmax(a, d):
    z = a - a.max(axis=d, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=d, keepdims=True), z


# ---------------------------------------------------------------------- the ops
UNARY = {  # name: (f on pydl/torch tensors, numpy f, domain, ulps)
    "exp": (lambda a: a.exp(), np.exp, "float", 4),
    "log": (lambda a: a.log(), np.log, "positive", 4),
    "tanh": (lambda a: a.tanh(), np.tanh, "float", 4),
    "sigmoid": (lambda a: a.sigmoid(), lambda a: 1.0 / (1.0 + np.exp(-a)), "float", 4),
    "sqrt": (lambda a: a.sqrt(), np.sqrt, "nonnegative", 1),
    "relu": (lambda a: a.relu(), lambda a: np.maximum(a, 0), "any", 0),
    "abs": (lambda a: a.abs(), np.abs, "any", 0),
    "neg": (lambda a: -a, np.negative, "any", 0),
}


def op_unary(c, v):
    a = v.np()
    names = [n for n, (_, _, dom, _) in UNARY.items()
             if dom == "any" or (v.dtype != I64 and (dom == "float" or (dom == "positive" and (a > 0).all())
                                                      or (dom == "nonnegative" and (a >= 0).all())))]
    name = c.draw(st.sampled_from(names), label="unary")
    f, nf, _, ulps = UNARY[name]
    tiny = np.finfo(v.dtype.numpy).tiny if ulps and v.dtype != I64 else 0.0  # subnormal results may flush
    # a zero's sign, which sums may set either way, decides the sign of an infinite gradient here
    c.undetermined |= name in ("sqrt", "log") and bool((a == 0).any())
    return c.apply(name, f, [v], nf(a), v.dtype, ulps, atol=tiny)


BINARY = {"add": (lambda a, b: a + b, np.add), "sub": (lambda a, b: a - b, np.subtract),
          "mul": (lambda a, b: a * b, np.multiply), "div": (lambda a, b: a / b, np.divide),
          "maximum": (lambda a, b: a.maximum(b), np.maximum), "minimum": (lambda a, b: a.minimum(b), np.minimum)}


def op_binary(c, v):
    name = c.draw(st.sampled_from(sorted(BINARY)), label="binary")
    f, nf = BINARY[name]
    how = c.draw(st.sampled_from(["tensor", "scalar", "itself"]), label="operand")
    if how == "itself" and name != "div":  # both inputs the same tensor: gradients from two paths
        return c.apply(f"{name}(x, x)", f, [v, v], nf(v.np(), v.np()), v.dtype)
    if how == "scalar" and name not in ("maximum", "minimum"):
        s = c.draw(st.sampled_from([2, -3, 0.5, -1.25, 1e20, 3e-39]), label="scalar")
        out_dtype = v.dtype if v.dtype != I64 or (isinstance(s, int) and name != "div") else F32
        # a Python scalar takes the tensor's dtype, as in PyTorch
        ref = nf(v.np(out_dtype), np.float64(out_dtype.numpy.type(s))) if out_dtype != I64 else nf(v.np(), s)
        return c.apply(f"{name}(x, {s})", lambda a: f(a, s), [v], ref, out_dtype)
    dt = c.dtype() if name != "div" else c.dtype(floats_only=True)
    w = c.leaf(c.operand_shape(v.shape), dt, "divisor" if name == "div" else None)
    out_dtype = promote(v.dtype, dt)
    if name == "div":  # chain / operand (true division, floats)
        return c.apply(f"div{w.shape}", f, [v, w], nf(v.np(out_dtype), w.np()), out_dtype)
    ins = [v, w] if c.draw(st.booleans(), label="order") else [w, v]
    return c.apply(f"{name}{w.shape}", f, ins, nf(ins[0].np(out_dtype), ins[1].np(out_dtype)), out_dtype)


def op_reduce(c, v):
    nd = len(v.shape)
    name = c.draw(st.sampled_from(["sum", "mean", "max"] if v.dtype != I64 else ["sum", "max"]), label="reduce")
    dim = c.draw(st.one_of(st.none(), st.integers(-nd, nd - 1)) if nd else st.none(), label="dim")
    keep = c.draw(st.booleans(), label="keepdim")
    a, axis = v.np(), dim
    if name == "max":
        empty = a.size == 0 if dim is None else a.shape[dim] == 0
        if empty:  # no identity: an IndexError, as in PyTorch
            with pytest.raises((IndexError, ValueError, RuntimeError)):
                v.x.max() if dim is None else v.x.max(dim=dim)
            return None
        if dim is None:
            return c.apply("max()", lambda x: x.max(), [v], a.max(), v.dtype)
        out = c.apply(f"max({dim}, keepdim={keep})", lambda x: x.max(dim=dim, keepdim=keep).values, [v],
                      a.max(axis=dim, keepdims=keep), v.dtype)
        idx = v.x.max(dim=dim, keepdim=True).indices.numpy()  # must point at a maximum
        picked = np.take_along_axis(a, idx, axis=dim)
        want = a.max(axis=dim, keepdims=True)
        assert ((picked == want) | np.isnan(want)).all(), f"max({dim}).indices point at non-maxima"
        return out
    kw = {"dim": dim, "keepdim": keep}
    fn = (lambda x: x.sum(**kw)) if name == "sum" else (lambda x: x.mean(**kw))
    count = a.size if dim is None else a.shape[dim]
    bound = sum_bound(finite_abs(a).sum(axis=axis, keepdims=keep), count, v.dtype)
    ref = a.sum(axis=axis, keepdims=keep)
    if name == "mean":
        ref, bound = ref / count if count else ref * np.nan, bound / max(count, 1)
    return c.apply(f"{name}({dim}, keepdim={keep})", fn, [v], ref, v.dtype, 2, atol=bound)


def op_shape(c, v):
    shape, nd = v.shape, len(v.shape)
    kinds = ["reshape", "unsqueeze", "squeeze"] + (["transpose", "permute"] if nd >= 1 else [])
    kind = c.draw(st.sampled_from(kinds), label="shape_op")
    a = v.np()
    if kind == "reshape":
        n = a.size
        new = list(c.draw(st.lists(st.sampled_from([1, 2, 3, 0]), max_size=3), label="dims"))
        known = int(np.prod(new)) if new else 1
        if n == 0 and 0 not in new:
            new.append(0)
        elif n and (known == 0 or n % known):
            new = [n]
        else:
            new.append(n // known if n else 1)
        if n and c.draw(st.booleans(), label="minus1"):
            new[c.draw(st.integers(0, len(new) - 1), label="at")] = -1
        return c.apply(f"reshape{tuple(new)}", lambda x: x.reshape(tuple(new)), [v], a.reshape(new), v.dtype)
    if kind == "unsqueeze":
        d = c.draw(st.integers(-nd - 1, nd), label="d")
        return c.apply(f"unsqueeze({d})", lambda x: x.unsqueeze(d), [v], np.expand_dims(a, d), v.dtype)
    if kind == "squeeze":
        d = c.draw(st.none() | st.integers(-nd, nd - 1), label="d") if nd else None
        ref = np.squeeze(a) if d is None else (np.squeeze(a, d) if shape[d] == 1 else a)
        return c.apply(f"squeeze({d})", lambda x: x.squeeze() if d is None else x.squeeze(d), [v], ref, v.dtype)
    if kind == "transpose":
        d0, d1 = c.draw(st.integers(-nd, nd - 1), label="d0"), c.draw(st.integers(-nd, nd - 1), label="d1")
        return c.apply(f"transpose({d0}, {d1})", lambda x: x.transpose(d0, d1), [v], np.swapaxes(a, d0, d1), v.dtype)
    perm = list(c.draw(st.permutations(range(nd)), label="perm"))
    return c.apply(f"permute{tuple(perm)}", lambda x: x.permute(*perm), [v], a.transpose(perm), v.dtype)


def op_view(c, v):
    """Views: a stepped slice, an int, an int array (list, numpy or pydl) on one dim; expand."""
    shape, nd, a = v.shape, len(v.shape), v.np()
    kind = c.draw(st.sampled_from(["slice", "expand", "int", "array"] if nd else ["expand"]), label="view")
    if kind == "expand":
        new = [c.draw(st.sampled_from([2, 3, 1]), label="n") if s == 1 else s for s in shape]
        new = [c.draw(st.sampled_from([2, 1]), label="n")] * c.draw(st.integers(0, 1), label="lead") + new
        return c.apply(f"expand{tuple(new)}", lambda x: x.expand(tuple(new)), [v], np.broadcast_to(a, new), v.dtype)
    d = c.draw(st.integers(0, nd - 1), label="d")
    n, pre = shape[d], (slice(None),) * d
    if kind == "slice":
        lo = c.draw(st.sampled_from([None, 0, 1, -2, -n - 1]), label="lo")
        hi = c.draw(st.sampled_from([None, -1, n + 2, 1]), label="hi")
        step = c.draw(st.sampled_from([1, 2, 3, None]), label="step")
        ix = pre + (slice(lo, hi, step),)
        return c.apply(f"[{ix}]", lambda x: x[ix], [v], a[ix], v.dtype)
    if n == 0:
        return v
    if kind == "int":
        i = c.draw(st.integers(-n, n - 1), label="i")
        return c.apply(f"[{pre + (i,)}]", lambda x: x[pre + (i,)], [v], a[pre + (i,)], v.dtype)
    k = c.draw(st.sampled_from([(3,), (0,), (2, 2), (1,)]), label="index_shape")
    idx = c.rng.integers(-n, n, size=k)
    form = c.draw(st.sampled_from(["numpy", "list", "tensor"] if idx.size else ["numpy", "tensor"]),
                  label="index_form")  # an empty list: see test_index_with_empty_list
    p_idx = {"numpy": idx, "list": idx.tolist(), "tensor": pydl.tensor(idx)}[form]
    t_idx = None if torch is None else torch.from_numpy(idx)
    return c.apply(f"[{pre}, {form} {idx.tolist()}]", lambda x: x[pre + (p_idx if lib(x) is pydl else t_idx,)],
                   [v], a[pre + (idx,)], v.dtype)


def op_matmul(c, v):
    shape = v.shape
    k = shape[-1]
    m = c.draw(st.sampled_from([None, 2, 1, 0, 3]), label="m")
    other = (k,) if m is None else (k, m)
    if len(shape) >= 2 and m is not None and c.draw(st.booleans(), label="batched"):
        b = shape[-3] if len(shape) >= 3 else 2
        other = (c.draw(st.sampled_from([1, b]), label="b"),) + other
    w = c.leaf(other, v.dtype)
    a, b = v.np(), w.np()
    c.ill_conditioned(a, b)
    bound = sum_bound(finite_abs(a) @ finite_abs(b), k, v.dtype)
    return c.apply(f"matmul{other}", lambda x, y: x @ y, [v, w], a @ b, v.dtype, 2, atol=bound)


def op_softmax(c, v):
    nd = len(v.shape)
    d = c.draw(st.integers(-nd, nd - 1), label="d")
    log = c.draw(st.booleans(), label="log")
    a = v.np()
    c.ill_conditioned(a)
    y, z = _np_softmax(a, d) if a.size else (a, a)
    spread = finite_abs(z) + np.log(max(v.shape[d], 1)) + 1  # error of exp / log grows with |x - max|
    eps = EPS[v.dtype]
    if log:
        ref = z - np.log(np.exp(z).sum(axis=d, keepdims=True))
        return c.apply(f"log_softmax({d})", lambda x: F.log_softmax(x, dim=d), [v], ref, v.dtype, 4,
                       atol=8 * eps * spread, tfn=lambda t: torch.log_softmax(t, dim=d))
    return c.apply(f"softmax({d})", lambda x: F.softmax(x, dim=d), [v], y, v.dtype, 0,
                   atol=8 * eps * spread * y + 4 * eps, tfn=lambda t: torch.softmax(t, dim=d))


def op_where(c, v):
    cshape = c.operand_shape(v.shape, wide=False)
    cond = np.asarray(c.rng.random(cshape) < 0.5)
    dt = c.dtype()
    w = c.leaf(c.operand_shape(v.shape), dt)
    ins = [v, w] if c.draw(st.booleans(), label="order") else [w, v]
    out_dtype = promote(v.dtype, dt)
    ref = np.where(cond, ins[0].np(out_dtype), ins[1].np(out_dtype))

    def fn(x, y):
        return lib(x).where(lib(x).tensor(cond), x, y)
    return c.apply(f"where{cshape}", fn, ins, ref, out_dtype)


def op_join(c, v):
    nd, shape = len(v.shape), v.shape
    stack = nd == 0 or c.draw(st.booleans(), label="stack")
    d = c.draw(st.integers(-nd - 1, nd) if stack else st.integers(-nd, nd - 1), label="d")
    others = []
    for _ in range(c.draw(st.integers(1, 2), label="count")):
        s = list(shape)
        if not stack:
            s[d] = c.draw(st.sampled_from([1, 0, 2]), label="n")
        others.append(c.leaf(s, v.dtype))
    ins = [v] + others
    arrays = [w.np() for w in ins]
    if stack:
        return c.apply(f"stack(dim={d})", lambda *xs: lib(xs[0]).stack(xs, dim=d), ins, np.stack(arrays, axis=d),
                       v.dtype)
    return c.apply(f"cat(dim={d})", lambda *xs: lib(xs[0]).cat(xs, dim=d), ins, np.concatenate(arrays, axis=d),
                   v.dtype)


PICKS = ("maximum", "minimum", "max()")
OPS = {"unary": op_unary, "binary": op_binary, "reduce": op_reduce, "shape": op_shape, "view": op_view,
       "matmul": op_matmul, "softmax": op_softmax, "where": op_where, "join": op_join}


def applicable(v):
    names = ["unary", "binary", "reduce", "shape", "view", "where", "join"]
    if v.dtype != I64 and v.shape:
        names += ["matmul", "softmax"]
    return names


# ---------------------------------------------------------------------- the tests
def assert_grads_match_torch(c, out):
    """pydl's gradients of (out * w).sum() equal PyTorch's in float64 (intermediates rounded to pydl's
    dtypes) to rtol, or PyTorch's in pydl's own dtypes: where an intermediate overflows only in
    float32 (inf * 0 in a backward), the float64 twin has no nan but float32 arithmetic has."""
    if torch is None or not c.leaves or not out.dtype.is_floating_point:
        return
    if c.nan_pick:  # where the gradient of a nan maximum goes is a convention; pydl's is not PyTorch's
        return
    if c.undetermined:  # pydl and torch may both be right and still differ (inf vs nan, say)
        return
    w = c.rng.uniform(0.5, 1.5, out.shape).astype(out.dtype.numpy)
    (out.x * pydl.tensor(w)).sum().backward()
    leaves = [t for _, t in c.leaves]
    losses = [(t * torch.from_numpy(w)).sum() for t in out.ts]
    wants64 = torch.autograd.grad(losses[0], leaves + c.inner, allow_unused=True)
    natives = torch.autograd.grad(losses[1], leaves, allow_unused=True)
    # The gradients flowing in between: a leaf's gradient may be a small difference of terms that large.
    inner_scale = max((_scale(g) for g in wants64[len(leaves):] if g is not None), default=0.0)
    for i, (x, _) in enumerate(c.leaves):
        what = f"grad of leaf {i} {tuple(x.shape)} {x.dtype.name} after " + " -> ".join(c.log)
        want64, native = wants64[i], natives[i]
        assert (x.grad is None) == (want64 is None), f"{what}: pydl grad {x.grad}, torch grad {want64}"
        if want64 is None:
            continue
        assert x.grad.dtype == x.dtype and x.grad.shape == x.shape, f"{what}: grad {x.grad.dtype} {x.grad.shape}"
        rtol = 1e-3 if c.float32 else 1e-9
        got = x.grad.numpy()
        # Where the two references overflow differently (inf against -inf or nan), a sum of
        # overflowing terms decides, and its order is the implementation's: any inf or nan is right.
        a, b = native.double().numpy(), want64.double().numpy()
        open_ = ~np.isfinite(a) & ~np.isfinite(b) & ~((a == b) | (np.isnan(a) & np.isnan(b)))
        assert np.isfinite(got[open_]).sum() == 0, f"{what}: finite where both references overflow"
        # An ill-conditioned chain (a saturated softmax behind large weights, say) leaves float32
        # far from float64; pydl's float32 error may then be a few times PyTorch's own.
        torch_err = np.abs(a - b)
        torch_err = np.where(np.isfinite(torch_err), torch_err, 0.0)
        try:
            check(got, a, rtol, np.where(open_, np.inf, rtol * _scale(native)), what + " (torch in pydl's dtypes)")
        except AssertionError:
            atol = np.where(open_, np.inf, rtol * (_scale(want64) + inner_scale) + 4 * torch_err)
            check(got, b, rtol, atol, what + " (torch in float64)")


def _scale(t):
    a = t.double().numpy()
    return np.abs(a[np.isfinite(a)]).max(initial=0.0) + 1.0


def run_chain(data, dtypes):
    c = Chain(data)
    nd = c.draw(st.integers(0, 3), label="ndim")
    shape = [c.draw(st.sampled_from(SIZES), label="size") for _ in range(nd)]
    v = c.leaf(shape, c.draw(st.sampled_from(dtypes), label="dtype"))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for _ in range(c.draw(st.integers(1, 4), label="ops")):
            nxt = OPS[c.draw(st.sampled_from(applicable(v)), label="op")](c, v)
            if nxt is None:
                break
            v = nxt
        assert_grads_match_torch(c, v)


@fuzz_settings(90)
@given(st.data())
def test_float_op_chains(data):
    run_chain(data, [F32, F64])


@fuzz_settings(30)
@given(st.data())
def test_int64_op_chains(data):
    run_chain(data, [I64])


@pytest.mark.parametrize("op", ["mul", "where", "cat"])
def test_mixed_float_dtypes_gradient_dtype(op):
    """The fuzzer's float32 x float64 chains, reduced: a float32 leaf gets a float32 grad (it got a
    float64 one, and the op before it raised TypeError in backward)."""
    x = pydl.tensor([1.0, 2.0], dtype=F32, requires_grad=True)
    y = pydl.tensor([3.0, 4.0], dtype=F64)
    e = x.exp()
    out = {"mul": lambda: e * y, "where": lambda: pydl.where(pydl.tensor([True, False]), e, y),
           "cat": lambda: pydl.cat([e, y])}[op]()
    assert out.dtype == F64
    out.sum().backward()
    assert x.grad.dtype == F32


def test_index_with_empty_list():
    """An empty list is an empty int64 index (numpy would make it float64), as in numpy and PyTorch."""
    x = pydl.arange(6).reshape(2, 3)
    assert x[[]].shape == (0, 3)
    assert x[:, []].shape == (2, 0)


@pytest.mark.parametrize("op", ["maximum", "minimum", "clamp", "max()"])
def test_masked_gradient_with_infinite_upstream_gradient(op):
    """The unpicked inputs get 0, not 0 * inf = nan (the backward multiplied by a 0/1 mask)."""
    f = {"maximum": lambda x: x.maximum(pydl.tensor([1.0, 1.0])), "clamp": lambda x: x.clamp(-1.0, 1.0),
         "minimum": lambda x: x.minimum(pydl.tensor([-1.0, -1.0])), "max()": lambda x: x.max()}[op]
    x = pydl.tensor([3.0, -2.0], requires_grad=True)  # only x[0] is picked (maximum, max) / only x[1] (minimum)
    (f(x) * pydl.tensor(float("inf"))).sum().backward()
    assert not np.isnan(x.grad.numpy()).any(), x.grad.tolist()  # PyTorch: [inf, 0] (minimum: [0, inf])
