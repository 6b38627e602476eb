"""pydl.serialization: save/load round trips through safetensors, never pickle."""
import io
import json
import math
import struct

import numpy as np
import pytest

import pydl
from pydl import nn
from pydl.serialization import load, save


def _np(t):
    return t.detach().cpu().numpy()


def _assert_same_tensor(a, b):
    assert isinstance(a, pydl.Tensor) and a.device == pydl.device("cpu")
    assert a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape)
    np.testing.assert_array_equal(_np(a), _np(b))


@pytest.mark.parametrize("dtype", [pydl.float32, pydl.float64, pydl.int64, pydl.uint8, pydl.bool])
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3, 4)])
def test_tensor_dtypes_round_trip(tmp_path, dtype, shape):
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal(shape) * 50).astype(dtype.numpy) if shape != () else np.array(7, dtype=dtype.numpy)
    t = pydl.tensor(arr)
    save({"x": t, "nested": {"y": t}}, tmp_path / "t.safetensors")
    back = load(tmp_path / "t.safetensors")
    _assert_same_tensor(back["x"], t)
    _assert_same_tensor(back["nested"]["y"], t)


def test_state_dict_round_trip_restores_a_model(tmp_path):
    pydl.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x = pydl.randn(5, 4)
    expected = _np(model(x))
    save(model.state_dict(), tmp_path / "model.safetensors")
    pydl.manual_seed(1)
    fresh = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    assert not np.allclose(_np(fresh(x)), expected)
    state = load(tmp_path / "model.safetensors")
    assert list(state) == list(model.state_dict())  # same keys, same order
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(_np(fresh(x)), expected)


def test_checkpoint_structure_round_trips(tmp_path):
    w = pydl.randn(3, 2)
    ckpt = {
        "model": {"fc.weight": w, "fc.bias": pydl.zeros(2)},
        "optimizer": {
            "state": {0: {"step": pydl.tensor(4.0), "exp_avg": pydl.ones(3, 2)}, 1: {}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False, "params": [0, 1],
                              "foreach": None, "name": "default"}],
        },
        "epoch": 3,
        "best": float("inf"),
        "loss_history": [0.5, 0.25, float("nan")],
        "big": 2 ** 63 + 5,
        "empty": {},
    }
    save(ckpt, tmp_path / "ckpt.safetensors")
    back = load(tmp_path / "ckpt.safetensors")
    assert set(back) == set(ckpt)
    _assert_same_tensor(back["model"]["fc.weight"], w)
    st = back["optimizer"]["state"]
    assert list(st) == [0, 1] and st[1] == {}  # int keys stay ints
    _assert_same_tensor(st[0]["step"], ckpt["optimizer"]["state"][0]["step"])
    assert back["optimizer"]["param_groups"] == ckpt["optimizer"]["param_groups"]
    assert isinstance(back["optimizer"]["param_groups"][0]["betas"], tuple)
    assert back["epoch"] == 3 and type(back["epoch"]) is int
    assert back["best"] == math.inf
    assert back["loss_history"][:2] == [0.5, 0.25] and math.isnan(back["loss_history"][2])
    assert back["big"] == 2 ** 63 + 5 and back["empty"] == {}


def test_file_is_plain_safetensors_with_dotted_names(tmp_path):
    from safetensors.numpy import load_file

    w = pydl.arange(6, dtype=pydl.float32).reshape(2, 3)
    save({"model": {"0.weight": w, "0.bias": pydl.ones(2)}, "epoch": 1}, tmp_path / "c.safetensors")
    raw = load_file(str(tmp_path / "c.safetensors"))
    assert sorted(raw) == ["model.0.bias", "model.0.weight"]
    np.testing.assert_array_equal(raw["model.0.weight"], _np(w))
    # dotted names that collide still round-trip, through the structure metadata
    t1, t2 = pydl.tensor([1.0]), pydl.tensor([2.0])
    save({"a.b": t1, "a": {"b": t2}}, tmp_path / "clash.safetensors")
    back = load(tmp_path / "clash.safetensors")
    _assert_same_tensor(back["a.b"], t1)
    _assert_same_tensor(back["a"]["b"], t2)


def test_plain_safetensors_file_loads_flat(tmp_path):
    from safetensors.numpy import save_file

    save_file({"w": np.ones((2, 2), np.float32), "i": np.arange(3, dtype=np.int16),
               "h": np.ones(2, np.float16)}, str(tmp_path / "plain.safetensors"))
    back = load(tmp_path / "plain.safetensors")
    assert set(back) == {"w", "i", "h"}
    assert back["w"].dtype == pydl.float32 and back["i"].dtype == pydl.int64 and back["h"].dtype == pydl.float16
    np.testing.assert_array_equal(_np(back["i"]), [0, 1, 2])


def test_readable_by_torch(tmp_path):
    pytest.importorskip("torch")
    from safetensors.torch import load_file

    w = pydl.randn(4, 3)
    save({"fc.weight": w, "steps": pydl.tensor(5)}, tmp_path / "m.safetensors")
    t = load_file(str(tmp_path / "m.safetensors"))
    np.testing.assert_array_equal(t["fc.weight"].numpy(), _np(w))
    assert t["steps"].item() == 5 and t["steps"].shape == ()


def test_other_inputs_and_outputs(tmp_path):
    base = pydl.arange(12, dtype=pydl.float32).reshape(3, 4)
    view = base.transpose(0, 1)  # not contiguous
    param = pydl.ones(2, requires_grad=True)
    save([view, (param, "tag")], tmp_path / "list.safetensors")
    back = load(tmp_path / "list.safetensors")
    assert isinstance(back, list) and isinstance(back[1], tuple) and back[1][1] == "tag"
    np.testing.assert_array_equal(_np(back[0]), _np(base).T)
    assert not back[1][0].requires_grad
    # loaded tensors own writable memory
    back[0].add_(1.0)
    np.testing.assert_array_equal(_np(view), _np(base).T)
    save(base, tmp_path / "single.safetensors")
    _assert_same_tensor(load(tmp_path / "single.safetensors"), base)
    buf = io.BytesIO()
    save({"x": base, "n": np.float32(2.5), "k": np.int64(3)}, buf)
    buf.seek(0)
    out = load(buf, map_location="cpu")
    _assert_same_tensor(out["x"], base)
    assert out["n"] == 2.5 and out["k"] == 3


@pytest.mark.parametrize("bad,key", [({"a": {"b": object()}}, "a.b"), ({"x": np.zeros(3)}, "x"),
                                     ({"s": {1, 2}}, "s"), ({"m": {(1, 2): 3}}, "m"),
                                     ({"l": [1, lambda: 0]}, "l.1")])
def test_unserializable_values_raise_type_error(tmp_path, bad, key):
    with pytest.raises(TypeError) as e:
        save(bad, tmp_path / "bad.safetensors")
    assert f"'{key}'" in str(e.value)
    assert not (tmp_path / "bad.safetensors").exists()  # nothing half-written


def test_not_safetensors_raises_value_error(tmp_path):
    cases = {"text.safetensors": b"hello, this is not a checkpoint",
             "empty.safetensors": b"",
             "pickle.pt": b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.",
             "badjson.safetensors": struct.pack("<Q", 4) + b"{{{{"}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError) as e:
            load(tmp_path / name)
        assert name in str(e.value), str(e.value)
    save({"w": pydl.ones(100)}, tmp_path / "full.safetensors")
    raw = (tmp_path / "full.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(raw[:-50])
    with pytest.raises(ValueError, match="cut.safetensors"):
        load(tmp_path / "cut.safetensors")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "absent.safetensors")


def test_tampered_structure_raises(tmp_path):
    from safetensors.numpy import save_file

    meta = {"pydl.structure": json.dumps({"version": 1, "root": {"t": "missing"}})}
    save_file({"w": np.ones(2, np.float32)}, str(tmp_path / "t.safetensors"), metadata=meta)
    with pytest.raises(ValueError, match="missing"):
        load(tmp_path / "t.safetensors")
    meta = {"pydl.structure": json.dumps({"version": 1, "root": {"eval": "__import__('os')"}})}
    save_file({"w": np.ones(2, np.float32)}, str(tmp_path / "u.safetensors"), metadata=meta)
    with pytest.raises(ValueError, match="unknown structure"):
        load(tmp_path / "u.safetensors")


def test_generator_state_in_checkpoint(tmp_path):
    from pydl.data import Generator

    g = Generator(123)
    g.rng.random(4)
    save({"gen": g.get_state()}, tmp_path / "g.safetensors")
    ahead = g.rng.random(3)
    g2 = Generator(0).set_state(load(tmp_path / "g.safetensors")["gen"])
    np.testing.assert_array_equal(g2.rng.random(3), ahead)
