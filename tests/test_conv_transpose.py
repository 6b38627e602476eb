"""conv_transpose2d, conv1d, conv_transpose1d, conv3d and their modules: forward and the three
gradients against PyTorch in float64 (strides, padding, output_padding, groups, dilation,
unbatched inputs), finite differences, each device, and a small autoencoder that learns."""
import numpy as np
import pytest

import pydl
from pydl.nn import functional as F

CASES = [  # (input shape, weight shape, keyword arguments)
    ((2, 4, 5, 6), (4, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((2, 4, 5, 6), (4, 2, 3, 2), dict(stride=(2, 1), padding=(1, 0), groups=2, dilation=(1, 2))),
    ((4, 5, 6), (4, 3, 2, 2), dict(stride=3)),
    ((1, 2, 3, 3), (2, 5, 4, 4), dict(stride=2, padding=1, dilation=2, output_padding=1)),
]


@pytest.mark.parametrize("shapes", CASES, ids=[str(c[2]) for c in CASES])
def test_conv_transpose2d_matches_pytorch(shapes, device):
    xs, ws, kw = shapes
    _matches_pytorch("conv_transpose2d", [xs, ws, (ws[1] * kw.get("groups", 1),)], kw, device)


def _matches_pytorch(name, shapes, kw, device):
    """F.<name>(x, w, b, **kw): forward and the three gradients against PyTorch's, in float64."""
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(0)
    arrays = [r.standard_normal(s) for s in shapes]
    mine = [pydl.tensor(a, device=device, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = getattr(F, name)(*mine, **kw), getattr(torch.nn.functional, name)(*theirs, **kw)
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = r.standard_normal(tuple(ref.shape))
    (out * pydl.tensor(g, device=device)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    for a, t in zip(mine, theirs):
        np.testing.assert_allclose(a.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-11, atol=1e-11)


def test_conv_transpose2d_gradcheck():
    r = np.random.default_rng(1)
    x, w, b = (pydl.tensor(r.standard_normal(s), requires_grad=True) for s in ((1, 2, 3, 3), (2, 2, 2, 3), (2,)))
    assert pydl.gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=(0, 1)), (x, w, b))


def test_conv1d_and_conv_transpose1d_match_pytorch(device):
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(2)
    x, w, wt = r.standard_normal((2, 3, 10)), r.standard_normal((4, 3, 3)), r.standard_normal((3, 4, 3))
    px, pw, pwt = (pydl.tensor(a, device=device, requires_grad=True) for a in (x, w, wt))
    tx, tw, twt = (torch.tensor(a, requires_grad=True) for a in (x, w, wt))
    outs = [F.conv1d(px, pw, stride=2, padding=1), F.conv1d(px, pw, padding="same", dilation=2),
            F.conv_transpose1d(px, pwt, stride=2, padding=1, output_padding=1)]
    refs = [torch.nn.functional.conv1d(tx, tw, stride=2, padding=1),
            torch.nn.functional.conv1d(tx, tw, padding="same", dilation=2),
            torch.nn.functional.conv_transpose1d(tx, twt, stride=2, padding=1, output_padding=1)]
    for out, ref in zip(outs, refs):
        np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    sum(o.sum() for o in outs).backward()
    sum(t.sum() for t in refs).backward()
    for a, t in ((px, tx), (pw, tw), (pwt, twt)):
        np.testing.assert_allclose(a.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-11, atol=1e-11)
    unbatched = F.conv1d(pydl.tensor(x[0], device=device), pw.detach())
    np.testing.assert_allclose(unbatched.cpu().numpy(), torch.nn.functional.conv1d(tx[0], tw).detach().numpy(),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("xs, ws, kw", [((2, 4, 5, 6, 7), (3, 4, 2, 3, 2), dict(stride=(1, 2, 1), padding=1)),
                                        ((2, 4, 5, 5, 5), (6, 2, 3, 3, 3), dict(groups=2, dilation=(2, 1, 1))),
                                        ((4, 4, 4, 4), (2, 4, 1, 2, 3), {})], ids=["strided", "groups", "unbatched"])
def test_conv3d_matches_pytorch(xs, ws, kw, device):
    _matches_pytorch("conv3d", [xs, ws, (ws[0],)], kw, device)


def test_modules_shapes_and_init_match_pytorch():
    torch = pytest.importorskip("torch")
    for mine, theirs, x in ((pydl.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1),
                             torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1), (2, 4, 5, 5)),
                            (pydl.nn.Conv1d(3, 5, 3, padding="same"), torch.nn.Conv1d(3, 5, 3, padding="same"),
                             (2, 3, 9)),
                            (pydl.nn.ConvTranspose1d(3, 4, 5, stride=3, groups=1, bias=False),
                             torch.nn.ConvTranspose1d(3, 4, 5, stride=3, bias=False), (2, 3, 7)),
                            (pydl.nn.Conv3d(2, 4, 3, padding=1, stride=(1, 2, 1)),
                             torch.nn.Conv3d(2, 4, 3, padding=1, stride=(1, 2, 1)), (1, 2, 4, 5, 4))):
        assert tuple(mine.weight.shape) == tuple(theirs.weight.shape)
        assert (mine.bias is None) == (theirs.bias is None)
        mine.weight.data = pydl.tensor(theirs.weight.detach().numpy())
        if mine.bias is not None:  # PyTorch's bound: 1 / sqrt(fan-in), the fan-in from the weight's dim 1
            bound = 1 / np.sqrt(theirs.weight.shape[1] * np.prod(theirs.kernel_size))
            assert np.abs(mine.bias.detach().numpy()).max() <= bound
            mine.bias.data = pydl.tensor(theirs.bias.detach().numpy())
        data = np.random.default_rng(3).standard_normal(x).astype(np.float32)
        np.testing.assert_allclose(mine(pydl.tensor(data)).detach().numpy(),
                                   theirs(torch.tensor(data)).detach().numpy(), rtol=1e-5, atol=1e-5)
        assert repr(mine) == repr(theirs)


def test_a_convolutional_autoencoder_learns():
    pydl.manual_seed(0)
    nn = pydl.nn
    model = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(),
                          nn.ConvTranspose2d(4, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())
    images = pydl.rand(16, 1, 8, 8)
    optimizer = pydl.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(60):
        loss = F.mse_loss(model(images), images)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


ERRORS = [
    (lambda: F.conv_transpose2d(pydl.ones(1, 3, 4, 4), pydl.ones(2, 2, 3, 3)),
     "input has 3 channels, weight expects 2"),
    (lambda: F.conv_transpose2d(pydl.ones(1, 2, 4, 4), pydl.ones(2, 2, 3, 3), stride=2, output_padding=2),
     "output_padding"),
    (lambda: F.conv_transpose2d(pydl.ones(2, 4, 4), pydl.ones(2, 2, 3)), "a 4-d weight"),
    (lambda: F.conv_transpose2d(pydl.ones(1, 2, 1, 1), pydl.ones(2, 2, 1, 1), padding=1), "not positive"),
    (lambda: F.conv1d(pydl.ones(1, 2, 5), pydl.ones(3, 2, 2, 2)), "a 3-d weight"),
    (lambda: F.conv1d(pydl.ones(1, 2, 5), pydl.ones(3, 2, 2), stride=(1, 2)), "a 1-tuple"),
    (lambda: F.conv3d(pydl.ones(1, 3, 4, 4, 4), pydl.ones(2, 2, 2, 2, 2)), "input has 3 channels"),
    (lambda: F.conv3d(pydl.ones(1, 2, 2, 2, 2), pydl.ones(2, 2, 3, 3, 3)), "does not fit"),
    (lambda: F.conv3d(pydl.ones(1, 2, 4, 4), pydl.ones(2, 2, 2, 2)), "a 5-d weight"),
]


@pytest.mark.parametrize("fn, words", ERRORS)
def test_bad_arguments_raise(fn, words):
    with pytest.raises(pydl.ArgumentError, match=words):
        fn()
