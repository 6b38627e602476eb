"""pydl.keras layers: numerics by hand and against pydl's NCHW kernels / PyTorch float64, lazy builds,
weight bookkeeping, initializers."""
import math

import numpy as np
import pytest

import pydl
from pydl import keras
from pydl.keras import layers
from pydl.nn import functional as F


def _np(t):
    return t.detach().numpy()


def test_dense_is_x_at_kernel_plus_bias_and_builds_lazily():
    layer = layers.Dense(3, dtype="float64")
    assert not layer.built and layer.weights == []
    x = np.random.default_rng(0).standard_normal((5, 4))
    y = layer(x)
    assert layer.built and tuple(layer.kernel.shape) == (4, 3) and tuple(layer.bias.shape) == (3,)
    np.testing.assert_allclose(_np(y), x @ layer.kernel.numpy() + layer.bias.numpy(), rtol=1e-12)
    relu = layers.Dense(3, activation="relu", dtype="float64")
    out = relu(x)
    np.testing.assert_allclose(_np(out), np.maximum(x @ relu.kernel.numpy() + relu.bias.numpy(), 0), rtol=1e-12)
    x3 = np.ones((2, 7, 4))  # Dense acts on the last axis
    assert tuple(layer(x3).shape) == (2, 7, 3)


def test_dense_bad_input_names_the_layer():
    layer = layers.Dense(3, name="head")
    layer(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match="Dense 'head'.*4 features.*\\(2, 5\\)"):
        layer(np.ones((2, 5), "float32"))
    with pytest.raises(ValueError, match="units must be a positive int"):
        layers.Dense(0)
    with pytest.raises(ValueError, match="unknown activation 'relux'"):
        layers.Dense(2, activation="relux")


def test_glorot_uniform_and_zeros_are_the_defaults():
    pydl.manual_seed(0)
    layer = layers.Dense(300)
    layer.build((None, 200))
    k = layer.kernel.numpy()
    limit = math.sqrt(6 / (200 + 300))
    assert np.abs(k).max() <= limit and np.abs(k).max() > 0.95 * limit
    assert abs(k.std() - limit / math.sqrt(3)) < 0.01 * limit
    assert np.all(layer.bias.numpy() == 0)
    conv = layers.Conv2D(8, 3)
    conv.build((None, 10, 10, 4))  # fans: 3 * 3 * 4 in, 3 * 3 * 8 out
    assert np.abs(conv.kernel.numpy()).max() <= math.sqrt(6 / (36 + 72))


def test_initializers_by_name():
    from pydl.keras import initializers

    assert initializers.compute_fans((3, 3, 4, 8)) == (36, 72)
    pydl.manual_seed(1)
    he = initializers.get("he_normal")((400, 300)).numpy()
    assert np.abs(he).max() <= 2 * math.sqrt(2 / 400) / 0.8796 + 1e-6  # truncated at two stddevs
    assert abs(he.std() - math.sqrt(2 / 400)) < 0.05 * math.sqrt(2 / 400)
    assert np.all(initializers.get("ones")((2, 2)).numpy() == 1)
    with pytest.raises(ValueError, match="unknown initializer 'glorot'"):
        initializers.get("glorot")


def test_conv2d_channels_last_equals_nchw_conv_of_transposed_input():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 9, 8, 3))
    for kwargs in ({}, {"strides": 2, "padding": "same"}, {"padding": "same", "dilation_rate": 2},
                   {"strides": (2, 1), "padding": "same", "kernel_size": (2, 4)}):
        conv = layers.Conv2D(4, **{"kernel_size": 3, **kwargs}, dtype="float64")
        conv.build(x.shape)
        conv.bias.assign(rng.standard_normal(4))
        y = conv(x)
        w = pydl.from_numpy(conv.kernel.numpy().transpose(3, 2, 0, 1).copy())  # (kh, kw, in, out) -> NCHW's
        xt = pydl.from_numpy(x.transpose(0, 3, 1, 2).copy())
        kh, kw = conv.kernel_size
        if conv.padding == "same":  # Keras's 'same': ceil(n / stride) outputs, odd padding's extra at the end
            pads = []
            for n, k, s, d in zip(x.shape[1:3], (kh, kw), conv.strides, conv.dilation_rate):
                total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
                pads.append((total // 2, total - total // 2))
            xt = F.pad(xt, (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
        ref = F.conv2d(xt, w, pydl.from_numpy(conv.bias.numpy()), conv.strides, 0, conv.dilation_rate)
        np.testing.assert_allclose(_np(y), ref.numpy().transpose(0, 2, 3, 1), rtol=1e-10, atol=1e-12)
        if conv.padding == "same":
            assert tuple(y.shape[1:3]) == tuple(math.ceil(n / s) for n, s in zip(x.shape[1:3], conv.strides))


def test_pooling_channels_last_against_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((2, 7, 6, 3))
    xt = torch.from_numpy(x).permute(0, 3, 1, 2)
    y = layers.MaxPooling2D(dtype="float64")(x)
    np.testing.assert_allclose(_np(y), torch.nn.functional.max_pool2d(xt, 2).permute(0, 2, 3, 1).numpy())
    y = layers.AveragePooling2D(3, strides=2, dtype="float64")(x)
    np.testing.assert_allclose(_np(y), torch.nn.functional.avg_pool2d(xt, 3, 2).permute(0, 2, 3, 1).numpy())
    # 'same' with an odd total pad (7 rows, stride 2): the extra row is at the bottom, and averages skip padding
    y = layers.AveragePooling2D(2, padding="same", dtype="float64")(x)
    padded = torch.nn.functional.pad(xt, (0, 0, 0, 1))
    sums = torch.nn.functional.avg_pool2d(padded, 2, divisor_override=1)
    counts = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(torch.ones(1, 1, 7, 6, dtype=xt.dtype),
                                                                    (0, 0, 0, 1)), 2, divisor_override=1)
    np.testing.assert_allclose(_np(y), (sums / counts).permute(0, 2, 3, 1).numpy(), rtol=1e-12)
    y = layers.MaxPooling2D(2, padding="same", dtype="float64")(-np.abs(x))  # -inf padding, never zeros
    ref = torch.nn.functional.max_pool2d(torch.nn.functional.pad(-xt.abs(), (0, 0, 0, 1), value=-np.inf), 2)
    np.testing.assert_allclose(_np(y), ref.permute(0, 2, 3, 1).numpy())
    assert tuple(layers.GlobalAveragePooling2D()(x).shape) == (2, 3)


def test_batch_normalization_training_and_inference_by_hand():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 4, 4, 3)) * 2 + 1
    bn = layers.BatchNormalization(dtype="float64")
    y = bn(x, training=True)
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))  # Keras: the biased batch variance throughout
    np.testing.assert_allclose(_np(y), (x - mean) / np.sqrt(var + 1e-3), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.01 * mean, rtol=1e-9)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.99 + 0.01 * var, rtol=1e-9)
    y = bn(x)  # inference by default: the moving statistics
    np.testing.assert_allclose(_np(y), (x - 0.01 * mean) / np.sqrt(0.99 + 0.01 * var + 1e-3), rtol=1e-9)
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert len(bn.trainable_weights) == 2 and len(bn.non_trainable_weights) == 2
    bn.trainable = False  # frozen: inference mode even when training, as Keras
    before = bn.moving_mean.numpy()
    bn(x, training=True)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), before)
    assert bn.trainable_weights == [] and len(bn.non_trainable_weights) == 4


def test_dropout_only_when_training_and_flatten_order():
    x = np.ones((200, 50), "float32")
    drop = layers.Dropout(0.5)
    np.testing.assert_array_equal(_np(drop(x)), x)
    pydl.manual_seed(0)
    y = _np(drop(x, training=True))
    assert set(np.unique(y)) == {0.0, 2.0} and 0.45 < (y == 0).mean() < 0.55
    img = np.arange(2 * 3 * 4 * 5, dtype="float32").reshape(2, 3, 4, 5)  # NHWC flattens in (H, W, C) order
    np.testing.assert_array_equal(_np(layers.Flatten()(img)), img.reshape(2, -1))
    np.testing.assert_array_equal(_np(layers.Reshape((12, 5))(img)), img.reshape(2, 12, 5))


def test_custom_layer_weights_and_trainable_flags():
    class Block(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(4)
            self.bn = layers.BatchNormalization()
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
            self.count = self.add_weight(shape=(1,), initializer="zeros", trainable=False, name="count")

        def call(self, x, training=None):
            return self.bn(self.dense(x), training=training) * self.scale

    block = Block()
    block(np.ones((3, 2), "float32"))
    names = [w.name for w in block.weights]
    assert names == ["scale", "count", "kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.name for w in block.trainable_weights] == ["scale", "kernel", "bias", "gamma", "beta"]
    assert len(block.non_trainable_weights) == 3
    block.dense.trainable = False
    assert [w.name for w in block.trainable_weights] == ["scale", "gamma", "beta"]
    assert not block.dense.kernel.requires_grad
    block.trainable = False
    assert block.trainable_weights == [] and len(block.non_trainable_weights) == 8
    block.trainable = True
    assert len(block.trainable_weights) == 5
    assert sorted(block.state_dict()) == sorted(["scale", "count", "dense.kernel", "dense.bias", "bn.gamma", "bn.beta",
                                                 "bn.moving_mean", "bn.moving_variance"])


def test_variable_assign_numpy_and_set_weights():
    layer = layers.Dense(2)
    layer.build((None, 3))
    layer.kernel.assign(np.arange(6, dtype="float32").reshape(3, 2))
    k = layer.kernel.numpy()
    k[0, 0] = 99  # numpy() is a copy
    np.testing.assert_array_equal(layer.kernel.numpy(), np.arange(6).reshape(3, 2))
    layer.bias.assign_add(np.ones(2))
    assert layer.bias.numpy().tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="shape \\(2,\\)"):
        layer.kernel.assign(np.ones(2))
    with pytest.raises(ValueError, match="expected 2 arrays, got 1"):
        layer.set_weights([np.zeros((3, 2))])
    layer.set_weights([np.zeros((3, 2)), np.ones(2)])
    assert layer.get_weights()[1].tolist() == [1.0, 1.0]


def test_activations_by_name_match_pydl():
    from pydl.keras import activations

    x = pydl.linspace(-3, 3, 13)
    for name, ref in (("relu", F.relu(x)), ("sigmoid", pydl.sigmoid(x)), ("tanh", pydl.tanh(x)),
                      ("softmax", F.softmax(x, dim=-1)), ("linear", x), ("elu", F.elu(x)),
                      ("leaky_relu", F.leaky_relu(x, 0.2)), ("swish", F.silu(x))):
        np.testing.assert_allclose(_np(activations.get(name)(x)), _np(ref))
    assert activations.get(None) is activations.linear
