"""pydl.keras optimizers (Keras's update rules, written out in numpy, float64), losses (y_true first;
numpy references) and metrics."""
import numpy as np
import pytest

import pydl
from pydl import keras
from pydl.keras import losses, metrics, optimizers

RNG = np.random.default_rng(0)
W0 = RNG.standard_normal((3, 2))
GRADS = [RNG.standard_normal((3, 2)) * s for s in (1.0, 0.01, 0.5)]  # a small one, where epsilon matters


def _run(opt):
    var = keras.Variable(pydl.from_numpy(W0.copy()))
    for g in GRADS:
        opt.apply_gradients([(pydl.from_numpy(g), var)])
    assert opt.iterations == len(GRADS)
    return var.numpy()


def _sgd(lr, momentum, nesterov):
    w, v = W0.copy(), np.zeros_like(W0)
    for g in GRADS:
        v = momentum * v - lr * g
        w = w + (momentum * v - lr * g if nesterov else v)
    return w


def _adam(lr, b1, b2, eps, amsgrad=False):
    w, m, v, vhat = W0.copy(), np.zeros_like(W0), np.zeros_like(W0), np.zeros_like(W0)
    for t, g in enumerate(GRADS, 1):
        m += (g - m) * (1 - b1)
        v += (g * g - v) * (1 - b2)
        vhat = np.maximum(vhat, v)
        lr_t = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        w -= lr_t * m / (np.sqrt(vhat if amsgrad else v) + eps)
    return w


def _rmsprop(lr, rho, momentum, eps, centered):
    w, vel, avg, mom = W0.copy(), np.zeros_like(W0), np.zeros_like(W0), np.zeros_like(W0)
    for g in GRADS:
        vel = rho * vel + (1 - rho) * g * g
        avg = rho * avg + (1 - rho) * g
        inc = lr * g / np.sqrt((vel - avg ** 2 if centered else vel) + eps)
        mom = momentum * mom + inc
        w -= mom if momentum else inc
    return w


def _adagrad(lr, init, eps):
    w, acc = W0.copy(), np.full_like(W0, init)
    for g in GRADS:
        acc += g * g
        w -= lr * g / np.sqrt(acc + eps)
    return w


def _adadelta(lr, rho, eps):
    w, ag, ad = W0.copy(), np.zeros_like(W0), np.zeros_like(W0)
    for g in GRADS:
        ag = rho * ag + (1 - rho) * g * g
        delta = -np.sqrt(ad + eps) / np.sqrt(ag + eps) * g
        ad = rho * ad + (1 - rho) * delta * delta
        w += lr * delta
    return w


@pytest.mark.parametrize("make, ref", [
    (lambda: optimizers.SGD(0.1), lambda: _sgd(0.1, 0.0, False)),
    (lambda: optimizers.SGD(0.1, momentum=0.9), lambda: _sgd(0.1, 0.9, False)),
    (lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True), lambda: _sgd(0.1, 0.9, True)),
    (lambda: optimizers.Adam(0.1, epsilon=1e-2), lambda: _adam(0.1, 0.9, 0.999, 1e-2)),
    (lambda: optimizers.Adam(0.1, beta_1=0.5, amsgrad=True), lambda: _adam(0.1, 0.5, 0.999, 1e-7, True)),
    (lambda: optimizers.RMSprop(0.1, epsilon=1e-3), lambda: _rmsprop(0.1, 0.9, 0.0, 1e-3, False)),
    (lambda: optimizers.RMSprop(0.1, momentum=0.5, epsilon=1e-3, centered=True),
     lambda: _rmsprop(0.1, 0.9, 0.5, 1e-3, True)),
    (lambda: optimizers.Adagrad(0.1, epsilon=1e-2), lambda: _adagrad(0.1, 0.1, 1e-2)),
    (lambda: optimizers.Adadelta(1.0), lambda: _adadelta(1.0, 0.95, 1e-7)),
])
def test_optimizers_follow_keras_update_rules(make, ref):
    np.testing.assert_allclose(_run(make()), ref(), rtol=1e-12, atol=1e-13)


def test_keras_defaults_and_argument_checks():
    assert (optimizers.SGD().learning_rate, optimizers.Adam().epsilon, optimizers.RMSprop().rho) == (0.01, 1e-7, 0.9)
    assert (optimizers.Adagrad().initial_accumulator_value, optimizers.Adadelta().rho) == (0.1, 0.95)
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    with pytest.raises(ValueError, match="learning_rate must be"):
        optimizers.SGD(-1.0)
    var = keras.Variable(pydl.zeros(2, 2))
    opt = optimizers.SGD()
    with pytest.raises(ValueError, match="no gradients provided"):
        opt.apply_gradients([(None, var)])
    with pytest.raises(ValueError, match="has shape \\(2,\\), the variable \\(2, 2\\)"):
        opt.apply_gradients([(pydl.zeros(2), var)])
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply_gradients([(pydl.ones(2, 2), var), (None, keras.Variable(pydl.zeros(1)))])
    np.testing.assert_allclose(var.numpy(), -0.01)


def test_weight_decay_and_clipping():
    var = keras.Variable(pydl.tensor([1.0, 2.0], dtype=pydl.float64))
    optimizers.SGD(0.1, weight_decay=0.5).apply_gradients([(pydl.zeros(2, dtype=pydl.float64), var)])
    np.testing.assert_allclose(var.numpy(), [0.95, 1.9])  # decoupled: var -= lr * wd * var
    var = keras.Variable(pydl.zeros(2, dtype=pydl.float64))
    optimizers.SGD(1.0, clipnorm=1.0).apply_gradients([(pydl.tensor([3.0, 4.0], dtype=pydl.float64), var)])
    np.testing.assert_allclose(var.numpy(), [-0.6, -0.8])


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_losses_take_y_true_first_and_match_numpy():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((6, 4))
    labels = rng.integers(0, 4, 6)
    onehot = np.eye(4)[labels]
    t = pydl.from_numpy(logits)
    ce = -np.log(_softmax(logits)[np.arange(6), labels])
    assert losses.SparseCategoricalCrossentropy(from_logits=True)(labels, t).item() == pytest.approx(ce.mean())
    assert losses.SparseCategoricalCrossentropy(from_logits=True)(labels[:, None], t).item() == pytest.approx(ce.mean())
    assert losses.CategoricalCrossentropy(from_logits=True)(onehot, t).item() == pytest.approx(ce.mean())
    probs = _softmax(logits)
    probs[0] = [1.0, 0.0, 0.0, 0.0]  # a zero probability is clipped to epsilon, never log(0)
    clipped = np.clip(probs, 1e-7, 1 - 1e-7)
    ref = -(onehot * np.log(clipped)).sum(-1)
    np.testing.assert_allclose(losses.CategoricalCrossentropy(reduction="none")(onehot, pydl.from_numpy(probs)).numpy(),
                               ref, rtol=1e-12)
    assert losses.SparseCategoricalCrossentropy()(labels, pydl.from_numpy(probs)).item() == pytest.approx(ref.mean())
    p = 1 / (1 + np.exp(-logits[:, :1]))
    yb = (labels[:, None] % 2).astype(float)
    bce = -(yb * np.log(p) + (1 - yb) * np.log(1 - p))
    assert losses.BinaryCrossentropy(from_logits=True)(yb, pydl.from_numpy(logits[:, :1])).item() == \
        pytest.approx(bce.mean())
    assert losses.BinaryCrossentropy()(yb[:, 0], pydl.from_numpy(p)).item() == pytest.approx(bce.mean())  # (N,) vs (N,1)
    assert losses.MeanSquaredError()(onehot, t).item() == pytest.approx(((onehot - logits) ** 2).mean())
    weights = np.array([1.0, 0, 0, 0, 0, 2.0])
    assert losses.SparseCategoricalCrossentropy(from_logits=True)(labels, t, sample_weight=weights).item() == \
        pytest.approx((ce * weights).sum() / 6)  # sum_over_batch_size divides by the batch, not the weights
    assert losses.get("mse")([1.0, 2.0], pydl.tensor([1.0, 4.0], dtype=pydl.float64)).item() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="expected y_true of shape \\(6,\\)"):
        losses.SparseCategoricalCrossentropy()(labels[:5], t)
    with pytest.raises(ValueError, match="unknown loss 'hinge2'"):
        losses.get("hinge2")


def test_loss_gradient_matches_torch_float64():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    logits, labels = rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
    x = keras.Variable(pydl.from_numpy(logits))
    with keras.GradientTape() as tape:
        loss = losses.SparseCategoricalCrossentropy(from_logits=True)(labels, x)
    tx = torch.tensor(logits, requires_grad=True)
    torch.nn.functional.cross_entropy(tx, torch.from_numpy(labels)).backward()
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), tx.grad.numpy(), rtol=1e-12)


def test_metrics():
    acc = metrics.get("accuracy", pydl.tensor([0, 1]), pydl.zeros(2, 3))
    acc.update_state([0, 2], pydl.tensor([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1]]))
    acc.update_state([1], pydl.tensor([[0.0, 1.0, 0.0]]))
    assert float(acc.result()) == pytest.approx(2 / 3)
    acc.reset_state()
    assert float(acc.result()) == 0.0
    cat = metrics.get("accuracy", pydl.zeros(2, 3), pydl.zeros(2, 3))
    assert float(cat([[0, 0, 1]], pydl.tensor([[0.1, 0.2, 0.7]]))) == 1.0
    binary = metrics.get("accuracy", pydl.zeros(4), pydl.zeros(4, 1))
    assert float(binary([1, 0, 1, 0], pydl.tensor([[0.9], [0.4], [0.2], [0.6]]))) == 0.5
    logits = metrics.get("acc", pydl.zeros(2), pydl.zeros(2, 1), from_logits=True)  # logits: threshold 0
    assert float(logits([1, 0], pydl.tensor([[0.3], [-0.2]]))) == 1.0
    mean = metrics.Mean()
    mean.update_state([1.0, 2.0, 3.0])
    mean.update_state([10.0], sample_weight=[3.0])
    assert float(mean.result()) == pytest.approx(36 / 6)
    assert float(metrics.get("mae")([1.0, 2.0], pydl.tensor([2.0, 4.0]))) == pytest.approx(1.5)
