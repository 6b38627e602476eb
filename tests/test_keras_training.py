"""pydl.keras models: fit equals the same loop written with pydl.nn, History, callbacks, evaluate /
predict, weights on disk, summary(), functional and subclassed models."""
import re

import numpy as np
import pytest

import pydl
from pydl import keras, nn, optim
from pydl.keras import layers


def _data(n=96, features=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5)


def _mlp(name=None):
    return keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(3)], name=name)


def test_fit_equals_the_same_loop_in_pydl_nn():
    x, y = _data()
    pydl.manual_seed(0)
    model = _mlp()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ref = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    k0, b0, k1, b1 = model.get_weights()
    ref.load_state_dict({"0.weight": pydl.from_numpy(k0.T.copy()), "0.bias": pydl.from_numpy(b0),
                         "2.weight": pydl.from_numpy(k1.T.copy()), "2.bias": pydl.from_numpy(b1)})
    pydl.manual_seed(7)
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)  # shuffled each epoch by pydl.randperm

    pydl.manual_seed(7)
    opt, loss_fn = optim.SGD(ref.parameters(), lr=0.1, momentum=0.9), nn.CrossEntropyLoss()
    xt, yt = pydl.from_numpy(x), pydl.from_numpy(y)
    epoch_losses = []
    for _ in range(3):
        perm, total = pydl.randperm(len(x)), 0.0
        for i in range(0, len(x), 16):
            idx = perm[i:i + 16]
            opt.zero_grad()
            loss = loss_fn(ref(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        epoch_losses.append(total / len(x))
    np.testing.assert_allclose(history.history["loss"], epoch_losses, rtol=1e-5)
    got = model.get_weights()
    np.testing.assert_allclose(got[0], ref[0].weight.detach().numpy().T, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[3], ref[2].bias.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_history_keys_validation_split_and_evaluate():
    x, y = _data()
    model = _mlp()
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=32, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 2 for v in history.history.values()) and history.epoch == [0, 1]
    assert model.history is history
    # the validation split is the last 25%, before shuffling
    val_loss, val_acc = model.evaluate(x[72:], y[72:], verbose=0)
    assert val_loss == pytest.approx(history.history["val_loss"][-1], rel=1e-5)
    assert val_acc == pytest.approx(history.history["val_accuracy"][-1])
    logs = model.evaluate(x, y, batch_size=7, verbose=0, return_dict=True)
    logits = model.predict(x, batch_size=10, verbose=0)
    assert isinstance(logits, np.ndarray) and logits.shape == (96, 3)
    assert logs["accuracy"] == pytest.approx((logits.argmax(1) == y).mean())
    history = model.fit(x, y, epochs=1, validation_data=(x[:10], y[:10]), verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_progress_output(capsys):
    x, y = _data(n=40)
    model = _mlp()
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["acc"])
    model.fit(x, y, epochs=2, batch_size=8, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and re.match(r"Epoch 2/2 - [\d.]+s - loss: [\d.]+ - acc: [\d.]+$", lines[1])
    model.fit(x, y, epochs=1, batch_size=8, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out and "5/5" in out and "loss:" in out
    model.fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_early_stopping_stops_and_restores_the_best_weights():
    x, y = _data()
    yf = y.astype("float32").reshape(-1, 1)
    pydl.manual_seed(1)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=3.0), loss="mse")  # diverges from the start
    seen = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(model.get_weights()))
    stop = keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    history = model.fit(x, yf, epochs=20, validation_data=(x, yf), shuffle=False, verbose=0, callbacks=[record, stop])
    losses = history.history["val_loss"]
    assert len(losses) == 3 and losses[0] < losses[1] < losses[2] and stop.stopped_epoch == 2
    assert model.stop_training
    for got, best in zip(model.get_weights(), seen[0]):
        np.testing.assert_array_equal(got, best)
    assert model.evaluate(x, yf, verbose=0) == pytest.approx(losses[0], rel=1e-5)
    assert keras.callbacks.EarlyStopping(monitor="val_accuracy").mode == "max"


def test_model_checkpoint_and_weights_round_trip(tmp_path):
    x, y = _data()
    model = _mlp()
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    path = str(tmp_path / "ckpt-{epoch:02d}.weights.safetensors")
    model.fit(x, y, epochs=2, validation_split=0.2, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-01.weights.safetensors",
                                                          "ckpt-02.weights.safetensors"]
    clone = _mlp()
    clone.load_weights(str(tmp_path / "ckpt-02.weights.safetensors"))
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    model.save_weights(str(tmp_path / "final.safetensors"))
    assert set(pydl.load(str(tmp_path / "final.safetensors"))) == {"0.kernel", "0.bias", "1.kernel", "1.bias"}
    wrong = keras.Sequential([keras.Input((4,)), layers.Dense(9), layers.Dense(3)])
    with pytest.raises(ValueError, match="shape"):
        wrong.load_weights(str(tmp_path / "final.safetensors"))
    with pytest.raises(ValueError, match="not built"):
        keras.Sequential([layers.Dense(3)]).load_weights(str(tmp_path / "final.safetensors"))


def test_summary_text():
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(6, 5, padding="same", name="conv"),
                              layers.BatchNormalization(name="bn"), layers.MaxPooling2D(name="pool"),
                              layers.Flatten(name="flat"), layers.Dense(10, name="out")], name="lenet")
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert lines[0] == 'Model: "lenet"'
    rows = [re.split(r"\s{2,}", line.strip()) for line in lines if "(" in line and ")" in line and "params" not in line]
    assert rows[1:] == [["conv (Conv2D)", "(None, 28, 28, 6)", "156"], ["bn (BatchNormalization)", "(None, 28, 28, 6)", "24"],
                        ["pool (MaxPooling2D)", "(None, 14, 14, 6)", "0"], ["flat (Flatten)", "(None, 1176)", "0"],
                        ["out (Dense)", "(None, 10)", "11,770"]]
    assert " Total params: 11,950 (46.68 KB)" in text
    assert " Trainable params: 11,938 (46.63 KB)" in text and " Non-trainable params: 12 (48.00 B)" in text
    with pytest.raises(ValueError, match="not yet been built"):
        keras.Sequential([layers.Dense(2)]).summary()
    lazy = keras.Sequential([layers.Dense(2, name="d")], name="lazy")
    lazy(np.ones((3, 5), "float32"))  # built by its first call
    lines = []
    lazy.summary(print_fn=lines.append)
    assert any(re.search(r"d \(Dense\)\s+\(None, 2\)\s+12$", line) for line in lines)


def test_functional_model():
    inputs = keras.Input(shape=(4,), name="features")
    extra = keras.Input(shape=(2,), name="extra")
    h = layers.Dense(5, activation="relu", name="hidden")(inputs)
    merged = layers.Concatenate(name="cat")([h, extra])
    outputs = layers.Dense(1, activation="sigmoid", name="score")(merged)
    model = keras.Model(inputs=[inputs, extra], outputs=outputs, name="two_inputs")
    assert [l.name for l in model.layers] == ["features", "extra", "hidden", "cat", "score"]
    assert model.output.shape == (None, 1) and len(model.trainable_weights) == 4
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((6, 4)).astype("float32"), rng.standard_normal((6, 2)).astype("float32")
    out = model([a, b]).detach().numpy()
    k0, b0, k1, b1 = model.get_weights()
    ref = 1 / (1 + np.exp(-(np.concatenate([np.maximum(a @ k0 + b0, 0), b], 1) @ k1 + b1)))
    np.testing.assert_allclose(out, ref, rtol=1e-5)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit([a, b], (a[:, 0] > 0).astype("float32"), epochs=2, batch_size=3, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}
    with pytest.raises(ValueError, match="expected shape=\\(None, 4\\), found shape=\\(6, 3\\)"):
        model([a[:, :3], b])
    with pytest.raises(ValueError, match="graph disconnected"):
        keras.Model(inputs, outputs)
    with pytest.raises(TypeError, match="only flows through layers"):
        inputs * 2


def test_subclassed_model_passes_the_training_flag_down():
    seen = []

    class Probe(keras.layers.Layer):
        def call(self, x, training=None):
            seen.append(training)
            return x

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(6, activation="relu")
            self.probe = Probe()
            self.blocks = [layers.Dense(6), layers.Dropout(0.5)]
            self.heads = []  # filled after assignment: tracked all the same
            self.heads.append(layers.Dense(3))

        def call(self, x, training=None):
            x = self.probe(self.hidden(x))
            for block in self.blocks:
                x = block(x)
            return self.heads[0](x)

    x, y = _data(n=32)
    net = Net()
    net.compile(optimizer="rmsprop", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    net.fit(x, y, epochs=1, batch_size=32, verbose=0)
    net.predict(x, verbose=0)
    net(x)
    assert seen == [True, False, False]
    assert len(net.trainable_weights) == 6 and [l.name for l in net.layers][-1] == net.heads[0].name
    assert {"heads.0.bias", "heads.0.kernel", "blocks.0.kernel"} <= set(net.state_dict())
    np.testing.assert_array_equal(net.predict(x, verbose=0), net.predict(x, verbose=0))  # no dropout at inference


def test_fit_takes_a_dataloader_and_checks_its_arguments():
    from pydl.data import DataLoader, TensorDataset

    x, y = _data()
    model = _mlp()
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, y)
    with pytest.raises(TypeError, match="unexpected keyword"):
        model.compile(optimizer="adam", loss="mse", lr=0.1)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    loader = DataLoader(TensorDataset(pydl.from_numpy(x), pydl.from_numpy(y)), batch_size=16)
    history = model.fit(loader, epochs=2, validation_data=loader, verbose=0)
    assert len(history.history["val_accuracy"]) == 2
    with pytest.raises(ValueError, match="x has 96 samples but y has 95"):
        model.fit(x, y[:-1], verbose=0)
    with pytest.raises(ValueError, match="validation_split needs array inputs"):
        model.fit(loader, validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="unknown optimizer"):
        model.compile(optimizer="adamx", loss="mse")


def test_fit_on_each_device_with_one_hot_targets(device):
    """device= holds the weights there; numpy batches follow them. CategoricalCrossentropy on softmax outputs
    with keras.utils.to_categorical targets, as the course writes it."""
    x, y = _data()
    onehot = keras.utils.to_categorical(y, 3)
    assert onehot.shape == (96, 3) and onehot[np.arange(96), y].sum() == 96
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(16), layers.ReLU(), layers.Dense(3),
                              layers.Softmax()], device=device)
    assert all(w.device == pydl.device(device) for w in model.weights)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, onehot, epochs=5, batch_size=16, verbose=0)
    assert history.history["accuracy"][-1] > 0.8 and history.history["loss"][-1] < history.history["loss"][0]
    probs = model.predict(x, verbose=0)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    lazy = keras.Sequential([layers.Dense(2)], device=device)
    assert lazy(x).device == pydl.device(device) and lazy.layers[0].kernel.device == pydl.device(device)
    with pytest.raises(ValueError, match="out of range for num_classes=2"):
        keras.utils.to_categorical([0, 2], 2)
