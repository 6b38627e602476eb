"""The course's Keras code (issue 19), run verbatim after renaming tf.keras -> pydl.keras, tf.matmul ->
pydl.matmul, tf.math.sigmoid -> pydl.sigmoid and tf.GradientTape -> pydl.keras.GradientTape."""
import numpy as np

import pydl
import pydl.keras
from pydl.data.datasets import load_mnist_5k


def _digits(n):
    images, labels = load_mnist_5k()
    return images.numpy()[:n].reshape(n, 784).astype("float32") / 255.0, labels.numpy()[:n]


def test_custom_dense_layer_with_add_weight_in_init():
    class MyDenseLayer(pydl.keras.layers.Layer):
        def __init__(self, input_dim, output_dim):
            super(MyDenseLayer, self).__init__()

            # Initialize weights and bias
            self.W = self.add_weight([input_dim, output_dim])
            self.b = self.add_weight([1, output_dim])

        def call(self, inputs):
            # Forward propagate the inputs
            z = pydl.matmul(inputs, self.W) + self.b

            # Feed through a non-linear activation
            output = pydl.sigmoid(z)

            return output

    pydl.manual_seed(0)
    layer = MyDenseLayer(2, 3)
    x = pydl.tensor([[1.0, 2.0]])
    y = layer(x)
    W, b = layer.W.numpy(), layer.b.numpy()
    np.testing.assert_allclose(y.detach().numpy(), 1 / (1 + np.exp(-(x.numpy() @ W + b))), rtol=1e-6)
    assert [tuple(w.shape) for w in layer.trainable_weights] == [(2, 3), (1, 3)]
    assert np.all(b != 0)  # add_weight's default initializer is glorot_uniform, for biases too (Keras 3)


def test_custom_dense_layer_built_from_the_input_shape():
    class OurDenseLayer(pydl.keras.layers.Layer):
        def __init__(self, n_output_nodes):
            super(OurDenseLayer, self).__init__()
            self.n_output_nodes = n_output_nodes

        def build(self, input_shape):
            d = int(input_shape[-1])
            # Define and initialize parameters: a weight matrix W and bias b
            self.W = self.add_weight("weight", shape=[d, self.n_output_nodes])
            self.b = self.add_weight("bias", shape=[1, self.n_output_nodes])

        def call(self, x):
            z = pydl.matmul(x, self.W) + self.b
            y = pydl.sigmoid(z)
            return y

    pydl.manual_seed(1)
    layer = OurDenseLayer(3)
    layer.build((1, 2))
    x_input = pydl.tensor([[1, 2.]])
    y = layer.call(x_input)
    assert y.detach().numpy().shape == (1, 3) and layer.built
    assert [w.name for w in layer.weights] == ["weight", "bias"]
    assert layer(x_input).shape == (1, 3) and len(layer.weights) == 2  # no second build on the first call


def test_dense_layer_with_activation():
    layer = pydl.keras.layers.Dense(units=2, activation='sigmoid')
    x = np.array([[0.5, -1.0, 2.0]], dtype="float32")
    out = layer(x).detach().numpy()
    ref = 1 / (1 + np.exp(-(x @ layer.kernel.numpy() + layer.bias.numpy())))
    np.testing.assert_allclose(out, ref, rtol=1e-6)


def test_training_loop_with_gradient_tape():
    x_all, y_all = _digits(128)
    dataset = [(x_all[i:i + 32], y_all[i:i + 32]) for i in range(0, 128, 32)]
    pydl.manual_seed(0)

    model = pydl.keras.Sequential([
        pydl.keras.layers.Dense(64, activation='sigmoid'),
        pydl.keras.layers.Dense(10, activation='sigmoid')
    ])
    optimizer = pydl.keras.optimizers.SGD(learning_rate=1e-3)
    loss_fn = pydl.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    for x, y in dataset:
        before = [w.numpy() for w in model.trainable_weights] if model.built else None
        with pydl.keras.GradientTape() as tape:
            logits = model(x)
            loss = loss_fn(y, logits)
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))

        assert [tuple(g.shape) for g in grads] == [(784, 64), (64,), (64, 10), (10,)]
        if before is not None:  # each step is w -= 1e-3 * grad, in the order of trainable_weights
            for w, b, g in zip(model.trainable_weights, before, grads):
                np.testing.assert_allclose(w.numpy(), b - 1e-3 * g.numpy(), rtol=1e-5, atol=1e-7)
    assert np.isfinite(loss.item()) and optimizer.iterations == 4


def test_sequential_compile_fit_evaluate():
    x, y = _digits(512)
    pydl.manual_seed(0)
    model = pydl.keras.Sequential([
        pydl.keras.layers.Dense(64, activation='relu', input_shape=(784,)),
        pydl.keras.layers.Dense(10)
    ])
    model.compile(optimizer='adam',
                  loss=pydl.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=['accuracy'])
    history = model.fit(x[:384], y[:384], epochs=3, batch_size=32, verbose=0)
    test_loss, test_acc = model.evaluate(x[384:], y[384:], verbose=0)
    assert history.history['loss'][-1] < history.history['loss'][0]
    assert test_acc > 0.5
