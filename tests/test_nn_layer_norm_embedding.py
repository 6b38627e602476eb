"""LayerNorm (fused kernels, float64 statistics), Embedding and one_hot against PyTorch: forward
and backward in float64 on each device, finite-difference gradients, state dicts both ways,
and the argument errors."""
import numpy as np
import pytest

import pydl
import pydl.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _grads_match(pydl_tensors, torch_tensors, rtol=1e-10, atol=1e-12):
    for p, t in zip(pydl_tensors, torch_tensors):
        np.testing.assert_allclose(p.grad.cpu().numpy(), t.grad.numpy(), rtol=rtol, atol=atol)


# (input shape, normalized_shape): rows a warp takes on CUDA, rows a block takes, several dims.
LAYER_NORM_SHAPES = [((4, 5, 6), (6,)), ((3, 4, 5), (4, 5)), ((7, 1030), (1030,)), ((300, 8), (8,)), ((5,), (5,))]


@pytest.mark.parametrize("shape,normalized", LAYER_NORM_SHAPES, ids=str)
@pytest.mark.parametrize("affine", ["weight-bias", "weight", "none"])
def test_layer_norm_matches_pytorch(shape, normalized, affine, device):
    r = np.random.default_rng(0)
    x, g = r.standard_normal(shape) * 3 + 1, r.standard_normal(shape)
    params = [r.standard_normal(normalized) for _ in range({"weight-bias": 2, "weight": 1, "none": 0}[affine])]
    px = [pydl.tensor(a, device=device, requires_grad=True) for a in [x] + params]
    tx = [torch.tensor(a, requires_grad=True) for a in [x] + params]
    pad = [None] * (2 - len(params))
    out = F.layer_norm(px[0], normalized, *px[1:], *pad, eps=1e-4)
    ref = TF.layer_norm(tx[0], normalized, *tx[1:], *pad, eps=1e-4)
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    out.backward(pydl.tensor(g, device=device))
    ref.backward(torch.tensor(g))
    _grads_match(px, tx, rtol=1e-9, atol=1e-11)


def test_layer_norm_float32_and_gradcheck(device):
    r = np.random.default_rng(1)
    x = r.standard_normal((6, 40)).astype(np.float32) * 100 + 1000  # a large mean: float64 statistics keep it exact
    out = F.layer_norm(pydl.tensor(x, device=device), (40,))
    np.testing.assert_allclose(out.cpu().numpy(), TF.layer_norm(torch.tensor(x.astype(np.float64)), (40,)).numpy(),
                               atol=2e-5)
    xs = [pydl.tensor(r.standard_normal(s), requires_grad=True) for s in ((3, 2, 5), (2, 5), (2, 5))]
    assert pydl.gradcheck(lambda x, w, b: F.layer_norm(x, (2, 5), w, b), xs)


def test_layer_norm_gradients_do_not_depend_on_the_thread_count():
    r = np.random.default_rng(2)
    x, w = pydl.tensor(r.standard_normal((3000, 24)), requires_grad=True), pydl.tensor(r.standard_normal(24),
                                                                                      requires_grad=True)
    g = pydl.tensor(r.standard_normal((3000, 24)))
    before, grads = pydl.get_num_threads(), []
    try:
        for n in (1, 2):
            pydl.set_num_threads(n)
            F.layer_norm(x, (24,), w).backward(g)
            grads.append((x.grad.numpy().copy(), w.grad.numpy().copy()))
            x.grad = w.grad = None
    finally:
        pydl.set_num_threads(before)
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)


def test_layer_norm_outputs_past_the_caches():
    # 9 MiB outputs (float64), written with streaming stores on the CPU: the same values as a small batch's rows
    r = np.random.default_rng(3)
    x, w, b = r.standard_normal((1100, 1030)), r.standard_normal(1030), r.standard_normal(1030)
    g = r.standard_normal((1100, 1030))
    px, pw, pb = (pydl.tensor(a, requires_grad=True) for a in (x, w, b))
    out = F.layer_norm(px, (1030,), pw, pb)
    out.backward(pydl.tensor(g))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ref = TF.layer_norm(tx, (1030,), tw, tb)
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    _grads_match([px, pw, pb], [tx, tw, tb], rtol=1e-9, atol=1e-10)
    head = F.layer_norm(pydl.tensor(x[:3]), (1030,), pydl.tensor(w), pydl.tensor(b))
    np.testing.assert_array_equal(out.detach().numpy()[:3], head.numpy())


def test_layer_norm_module_and_state_dict_both_ways():
    mine = pydl.nn.LayerNorm((3, 4), eps=1e-6, dtype=pydl.float64)
    theirs = torch.nn.LayerNorm((3, 4), eps=1e-6, dtype=torch.float64)
    assert repr(mine) == "LayerNorm((3, 4), eps=1e-06, elementwise_affine=True)"
    assert sorted(mine.state_dict()) == sorted(theirs.state_dict()) == ["bias", "weight"]
    r = np.random.default_rng(3)
    theirs.load_state_dict({k: torch.tensor(r.standard_normal((3, 4))) for k in ("weight", "bias")})
    mine.load_state_dict({k: pydl.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x = r.standard_normal((2, 3, 4))
    np.testing.assert_allclose(mine(pydl.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12)
    theirs.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in mine.state_dict().items()})
    assert pydl.nn.LayerNorm(4, elementwise_affine=False).weight is None
    assert pydl.nn.LayerNorm(4, bias=False).bias is None and pydl.nn.LayerNorm(4).weight.tolist() == [1.0] * 4


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_matches_pytorch(padding_idx, device):
    r = np.random.default_rng(4)
    weight, index = r.standard_normal((10, 4)), np.array([[1, 2, 0, 2], [9, 0, 3, 3]])
    pw, tw = pydl.tensor(weight, device=device, requires_grad=True), torch.tensor(weight, requires_grad=True)
    out = F.embedding(pydl.tensor(index, device=device), pw, padding_idx=padding_idx)
    ref = TF.embedding(torch.tensor(index), tw, padding_idx=padding_idx)
    np.testing.assert_array_equal(out.detach().cpu().numpy(), ref.detach().numpy())
    g = r.standard_normal(tuple(ref.shape))
    out.backward(pydl.tensor(g, device=device))
    ref.backward(torch.tensor(g))
    _grads_match([pw], [tw])


def test_embedding_max_norm_renormalizes_the_picked_rows_in_place():
    r = np.random.default_rng(5)
    weight, index = r.standard_normal((6, 3)) * 2, np.array([0, 4, 4, 1])
    pw, tw = pydl.tensor(weight), torch.tensor(weight)
    out = F.embedding(pydl.tensor(index), pw, max_norm=1.0)
    ref = TF.embedding(torch.tensor(index), tw, max_norm=1.0)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12)
    np.testing.assert_allclose(pw.numpy(), tw.numpy(), rtol=1e-12)
    assert np.array_equal(pw.numpy()[2], weight[2])  # rows not looked up are left alone


def test_embedding_module_state_dict_and_from_pretrained():
    mine = pydl.nn.Embedding(7, 3, padding_idx=0, dtype=pydl.float64)
    theirs = torch.nn.Embedding(7, 3, padding_idx=0, dtype=torch.float64)
    assert mine.weight[0].tolist() == [0.0, 0.0, 0.0] and repr(mine) == "Embedding(7, 3, padding_idx=0)"
    mine.load_state_dict({"weight": pydl.tensor(theirs.weight.detach().numpy())})
    index = np.array([[0, 6], [3, 3]])
    np.testing.assert_array_equal(mine(pydl.tensor(index)).detach().numpy(),
                                  theirs(torch.tensor(index)).detach().numpy())
    theirs.load_state_dict({"weight": torch.tensor(mine.state_dict()["weight"].numpy())})
    frozen = pydl.nn.Embedding.from_pretrained(pydl.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert not frozen.weight.requires_grad and frozen(pydl.tensor([1])).tolist() == [[3.0, 4.0]]


def test_one_hot_matches_pytorch(device):
    for values, classes in (([0, 2, 1], 4), ([[0, 2], [1, 1]], -1), ([], 3)):
        out = F.one_hot(pydl.tensor(values, dtype=pydl.int64, device=device), classes)
        ref = TF.one_hot(torch.tensor(values, dtype=torch.int64), classes)
        assert out.dtype == pydl.int64 and out.cpu().tolist() == ref.tolist() and tuple(out.shape) == tuple(ref.shape)


ERRORS = [
    (lambda: F.layer_norm(pydl.ones(2, 3), (4,)), ValueError, "last dims are normalized_shape \\(4,\\)"),
    (lambda: F.layer_norm(pydl.ones(2, 3), (3,), pydl.ones(4)), ValueError, "weight of normalized_shape"),
    (lambda: F.layer_norm(pydl.ones(2, 3, dtype=pydl.int64), (3,)), TypeError, "layer_norm"),
    (lambda: F.embedding(pydl.tensor([1.0]), pydl.ones(3, 2)), TypeError, "embedding: expected an integer index"),
    (lambda: F.embedding(pydl.tensor([3]), pydl.ones(3, 2)), IndexError, "index 3 is out of range for 3"),
    (lambda: F.embedding(pydl.tensor([0]), pydl.ones(3)), ValueError, "expected a 2-d weight"),
    (lambda: F.one_hot(pydl.tensor([0, 3]), 3), ValueError, "class index 3 is out of range for 3"),
    (lambda: F.one_hot(pydl.tensor([-1])), ValueError, "non-negative"),
    (lambda: pydl.nn.Embedding(3, 2, padding_idx=3), ValueError, "padding_idx 3 is out of range"),
]


@pytest.mark.parametrize("fn,error,message", ERRORS, ids=[m for _, _, m in ERRORS])
def test_errors_name_the_op(fn, error, message):
    with pytest.raises(error, match=message):
        fn()
