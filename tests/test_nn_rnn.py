"""RNN (tanh, relu), LSTM and GRU, stacked and bidirectional, and their cells, against PyTorch in
float64 with the same parameters (loaded from PyTorch's state dict): outputs, final states, and the
gradients of the input, the initial states and every parameter; finite-difference gradients of
the fused time loop; state dicts both ways; the argument errors."""
import numpy as np
import pytest

import pydl

torch = pytest.importorskip("torch")


def _pair(kind, device, **kw):
    mine = getattr(pydl.nn, kind)(dtype=pydl.float64, device=device, **kw)
    theirs = getattr(torch.nn, kind)(dtype=torch.float64, **kw)
    mine.load_state_dict({k: pydl.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    assert list(mine.state_dict()) == list(theirs.state_dict())
    return mine, theirs


def _close(a, b, rtol=1e-9, atol=1e-11):
    np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().numpy(), rtol=rtol, atol=atol)


LAYERS = {
    "rnn-tanh": ("RNN", {}),
    "rnn-relu-2-layers": ("RNN", {"nonlinearity": "relu", "num_layers": 2}),
    "lstm": ("LSTM", {}),
    "lstm-2-layers-bidirectional": ("LSTM", {"num_layers": 2, "bidirectional": True}),
    "gru": ("GRU", {}),
    "gru-bidirectional-batch-first": ("GRU", {"bidirectional": True, "batch_first": True}),
    "gru-no-bias": ("GRU", {"bias": False}),
    "lstm-no-bias-batch-first": ("LSTM", {"bias": False, "batch_first": True}),
}


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
def test_layers_match_pytorch(name, with_state, device):
    kind, kw = LAYERS[name]
    mine, theirs = _pair(kind, device, input_size=5, hidden_size=6, **kw)
    r = np.random.default_rng(0)
    steps, batch = 7, 3
    shape = (batch, steps, 5) if kw.get("batch_first") else (steps, batch, 5)
    x = r.standard_normal(shape)
    px, tx = pydl.tensor(x, device=device, requires_grad=True), torch.tensor(x, requires_grad=True)
    layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    states = [r.standard_normal((layers, batch, 6)) for _ in range(2 if kind == "LSTM" else 1)]
    ps = [pydl.tensor(s, device=device, requires_grad=True) for s in states]
    ts = [torch.tensor(s, requires_grad=True) for s in states]
    hx_p = (tuple(ps) if kind == "LSTM" else ps[0]) if with_state else None
    hx_t = (tuple(ts) if kind == "LSTM" else ts[0]) if with_state else None
    out_p, state_p = mine(px, hx_p)
    out_t, state_t = theirs(tx, hx_t)
    _close(out_p, out_t)
    finals_p = state_p if kind == "LSTM" else (state_p,)
    finals_t = state_t if kind == "LSTM" else (state_t,)
    for a, b in zip(finals_p, finals_t):
        _close(a, b)
    weights = [r.standard_normal(tuple(t.shape)) for t in (out_t,) + tuple(finals_t)]
    loss_p = sum((t * pydl.tensor(w, device=device)).sum() for t, w in zip((out_p,) + tuple(finals_p), weights))
    loss_t = sum((t * torch.tensor(w)).sum() for t, w in zip((out_t,) + tuple(finals_t), weights))
    loss_p.backward()
    loss_t.backward()
    _close(px.grad, tx.grad)
    if with_state:
        for a, b in zip(ps, ts):
            _close(a.grad, b.grad)
    grads_t = dict(theirs.named_parameters())
    for key, p in mine.named_parameters():
        _close(p.grad, grads_t[key].grad)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_unbatched_input_and_cells_match_pytorch(kind, device):
    mine, theirs = _pair(kind, device, input_size=4, hidden_size=3)
    x = np.random.default_rng(1).standard_normal((5, 4))
    out_p, _ = mine(pydl.tensor(x, device=device))
    out_t, _ = theirs(torch.tensor(x))
    _close(out_p, out_t)
    cell_p, cell_t = _pair(kind + "Cell", device, input_size=4, hidden_size=3)
    r = np.random.default_rng(2)
    xs = r.standard_normal((2, 4))
    states = [r.standard_normal((2, 3)) for _ in range(2 if kind == "LSTM" else 1)]
    px = pydl.tensor(xs, device=device, requires_grad=True)
    tx = torch.tensor(xs, requires_grad=True)
    hp = tuple(pydl.tensor(s, device=device) for s in states)
    ht = tuple(torch.tensor(s) for s in states)
    got = cell_p(px, hp if kind == "LSTM" else hp[0])
    want = cell_t(tx, ht if kind == "LSTM" else ht[0])
    got, want = (got, want) if kind == "LSTM" else ((got,), (want,))
    for a, b in zip(got, want):
        _close(a, b)
    (got[0] * 2 + (got[1] if kind == "LSTM" else 0)).sum().backward()
    (want[0] * 2 + (want[1] if kind == "LSTM" else 0)).sum().backward()
    _close(px.grad, tx.grad)
    unbatched = cell_p(pydl.tensor(xs[0], device=device))
    assert tuple((unbatched[0] if kind == "LSTM" else unbatched).shape) == (3,)


@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_time_loop_finite_difference_gradients(mode, reverse):
    from pydl.nn.functional.recurrent import CELLS, RecurrentLayer

    gates = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    r = np.random.default_rng(3)
    shapes = [(4, 2, 3), (gates * 2, 3), (gates * 2, 2), (gates * 2,), (gates * 2,), (2, 2)] + \
        ([(2, 2)] if mode == "LSTM" else [])
    xs = [pydl.tensor(r.standard_normal(s) * 0.5, requires_grad=True) for s in shapes]

    def layer(x, w_ih, w_hh, b_ih, b_hh, h0, c0=None):
        return RecurrentLayer.apply(x, w_ih, w_hh, b_ih, b_hh, h0, c0, CELLS[mode], reverse)

    assert pydl.gradcheck(layer, xs)


def test_dropout_between_layers_and_eval():
    lstm = pydl.nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = pydl.randn(6, 2, 3)
    pydl.manual_seed(0)
    a, _ = lstm(x)
    pydl.manual_seed(1)
    b, _ = lstm(x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    lstm.eval()
    np.testing.assert_array_equal(lstm(x)[0].detach().numpy(), lstm(x)[0].detach().numpy())
    assert repr(lstm) == "LSTM(3, 4, num_layers=2, dropout=0.5)"


def test_state_dict_goes_back_to_pytorch():
    mine = pydl.nn.GRU(3, 4, num_layers=2, bidirectional=True, dtype=pydl.float64)
    theirs = torch.nn.GRU(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in mine.state_dict().items()})
    x = np.random.default_rng(4).standard_normal((5, 2, 3))
    _close(mine(pydl.tensor(x))[0], theirs(torch.tensor(x))[0])


ERRORS = [
    (lambda: pydl.nn.LSTM(3, 4)(pydl.ones(5, 2, 2)), "expected an input of shape"),
    (lambda: pydl.nn.GRU(3, 4)(pydl.ones(5, 2, 3), pydl.zeros(1, 3, 4)), "initial state of shape"),
    (lambda: pydl.nn.LSTM(3, 4)(pydl.ones(5, 2, 3), pydl.zeros(1, 2, 4)), "expected hx = \\(h0, c0\\)"),
    (lambda: pydl.nn.RNN(3, 4, nonlinearity="gelu"), "nonlinearity must be"),
    (lambda: pydl.nn.LSTM(3, 4, proj_size=2), "proj_size is not supported"),
    (lambda: pydl.nn.LSTM(3, 4, num_layers=0), "num_layers >= 1"),
    (lambda: pydl.nn.GRUCell(3, 4)(pydl.ones(2, 3), pydl.zeros(3, 4)), "states of shape"),
]


@pytest.mark.parametrize("fn,message", ERRORS, ids=[m for _, m in ERRORS])
def test_errors(fn, message):
    with pytest.raises(ValueError, match=message):
        fn()


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_packed_sequences_match_pytorch(kind, device):
    """Rows of different lengths (unsorted), 2 layers, both directions: outputs past each length are
    zero after pad_packed_sequence, final states are each row's last valid step; gradients too."""
    from pydl.nn.utils import rnn as prnn
    from torch.nn.utils import rnn as trnn

    mine, theirs = _pair(kind, device, input_size=3, hidden_size=4, num_layers=2, bidirectional=True)
    r = np.random.default_rng(5)
    lengths = [4, 6, 2]
    x = r.standard_normal((6, 3, 3))
    px, tx = pydl.tensor(x, device=device, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_p, state_p = mine(prnn.pack_padded_sequence(px, lengths, enforce_sorted=False))
    out_t, state_t = theirs(trnn.pack_padded_sequence(tx, lengths, enforce_sorted=False))
    pad_p, len_p = prnn.pad_packed_sequence(out_p)
    pad_t, len_t = trnn.pad_packed_sequence(out_t)
    _close(pad_p, pad_t)
    assert len_p.tolist() == len_t.tolist() == lengths
    finals_p = state_p if kind == "LSTM" else (state_p,)
    finals_t = state_t if kind == "LSTM" else (state_t,)
    for a, b in zip(finals_p, finals_t):
        _close(a, b)
    w = r.standard_normal(tuple(pad_t.shape))
    loss_p = (pad_p * pydl.tensor(w, device=device)).sum() + sum(f.sum() for f in finals_p)
    loss_t = (pad_t * torch.tensor(w)).sum() + sum(f.sum() for f in finals_t)
    loss_p.backward()
    loss_t.backward()
    _close(px.grad, tx.grad)
    grads_t = dict(theirs.named_parameters())
    for key, p in mine.named_parameters():
        _close(p.grad, grads_t[key].grad)


def test_pad_and_pack_sequence_helpers():
    from pydl.nn.utils import rnn as prnn
    from torch.nn.utils import rnn as trnn

    seqs = [np.arange(1.0, 4.0), np.arange(5.0, 10.0), np.array([7.0])]
    for first in (False, True):
        np.testing.assert_array_equal(prnn.pad_sequence([pydl.tensor(s) for s in seqs], batch_first=first,
                                                        padding_value=-1).numpy(),
                                      trnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first=first,
                                                        padding_value=-1).numpy())
    packed_p = prnn.pack_sequence([pydl.tensor(s) for s in seqs], enforce_sorted=False)
    packed_t = trnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    np.testing.assert_array_equal(packed_p.data.numpy(), packed_t.data.numpy())
    assert packed_p.batch_sizes.tolist() == packed_t.batch_sizes.tolist()
    assert packed_p.sorted_indices.tolist() == packed_t.sorted_indices.tolist()
    padded, lengths = prnn.pad_packed_sequence(packed_p, batch_first=True, total_length=7)
    assert tuple(padded.shape) == (3, 7) and lengths.tolist() == [3, 5, 1]
    with pytest.raises(ValueError, match="decreasing order"):
        prnn.pack_padded_sequence(pydl.zeros(5, 2, 1), [2, 4])
    with pytest.raises(ValueError, match="lengths must lie in"):
        prnn.pack_padded_sequence(pydl.zeros(5, 2, 1), [6, 4])
