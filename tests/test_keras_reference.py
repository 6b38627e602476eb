"""pydl.keras against Keras 3 itself (on its PyTorch backend), where keras is installed: the same
weights give the same outputs, and the same fit gives the same weights and History."""
import os

import numpy as np
import pytest

if "keras" not in __import__("sys").modules:
    os.environ.setdefault("KERAS_BACKEND", "torch")
pytest.importorskip("torch")
K = pytest.importorskip("keras")
if K.backend.backend() != "torch":
    pytest.skip("keras runs on another backend here", allow_module_level=True)

import pydl  # noqa: E402
from pydl import keras as P  # noqa: E402


def _pair(make):
    reference, ours = make(K), make(P)
    ours.set_weights(reference.get_weights())
    return reference, ours


def _convnet(k):
    return k.Sequential([k.Input((9, 9, 3)), k.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
                         k.layers.MaxPooling2D(2, padding="same"), k.layers.Conv2D(5, (2, 3), padding="same"),
                         k.layers.AveragePooling2D(2, strides=1, padding="same"), k.layers.BatchNormalization(),
                         k.layers.Flatten(), k.layers.Dropout(0.3), k.layers.Dense(3, activation="softmax")])


def test_conv_model_outputs_match_keras():
    reference, ours = _pair(_convnet)
    x = np.random.default_rng(0).standard_normal((4, 9, 9, 3)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), reference.predict(x, verbose=0), atol=1e-6)
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in reference.get_weights()]
    assert [l.output.shape for l in ours.layers] == [tuple(l.output.shape) for l in reference.layers]
    assert ours.count_params() == reference.count_params()


@pytest.mark.parametrize("optimizer, kwargs", [("SGD", {"momentum": 0.9, "nesterov": True}), ("Adam", {}),
                                               ("RMSprop", {"momentum": 0.5}), ("Adagrad", {}), ("Adadelta", {})])
def test_fit_matches_keras(optimizer, kwargs):
    def mlp(k):
        return k.Sequential([k.Input((5,)), k.layers.Dense(8, activation="tanh"), k.layers.BatchNormalization(),
                             k.layers.Dense(3)])

    reference, ours = _pair(mlp)
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((64, 5)).astype("float32"), rng.integers(0, 3, 64)
    histories = []
    for k, model in ((K, reference), (P, ours)):
        model.compile(optimizer=getattr(k.optimizers, optimizer)(learning_rate=0.05, **kwargs),
                      loss=k.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        histories.append(model.fit(x, y, batch_size=16, epochs=3, shuffle=False, validation_split=0.25,
                                   verbose=0).history)
    assert sorted(histories[0]) == sorted(histories[1])
    for key in histories[0]:
        np.testing.assert_allclose(histories[1][key], histories[0][key], rtol=1e-4, atol=1e-6)
    for got, want in zip(ours.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
