"""pydl.keras.GradientTape: gradients in the order of the sources, None where unconnected, persistence,
watch(), and values against PyTorch float64."""
import numpy as np
import pytest

import pydl
from pydl import keras


def _var(values):
    return keras.Variable(pydl.tensor(values, dtype=pydl.float64))


def test_gradients_follow_source_order_with_none_for_unconnected():
    a, b, unused = _var([1.0, 2.0]), _var([3.0, -1.0]), _var([5.0])
    with keras.GradientTape() as tape:
        loss = (a * a * b).sum()
    grads = tape.gradient(loss, [b, unused, a])
    assert grads[1] is None
    np.testing.assert_allclose(grads[0].numpy(), [1.0, 4.0])       # d/db = a^2
    np.testing.assert_allclose(grads[2].numpy(), [6.0, -4.0])      # d/da = 2ab
    assert a.grad is None and b.grad is None                       # .grad is never touched
    single = keras.GradientTape()
    with single:
        y = (a * 3.0).sum()
    assert tuple(single.gradient(y, a).numpy()) == (3.0, 3.0)      # one source: one gradient, not a list
    with keras.GradientTape() as tape:
        y = (a * 2.0).sum()
    zeros = tape.gradient(y, {"a": a, "u": unused}, unconnected_gradients="zero")
    assert zeros["u"].numpy().tolist() == [0.0] and zeros["a"].numpy().tolist() == [2.0, 2.0]


def test_non_persistent_tape_refuses_a_second_gradient_and_persistent_allows_it():
    x = _var([2.0])
    with keras.GradientTape() as tape:
        y = x * x
        z = y * y
    tape.gradient(z, x)
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.gradient(y, x)
    with keras.GradientTape(persistent=True) as tape:
        y = x * x
        z = y * y
    assert tape.gradient(z, x).numpy().tolist() == [32.0]  # 4 x^3
    assert tape.gradient(y, x).numpy().tolist() == [4.0]   # 2 x
    assert tape.gradient(z, y).numpy().tolist() == [8.0]   # a recorded intermediate as the source: 2 y


def test_watch_records_constants_and_leaves_them_as_they_were():
    x = pydl.tensor([3.0], dtype=pydl.float64)
    with keras.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    assert tape.gradient(y, x).numpy().tolist() == [6.0]
    assert not x.requires_grad
    c = pydl.tensor([3.0])
    with keras.GradientTape() as tape:
        y = c * c
    assert tape.gradient(y, c) is None  # not watched: not recorded
    with pytest.raises(TypeError, match="only floating tensors"):
        keras.GradientTape().watch(pydl.tensor([1, 2]))
    with pytest.raises(TypeError, match="not a pydl Tensor"):
        with keras.GradientTape() as tape:
            y = c * 2
        tape.gradient(y, [np.ones(1)])


def test_stop_recording_and_non_scalar_targets():
    x = _var([1.0, 2.0, 3.0])
    with keras.GradientTape() as tape:
        y = x * x
        with tape.stop_recording():
            ignored = x * 10
    assert not ignored.requires_grad
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [2.0, 4.0, 6.0])  # a vector target is summed
    with keras.GradientTape() as tape:
        y = x * x
    weights = pydl.tensor([1.0, 0.0, -1.0], dtype=pydl.float64)
    np.testing.assert_allclose(tape.gradient(y, x, output_gradients=weights).numpy(), [2.0, 0.0, -6.0])
    with keras.GradientTape() as tape:
        y1, y2 = (x * 2).sum(), (x * x).sum()
    np.testing.assert_allclose(tape.gradient([y1, y2], x).numpy(), [4.0, 6.0, 8.0])  # several targets add up


def test_tape_gradients_of_a_model_match_torch_float64():
    torch = pytest.importorskip("torch")
    pydl.manual_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(7, activation="tanh", dtype="float64"),
                              keras.layers.Dense(3, dtype="float64")], name="m64")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 5)), rng.integers(0, 3, 8)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with keras.GradientTape() as tape:
        loss = loss_fn(y, model(pydl.from_numpy(x)))  # a float64 tensor (numpy input would become float32)
    grads = tape.gradient(loss, model.trainable_weights)
    tw = [torch.tensor(w, requires_grad=True) for w in model.get_weights()]
    h = torch.tanh(torch.from_numpy(x) @ tw[0] + tw[1])
    ref = torch.nn.functional.cross_entropy(h @ tw[2] + tw[3], torch.from_numpy(y))
    ref.backward()
    assert abs(loss.item() - ref.item()) < 1e-12
    for g, t in zip(grads, tw):
        np.testing.assert_allclose(g.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-14)
