"""nn.Module mechanics, containers, init and the regularization helpers."""
import math

import numpy as np
import pytest

import pydl
import pydl.nn as nn
from conftest import assert_close


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 3, bias=False)
        self.register_buffer("steps", pydl.zeros(1))
        self.register_buffer("scratch", pydl.zeros(2), persistent=False)

    def forward(self, x):
        return self.fc2(self.fc1(x))


def test_parameters_and_names_in_registration_order():
    m = TwoLayer()
    assert [n for n, _ in m.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in m.parameters())
    assert [n for n, _ in m.named_buffers()] == ["steps", "scratch"]
    assert [n for n, _ in m.named_children()] == ["fc1", "fc2"]
    assert len(list(m.modules())) == 3
    assert m.fc2.bias is None


def test_shared_parameters_are_listed_once():
    shared = nn.Linear(3, 3)
    m = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(m.parameters())) == 2


def test_state_dict_round_trip_and_strictness():
    a, b = TwoLayer(), TwoLayer()
    sd = a.state_dict()
    # as PyTorch: a module's own parameters and buffers, then its children's; non-persistent buffers left out
    assert list(sd) == ["steps", "fc1.weight", "fc1.bias", "fc2.weight"]
    b.load_state_dict(sd)
    x = pydl.randn(2, 4)
    assert_close(b(x), a(x).detach().numpy(), rtol=0, atol=0)
    missing = {k: v for k, v in sd.items() if k != "fc1.bias"}
    with pytest.raises(KeyError, match="missing keys: fc1.bias"):
        b.load_state_dict(missing)
    with pytest.raises(KeyError, match="unexpected keys: extra"):
        b.load_state_dict({**sd, "extra": pydl.zeros(1)})
    result = b.load_state_dict(missing, strict=False)
    assert result.missing_keys == ["fc1.bias"]
    with pytest.raises(ValueError, match=r"'fc1.weight' has shape \(8, 3\)"):
        b.load_state_dict({**sd, "fc1.weight": pydl.zeros(8, 3)})


def test_state_dict_shares_memory_and_loading_copies():
    m = nn.Linear(2, 2)
    sd = m.state_dict()
    with pydl.no_grad():
        m.weight.fill_(3.0)
    assert sd["weight"].numpy().tolist() == [[3.0, 3.0], [3.0, 3.0]]
    other = nn.Linear(2, 2)
    other.load_state_dict(sd)
    with pydl.no_grad():
        m.weight.fill_(4.0)
    assert other.weight.detach().numpy()[0, 0] == 3.0


def test_train_eval_apply_zero_grad():
    m = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Sequential(nn.Linear(2, 1)))
    assert m.training and m[2][0].training
    m.eval()
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "Dropout", "Linear", "Sequential", "Sequential"]
    m(pydl.randn(3, 2)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_to_keeps_parameter_identity_and_casts():
    m = nn.Linear(3, 2)
    w = m.weight
    m.double()
    assert m.weight is w and w.dtype == pydl.float64
    assert m(pydl.randn(1, 3, dtype=pydl.float64)).dtype == pydl.float64
    if not pydl.cuda.is_available():
        with pytest.raises(RuntimeError):
            m.cuda()


def test_sequential_indexing_slicing_and_repr():
    m = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    assert isinstance(m[0], nn.Linear) and isinstance(m[-1], nn.Linear) and len(m) == 3
    assert isinstance(m[1:], nn.Sequential) and len(m[1:]) == 2
    with pytest.raises(IndexError):
        m[3]
    text = repr(m)
    assert "(0): Linear(in_features=4, out_features=3, bias=True)" in text and "(1): ReLU()" in text


def test_sequential_fused_linear_relu_matches_unfused():
    pydl.manual_seed(0)
    lin = nn.Linear(5, 4)
    x = pydl.randn(6, 5)
    fused = nn.Sequential(lin, nn.ReLU())(x)
    plain = lin(x).relu()
    assert_close(fused, plain.detach().numpy(), rtol=1e-6, atol=1e-6)


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.ReLU())
    assert len(ml) == 4 and len(list(ml.parameters())) == 6
    md = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.ReLU()})
    assert "a" in md and list(md.keys()) == ["a", "b"] and len(list(md.parameters())) == 2


def test_setting_a_parameter_to_a_plain_tensor_is_refused():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="parameter 'weight'"):
        m.weight = pydl.zeros(2, 2)


def test_weight_data_and_size_as_in_pytorch():
    m = nn.Linear(300, 200)
    m.weight.data.normal_(0, 0.02)
    w = m.weight.detach().numpy()
    assert abs(w.std() - 0.02) < 0.002
    assert m.weight.size() == (200, 300) and m.weight.size(1) == 300


def test_default_linear_and_conv_init_bounds():
    pydl.manual_seed(1)
    lin = nn.Linear(400, 50)
    bound = 1 / math.sqrt(400)
    w = lin.weight.detach().numpy()
    assert w.min() >= -bound and w.max() <= bound and w.max() > 0.9 * bound
    conv = nn.Conv2d(3, 8, 5)
    cb = 1 / math.sqrt(3 * 25)
    assert np.abs(conv.weight.detach().numpy()).max() <= cb


@pytest.mark.parametrize("fn,expected_std", [
    (lambda t: nn.init.xavier_normal_(t), math.sqrt(2 / (500 + 400))),
    (lambda t: nn.init.xavier_uniform_(t), math.sqrt(6 / (500 + 400)) / math.sqrt(3)),
    (lambda t: nn.init.kaiming_normal_(t, nonlinearity="relu"), math.sqrt(2) / math.sqrt(500)),
    (lambda t: nn.init.kaiming_uniform_(t, nonlinearity="relu"), math.sqrt(2) / math.sqrt(500)),
    (lambda t: nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="tanh"), (5 / 3) / math.sqrt(400)),
])
def test_init_statistics(fn, expected_std):
    pydl.manual_seed(2)
    t = pydl.empty(400, 500)
    assert fn(t) is t
    assert abs(t.numpy().std() / expected_std - 1) < 0.03
    assert abs(t.numpy().mean()) < 0.05 * expected_std + 1e-3


def test_init_constants_and_gain():
    t = pydl.empty(3, 4)
    nn.init.constant_(t, 2.5)
    assert (t.numpy() == 2.5).all()
    nn.init.zeros_(t)
    assert (t.numpy() == 0).all()
    nn.init.ones_(t)
    assert (t.numpy() == 1).all()
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError):
        nn.init.xavier_uniform_(pydl.empty(5))


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in ((3, 4), (5,))]
    ps = [pydl.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    for p, t, a in zip(ps, ts, arrays):
        p.grad = pydl.tensor(a * 3)
        t.grad = torch.tensor(a * 3)
    total = nn.utils.clip_grad_norm_(ps, 1.0)
    ref = torch.nn.utils.clip_grad_norm_(ts, 1.0)
    assert total.item() == pytest.approx(ref.item())
    for p, t in zip(ps, ts):
        assert_close(p.grad, t.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_l1_penalty_value_and_gradient():
    p = pydl.tensor([1.0, -2.0, 3.0], requires_grad=True)
    loss = nn.utils.l1_penalty([p], weight=0.5)
    assert loss.item() == pytest.approx(3.0)
    loss.backward()
    assert p.grad.numpy().tolist() == [0.5, -0.5, 0.5]
