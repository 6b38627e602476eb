"""The ops composed of pydl's kernels (pad, interpolate, attention, tril/triu, logsumexp,
repeat/tile/repeat_interleave, cross-entropy on class probabilities, flip/roll, diagonals,
masked_select, scatter, norms, unfold/fold, einsum): forward and backward against PyTorch in
float64 on each device, finite-difference gradients on the CPU, and the argument errors."""
import numpy as np
import pytest

import pydl
from pydl.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _pair(shape, seed):
    data = np.random.default_rng(seed).standard_normal(shape)
    return data, torch.tensor(data, requires_grad=True)


# name -> (pydl fn, torch fn, input shapes); each fn takes the inputs (pydl or torch) in order.
CASES = {
    "pad-constant": (lambda x: F.pad(x, (1, 2, 0, 3), value=0.5), lambda x: TF.pad(x, (1, 2, 0, 3), value=0.5),
                     [(2, 3, 4, 5)]),
    "pad-constant-crop": (lambda x: F.pad(x, (-1, 2, 1, -2)), lambda x: TF.pad(x, (-1, 2, 1, -2)), [(2, 3, 4, 5)]),
    "pad-reflect": (lambda x: F.pad(x, (3, 1, 2, 3), mode="reflect"),
                    lambda x: TF.pad(x, (3, 1, 2, 3), mode="reflect"), [(2, 3, 4, 5)]),
    "pad-reflect-1d": (lambda x: F.pad(x, (2, 3), mode="reflect"), lambda x: TF.pad(x, (2, 3), mode="reflect"),
                       [(3, 5)]),
    "pad-replicate": (lambda x: F.pad(x, (4, 0, 1, 6), mode="replicate"),
                      lambda x: TF.pad(x, (4, 0, 1, 6), mode="replicate"), [(2, 3, 4, 5)]),
    "pad-circular": (lambda x: F.pad(x, (5, 2, 1, 4), mode="circular"),
                     lambda x: TF.pad(x, (5, 2, 1, 4), mode="circular"), [(2, 3, 4, 5)]),
    "pad-replicate-3d": (lambda x: F.pad(x, (1, 1, 2, 0, 0, 1), mode="replicate"),
                         lambda x: TF.pad(x, (1, 1, 2, 0, 0, 1), mode="replicate"), [(1, 2, 3, 4, 2)]),
    "nearest-2x": (lambda x: F.interpolate(x, scale_factor=2), lambda x: TF.interpolate(x, scale_factor=2),
                   [(2, 3, 4, 5)]),
    "nearest-size": (lambda x: F.interpolate(x, size=(7, 3)), lambda x: TF.interpolate(x, size=(7, 3)),
                     [(2, 3, 4, 5)]),
    "nearest-exact": (lambda x: F.interpolate(x, size=(9, 2), mode="nearest-exact"),
                      lambda x: TF.interpolate(x, size=(9, 2), mode="nearest-exact"), [(2, 3, 4, 5)]),
    "nearest-1d": (lambda x: F.interpolate(x, scale_factor=1.5), lambda x: TF.interpolate(x, scale_factor=1.5),
                   [(2, 3, 6)]),
    "linear": (lambda x: F.interpolate(x, size=11, mode="linear"),
               lambda x: TF.interpolate(x, size=11, mode="linear"), [(2, 3, 6)]),
    "bilinear": (lambda x: F.interpolate(x, size=(7, 3), mode="bilinear"),
                 lambda x: TF.interpolate(x, size=(7, 3), mode="bilinear"), [(2, 3, 4, 5)]),
    "bilinear-corners": (lambda x: F.interpolate(x, size=(9, 8), mode="bilinear", align_corners=True),
                         lambda x: TF.interpolate(x, size=(9, 8), mode="bilinear", align_corners=True),
                         [(2, 3, 4, 5)]),
    "bilinear-scale": (lambda x: F.interpolate(x, scale_factor=(1.7, 0.6), mode="bilinear"),
                       lambda x: TF.interpolate(x, scale_factor=(1.7, 0.6), mode="bilinear"), [(2, 3, 4, 5)]),
    "trilinear": (lambda x: F.interpolate(x, scale_factor=2, mode="trilinear"),
                  lambda x: TF.interpolate(x, scale_factor=2, mode="trilinear"), [(1, 2, 3, 2, 4)]),
    "sdpa": (F.scaled_dot_product_attention, TF.scaled_dot_product_attention, [(2, 3, 5, 4), (2, 3, 6, 4),
                                                                              (2, 3, 6, 7)]),
    "sdpa-causal": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3),
                    lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3),
                    [(3, 5, 4), (3, 5, 4), (3, 5, 2)]),
    "sdpa-float-mask": (lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
                        lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, attn_mask=m),
                        [(2, 5, 4), (2, 6, 4), (2, 6, 3), (5, 6)]),
    "sdpa-gqa": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
                 lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, enable_gqa=True),
                 [(2, 4, 5, 4), (2, 2, 6, 4), (2, 2, 6, 3)]),
    "tril": (lambda x: x.tril(), lambda x: x.tril(), [(2, 4, 5)]),
    "tril-offset": (lambda x: pydl.tril(x, -1), lambda x: torch.tril(x, -1), [(5, 3)]),
    "triu": (lambda x: pydl.triu(x, 2), lambda x: torch.triu(x, 2), [(3, 4, 6)]),
    "logsumexp": (lambda x: x.logsumexp(1), lambda x: x.logsumexp(1), [(3, 4, 5)]),
    "logsumexp-dims": (lambda x: pydl.logsumexp(x, (0, 2), keepdim=True),
                       lambda x: torch.logsumexp(x, (0, 2), keepdim=True), [(3, 4, 5)]),
    "repeat": (lambda x: x.repeat(2, 1, 3), lambda x: x.repeat(2, 1, 3), [(2, 3)]),
    "tile": (lambda x: pydl.tile(x, (2,)), lambda x: torch.tile(x, (2,)), [(2, 3)]),
    "repeat_interleave": (lambda x: x.repeat_interleave(3, dim=1), lambda x: x.repeat_interleave(3, dim=1),
                          [(2, 3, 2)]),
    "repeat_interleave-flat": (lambda x: pydl.repeat_interleave(x, 2), lambda x: torch.repeat_interleave(x, 2),
                               [(2, 3)]),
    "repeat_interleave-counts": (lambda x: x.repeat_interleave(pydl.tensor([2, 0, 3]), dim=0),
                                 lambda x: x.repeat_interleave(torch.tensor([2, 0, 3]), dim=0), [(3, 4)]),
    "cross_entropy-probs": (lambda x, t: F.cross_entropy(x, t.softmax(1)),
                            lambda x, t: TF.cross_entropy(x, t.softmax(1)), [(4, 5), (4, 5)]),
    "cross_entropy-probs-2d": (
        lambda x, t, w: F.cross_entropy(x, t.softmax(1), weight=w.exp(), label_smoothing=0.2, reduction="sum"),
        lambda x, t, w: TF.cross_entropy(x, t.softmax(1), weight=w.exp(), label_smoothing=0.2, reduction="sum"),
        [(2, 3, 4, 2), (2, 3, 4, 2), (3,)]),
    "cross_entropy-probs-unbatched": (lambda x, t: F.cross_entropy(x, t.softmax(0), reduction="none"),
                                      lambda x, t: TF.cross_entropy(x, t.softmax(0), reduction="none"), [(5,), (5,)]),
    "flip": (lambda x: x.flip((0, 2)), lambda x: x.flip((0, 2)), [(2, 3, 4)]),
    "fliplr": (pydl.fliplr, torch.fliplr, [(3, 4)]),
    "roll": (lambda x: x.roll((1, -2), (0, 2)), lambda x: x.roll((1, -2), (0, 2)), [(2, 3, 4)]),
    "roll-flat": (lambda x: pydl.roll(x, 5), lambda x: torch.roll(x, 5), [(2, 3, 4)]),
    "diagonal": (lambda x: x.diagonal(), lambda x: x.diagonal(), [(4, 4)]),
    "diagonal-offset": (lambda x: pydl.diagonal(x, 1, 0, 2), lambda x: torch.diagonal(x, 1, 0, 2), [(3, 2, 5)]),
    "diagonal-below": (lambda x: pydl.diagonal(x, -2, -1, -2), lambda x: torch.diagonal(x, -2, -1, -2), [(2, 5, 4)]),
    "diag-1d": (lambda x: pydl.diag(x, 1), lambda x: torch.diag(x, 1), [(4,)]),
    "diag-2d": (lambda x: x.diag(-1), lambda x: x.diag(-1), [(4, 3)]),
    "diag_embed": (lambda x: pydl.diag_embed(x), lambda x: torch.diag_embed(x), [(2, 3)]),
    "masked_select": (lambda x: x.masked_select(pydl.tensor([True, False, True, True], device=x.device)),
                      lambda x: x.masked_select(torch.tensor([True, False, True, True])), [(3, 4)]),
    "scatter": (lambda x, s: x.scatter(1, pydl.tensor([[2, 0], [1, 3]], device=x.device), s),
                lambda x, s: x.scatter(1, torch.tensor([[2, 0], [1, 3]]), s), [(2, 4), (2, 2)]),
    "scatter_reduce-mean": (
        lambda x, s: x.scatter_reduce(0, pydl.tensor([0, 1, 0, 2], device=x.device), s, "mean"),
        lambda x, s: x.scatter_reduce(0, torch.tensor([0, 1, 0, 2]), s, "mean"), [(4,), (4,)]),
    "scatter_reduce-sum-no-self": (
        lambda x, s: x.scatter_reduce(0, pydl.tensor([0, 1, 0, 1], device=x.device), s, "sum", include_self=False),
        lambda x, s: x.scatter_reduce(0, torch.tensor([0, 1, 0, 1]), s, "sum", include_self=False), [(3,), (4,)]),
    "norm": (lambda x: x.norm(), lambda x: x.norm(), [(3, 4)]),
    **{f"scatter_reduce-{reduce}{'' if self_ else '-no-self'}": (
        lambda x, s, r=reduce, i=self_: x.scatter_reduce(1, pydl.tensor([[0, 2, 0], [1, 1, 1]], device=x.device), s, r,
                                                         include_self=i),
        lambda x, s, r=reduce, i=self_: x.scatter_reduce(1, torch.tensor([[0, 2, 0], [1, 1, 1]]), s, r, include_self=i),
        [(2, 4), (2, 3)]) for reduce in ("amax", "amin", "prod") for self_ in (True, False)},
    "norm-dim": (lambda x: pydl.norm(x, 2, 1, keepdim=True), lambda x: torch.norm(x, 2, 1, keepdim=True), [(3, 4)]),
    "norm-p3": (lambda x: x.norm(3, dim=0), lambda x: x.norm(3, dim=0), [(3, 4)]),
    "norm-inf": (lambda x: x.norm(float("inf"), dim=1), lambda x: x.norm(float("inf"), dim=1), [(3, 4)]),
    "normalize": (lambda x: F.normalize(x), lambda x: TF.normalize(x), [(3, 4, 2)]),
    "normalize-p1": (lambda x: F.normalize(x, 1.0, 0), lambda x: TF.normalize(x, 1.0, 0), [(3, 4)]),
    "std_mean": (lambda x: pydl.std_mean(x, 1)[0] + pydl.std_mean(x, 1)[1],
                 lambda x: torch.std_mean(x, 1)[0] + torch.std_mean(x, 1)[1], [(3, 5)]),
    "unfold": (lambda x: F.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=2),
               lambda x: TF.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=2), [(2, 3, 7, 6)]),
    "unfold-unbatched": (lambda x: F.unfold(x, 2), lambda x: TF.unfold(x, 2), [(3, 4, 4)]),
    "fold": (lambda x: F.fold(x, (7, 6), (2, 3), dilation=(1, 2), padding=1, stride=2),
             lambda x: TF.fold(x, (7, 6), (2, 3), dilation=(1, 2), padding=1, stride=2), [(2, 18, 8)]),
    "fold-overlapping": (lambda x: F.fold(x, 5, 3), lambda x: TF.fold(x, 5, 3), [(2, 9, 9)]),
    "exp2": (pydl.exp2, torch.exp2, [(3, 4)]),
    "where-scalar-branches": (lambda x: pydl.where(x > 0, x, 0.5), lambda x: torch.where(x > 0, x, 0.5), [(3, 4)]),
    "einsum-matmul": (lambda a, b: pydl.einsum("ij,jk->ik", a, b), lambda a, b: torch.einsum("ij,jk->ik", a, b),
                      [(3, 4), (4, 5)]),
    "einsum-batched": (lambda a, b: pydl.einsum("bij,bkj->bik", a, b), lambda a, b: torch.einsum("bij,bkj->bik", a, b),
                       [(2, 3, 4), (2, 5, 4)]),
    "einsum-attention": (lambda q, k: pydl.einsum("bhqd,bhkd->bhqk", q, k),
                         lambda q, k: torch.einsum("bhqd,bhkd->bhqk", q, k), [(2, 3, 4, 5), (2, 3, 6, 5)]),
    "einsum-trace": (lambda a: pydl.einsum("ii", a), lambda a: torch.einsum("ii", a), [(4, 4)]),
    "einsum-diagonal": (lambda a: pydl.einsum("ii->i", a), lambda a: torch.einsum("ii->i", a), [(4, 4)]),
    "einsum-outer": (lambda a, b: pydl.einsum("i,j", a, b), lambda a, b: torch.einsum("i,j", a, b), [(3,), (4,)]),
    "einsum-sum-transpose": (lambda a: pydl.einsum("ijk->kj", a), lambda a: torch.einsum("ijk->kj", a), [(2, 3, 4)]),
    "einsum-ellipsis": (lambda a, b: pydl.einsum("...ij,...jk", a, b), lambda a, b: torch.einsum("...ij,...jk", a, b),
                        [(2, 3, 4), (2, 4, 2)]),
    "einsum-three": (lambda a, b, c: pydl.einsum("ij,jk,kl->il", a, b, c),
                     lambda a, b, c: torch.einsum("ij,jk,kl->il", a, b, c), [(2, 3), (3, 4), (4, 2)]),
    "einsum-broadcast": (lambda a, b: pydl.einsum("bij,bjk->bik", a, b),
                         lambda a, b: torch.einsum("bij,bjk->bik", a, b), [(1, 3, 4), (2, 4, 5)]),
}


@pytest.mark.parametrize("name", CASES)
def test_forward_and_backward_match_pytorch(name, device):
    mine, theirs, shapes = CASES[name]
    pairs = [_pair(s, seed) for seed, s in enumerate(shapes)]
    xs = [pydl.tensor(d, device=device, requires_grad=True) for d, _ in pairs]
    out, ref = mine(*xs), theirs(*(t for _, t in pairs))
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    weight = np.random.default_rng(99).standard_normal(tuple(ref.shape))
    (out * pydl.tensor(weight, device=device)).sum().backward()
    (ref * torch.tensor(weight)).sum().backward()
    for x, (_, t) in zip(xs, pairs):
        np.testing.assert_allclose(x.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in CASES if not n.startswith("nearest")])
def test_finite_difference_gradients(name):
    mine, _, shapes = CASES[name]
    xs = [pydl.tensor(np.random.default_rng(seed).standard_normal(s), requires_grad=True)
          for seed, s in enumerate(shapes)]
    assert pydl.gradcheck(mine, xs)


def test_float32_on_each_device(device):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    px, tx = pydl.tensor(x, device=device), torch.tensor(x)
    np.testing.assert_allclose(F.interpolate(px, scale_factor=1.5, mode="bilinear").cpu().numpy(),
                               TF.interpolate(tx, scale_factor=1.5, mode="bilinear").numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(F.pad(px, (2, 2, 1, 1), mode="reflect").cpu().numpy(),
                                  TF.pad(tx, (2, 2, 1, 1), mode="reflect").numpy())
    np.testing.assert_allclose(px.logsumexp(-1).cpu().numpy(), tx.logsumexp(-1).numpy(), rtol=1e-6)


@pytest.mark.parametrize("reduce", ["amax", "amin", "prod"])
@pytest.mark.parametrize("include_self", [True, False], ids=["self", "no-self"])
def test_scatter_reduce_ties_zeros_and_integers(reduce, include_self, device):
    """Ties share amax/amin's gradient, prod's gradient is exact through one zero or several, a
    NaN wins amax/amin, and integers combine exactly (products wrap around as PyTorch's)."""
    x = np.array([[2.0, 0.0, -1.0, 3.0], [1.0, 5.0, 0.5, 0.0]])
    src = np.array([[2.0, 0.0, 2.0, -4.0], [0.0, 5.0, 0.0, 7.0]])
    index = np.array([[0, 1, 0, 3], [1, 1, 2, 2]])
    px, ps = (pydl.tensor(a, device=device, requires_grad=True) for a in (x, src))
    tx, ts = (torch.tensor(a, requires_grad=True) for a in (x, src))
    out = px.scatter_reduce(1, pydl.tensor(index, device=device), ps, reduce, include_self=include_self)
    ref = tx.scatter_reduce(1, torch.tensor(index), ts, reduce, include_self=include_self)
    np.testing.assert_array_equal(out.detach().cpu().numpy(), ref.detach().numpy())
    weight = np.arange(1.0, 9.0).reshape(2, 4)
    (out * pydl.tensor(weight, device=device)).sum().backward()
    (ref * torch.tensor(weight)).sum().backward()
    np.testing.assert_allclose(px.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ps.grad.cpu().numpy(), ts.grad.numpy(), rtol=1e-12)
    big = np.array([3, 2 ** 40, -7, 2 ** 40])
    ints = pydl.tensor([1, 1, 1], device=device).scatter_reduce(0, pydl.tensor([0, 1, 0, 1], device=device),
                                                             pydl.tensor(big, device=device), reduce,
                                                             include_self=include_self)
    expect = torch.tensor([1, 1, 1]).scatter_reduce(0, torch.tensor([0, 1, 0, 1]), torch.tensor(big), reduce,
                                                    include_self=include_self)
    assert ints.dtype == pydl.int64 and ints.tolist() == expect.tolist()
    nan_args = (0, [0, 0, 1], [float("nan"), 3.0, 0.0])
    nan = pydl.tensor([1.0, 2.0], device=device).scatter_reduce(
        nan_args[0], pydl.tensor(nan_args[1], device=device), pydl.tensor(nan_args[2], device=device), reduce,
        include_self=include_self)
    nan_ref = torch.tensor([1.0, 2.0]).scatter_reduce(nan_args[0], torch.tensor(nan_args[1]),
                                                      torch.tensor(nan_args[2]), reduce, include_self=include_self)
    assert np.isnan(nan.cpu().numpy()[0])
    np.testing.assert_array_equal(nan.cpu().numpy(), nan_ref.numpy())


def test_fold_and_unfold_modules():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(7).standard_normal((2, 3, 6, 6))
    cols = pydl.nn.Unfold(3, padding=1)(pydl.tensor(x))
    np.testing.assert_array_equal(cols.numpy(), torch.nn.Unfold(3, padding=1)(torch.tensor(x)).numpy())
    back = pydl.nn.Fold((6, 6), 3, padding=1)(cols)
    np.testing.assert_allclose(back.numpy(), torch.nn.Fold((6, 6), 3, padding=1)(torch.tensor(cols.numpy())).numpy(),
                               rtol=1e-14)
    assert repr(pydl.nn.Fold((6, 6), 3)) == "Fold(output_size=(6, 6), kernel_size=3, dilation=1, padding=0, stride=1)"


def test_nonzero_and_argwhere(device):
    torch = pytest.importorskip("torch")
    data = np.array([[0, 1.5, 0], [2, 0, -1]])
    x, t = pydl.tensor(data, device=device), torch.tensor(data)
    assert x.nonzero().tolist() == t.nonzero().tolist() and pydl.argwhere(x).tolist() == torch.argwhere(t).tolist()
    assert [c.tolist() for c in x.nonzero(as_tuple=True)] == [c.tolist() for c in t.nonzero(as_tuple=True)]
    assert pydl.tensor(3.0).nonzero().shape == (1, 0) and pydl.zeros(2, 0).nonzero().shape == (0, 2)


def test_normalize_of_a_zero_vector_has_a_finite_gradient():
    x = pydl.zeros(2, 3, requires_grad=True)
    F.normalize(x).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_logsumexp_is_stable_and_keeps_infinities():
    x = pydl.tensor([[1000.0, 1000.0], [-1000.0, -1000.0], [float("-inf"), float("-inf")],
                     [float("inf"), 0.0], [float("-inf"), 3.0]])
    out = x.logsumexp(1).tolist()
    assert out[0] == pytest.approx(1000 + np.log(2)) and out[1] == pytest.approx(-1000 + np.log(2))
    assert out[2] == float("-inf") and out[3] == float("inf") and out[4] == pytest.approx(3.0)


def test_tril_triu_keep_dtype():
    x = pydl.arange(9).reshape(3, 3)
    assert x.tril().tolist() == [[0, 0, 0], [3, 4, 0], [6, 7, 8]] and x.tril().dtype == pydl.int64
    assert x.triu(1).tolist() == [[0, 1, 2], [0, 0, 5], [0, 0, 0]]


def test_sdpa_bool_mask_and_dropout():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 6)))
    mask = rng.random((3, 5)) > 0.3
    mask[:, 0] = True
    out = F.scaled_dot_product_attention(pydl.tensor(q), pydl.tensor(k), pydl.tensor(v), attn_mask=pydl.tensor(mask))
    ref = TF.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v),
                                          attn_mask=torch.tensor(mask))
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-10)
    pydl.manual_seed(0)
    dropped = F.scaled_dot_product_attention(pydl.tensor(q), pydl.tensor(k), pydl.tensor(v), dropout_p=0.5)
    assert dropped.shape == (2, 3, 6) and not np.allclose(dropped.numpy(), out.numpy())


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("npdt", [np.float64, np.float32], ids=["float64", "float32"])
def test_fused_attention_matches_pytorch(causal, npdt):
    """The CPU's fused kernel, forward and backward: one head (its products then use the threads) at
    sizes past the small-product GEMM, and many heads (whole heads per thread), L != S, E != Ev."""
    rng = np.random.default_rng(1)
    tol = 1e-10 if npdt is np.float64 else 2e-4
    for shape_q, shape_k, ev in (((1, 100, 64), (1, 120, 64), 48), ((3, 4, 37, 16), (3, 4, 45, 16), 24)):
        data = [rng.standard_normal(s).astype(npdt) for s in (shape_q, shape_k, shape_k[:-1] + (ev,))]
        grad = rng.standard_normal(shape_q[:-1] + (ev,))
        px = [pydl.tensor(d, requires_grad=True) for d in data]
        tx = [torch.tensor(d.astype(np.float64), requires_grad=True) for d in data]
        out = F.scaled_dot_product_attention(*px, is_causal=causal, scale=0.2)
        ref = TF.scaled_dot_product_attention(*tx, is_causal=causal, scale=0.2)
        assert type(out.grad_fn).__name__ == "FusedAttention" and out.dtype == pydl.tensor(data[0]).dtype
        out.backward(pydl.tensor(grad.astype(npdt)))
        ref.backward(torch.tensor(grad))
        scale = np.abs(ref.detach().numpy()).max()
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=tol, atol=tol * scale)
        for p, t in zip(px, tx):
            scale = np.abs(t.grad.numpy()).max()
            np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol * scale)


def test_attention_outside_the_fused_kernel_matches_pytorch():
    """A broadcast batch dim takes the op-by-op path (as a mask or dropout do), which agrees."""
    rng = np.random.default_rng(2)
    q, k, v = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((1, 3, 6, 4)), rng.standard_normal((1, 3, 6, 2))
    out = F.scaled_dot_product_attention(pydl.tensor(q, requires_grad=True), pydl.tensor(k), pydl.tensor(v))
    assert type(out.grad_fn).__name__ == "MatMul"
    ref = TF.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v))
    np.testing.assert_allclose(out.detach().numpy(), ref.numpy(), rtol=1e-10)


def test_fused_attention_errors():
    with pytest.raises(pydl.DTypeError, match="scaled_dot_product_attention: expected query, key and value of one"):
        pydl._C.attention(pydl.ones(2, 3, 4)._a, pydl.ones(2, 5, 4, dtype=pydl.float64)._a, pydl.ones(2, 5, 4)._a,
                          1.0, False)
    with pytest.raises(ValueError, match="same leading dims"):
        pydl._C.attention(pydl.ones(2, 3, 4)._a, pydl.ones(3, 5, 4)._a, pydl.ones(3, 5, 4)._a, 1.0, False)
    with pytest.raises(ValueError, match=r"expected query \(\.\.\., L, E\)"):
        F.scaled_dot_product_attention(pydl.ones(2, 3, 4), pydl.ones(2, 5, 3), pydl.ones(2, 5, 4))


ERRORS = [
    (lambda: F.pad(pydl.ones(2, 3), (1, 2, 3)), "pad: expected an even number"),
    (lambda: F.pad(pydl.ones(2, 3, 4), (4, 0), mode="reflect"), "at most 3"),
    (lambda: F.pad(pydl.ones(2, 3, 4), (1, 1), mode="wrap"), "mode must be"),
    (lambda: F.pad(pydl.ones(4), (1, 1), mode="reflect"), "takes a 2-d or 3-d input"),
    (lambda: F.pad(pydl.ones(2, 3), (-2, -2)), "crops more than"),
    (lambda: F.interpolate(pydl.ones(1, 1, 4, 4), size=3, scale_factor=2), "exactly one of size and scale_factor"),
    (lambda: F.interpolate(pydl.ones(1, 1, 4, 4), size=3, mode="linear"), "does not take a 4-d input"),
    (lambda: F.interpolate(pydl.ones(1, 1, 4, 4), size=(3, 3, 3)), "expected 2 output sizes"),
    (lambda: F.interpolate(pydl.ones(4, 4), size=3), "expected an \\(N, C, ...\\) input"),
    (lambda: F.scaled_dot_product_attention(pydl.ones(2, 3, 4), pydl.ones(2, 5, 4), pydl.ones(2, 5, 4),
                                            attn_mask=pydl.ones(3, 5), is_causal=True), "not both"),
    (lambda: pydl.ones(3).tril(), "at least 2 dimensions"),
    (lambda: pydl.ones(2, 3).repeat(2), "at least 2 repeat sizes"),
    (lambda: pydl.ones(3).repeat_interleave(pydl.tensor([1, 2])), "3 integer counts"),
    (lambda: pydl.ones(3).repeat_interleave(-1), "non-negative"),
    (lambda: F.cross_entropy(pydl.ones(2, 3), pydl.ones(2, 4)), "must have the input's shape"),
    (lambda: pydl.roll(pydl.ones(2, 3), (1, 2), 0), "2 shifts for 1 dims"),
    (lambda: pydl.diag(pydl.ones(2, 2, 2)), "a 1-d or 2-d tensor"),
    (lambda: pydl.ones(3).diagonal(), "at least 2 dimensions"),
    (lambda: pydl.ones(3).scatter(0, pydl.tensor([0]), 1.0, value=2.0), "exactly one of src and value"),
    (lambda: pydl.ones(3).scatter_reduce(0, pydl.tensor([0]), pydl.ones(1), "max"), "'sum', 'prod', 'mean', 'amax'"),
    (lambda: pydl.einsum("ij,jk", pydl.ones(2, 3)), "2 operand"),
    (lambda: pydl.einsum("ijk", pydl.ones(2, 3)), "do not match an operand of 2 dims"),
    (lambda: pydl.einsum("ij->k", pydl.ones(2, 3)), "appears in no operand"),
    (lambda: pydl.norm(pydl.ones(3), "nuc"), "p must be a number or 'fro'"),
    (lambda: F.unfold(pydl.ones(1, 1, 2, 2), 3), "does not fit"),
    (lambda: F.fold(pydl.ones(1, 4, 3), 3, 2), r"expected an input of \(N, C x 4, 4\)"),
    (lambda: F.unfold(pydl.ones(1, 1, 4, 4), 2, stride=0), "must be positive"),
]


@pytest.mark.parametrize("fn, words", ERRORS)
def test_bad_arguments_raise(fn, words):
    with pytest.raises(pydl.ArgumentError, match=words):
        fn()


@pytest.mark.cuda
@pytest.mark.parametrize("fn", [lambda x: F.interpolate(x, scale_factor=1.7, mode="bilinear"),
                                lambda x: F.interpolate(x, size=(5, 9), mode="bilinear", align_corners=True),
                                lambda x: F.pad(x, (3, 2, 1, 3), mode="reflect"),
                                lambda x: F.interpolate(x, scale_factor=3)], ids=["bilinear", "corners", "reflect",
                                                                                 "nearest"])
def test_cuda_resamples_to_the_cpu_bits(fn):
    data = np.random.default_rng(6).standard_normal((2, 3, 7, 6)).astype(np.float32)
    grads = []
    for device in ("cpu", "cuda"):
        x = pydl.tensor(data, device=device, requires_grad=True)
        out = fn(x)
        out.backward(pydl.tensor(np.cos(np.arange(out.numel())).reshape(out.shape).astype(np.float32), device=device))
        grads.append((out.detach().cpu().numpy(), x.grad.cpu().numpy()))
    for mine, theirs in zip(*grads):
        np.testing.assert_array_equal(mine, theirs)
