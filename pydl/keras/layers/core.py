"""Dense, Activation (and ReLU, Softmax, LeakyReLU), Dropout, Flatten, Reshape, Add, Concatenate."""
import math

import pydl
from pydl.keras import activations, initializers
from pydl.keras.layers.layer import Layer
from pydl.nn import functional as F
from pydl.nn.functional.linear import linear_relu


def float_input(layer, x):
    """x as the layer's float dtype (Keras promotes integer inputs such as uint8 pixels)."""
    return x if x.dtype.is_floating_point else x.to(layer.dtype)


class Dense(Layer):
    """outputs = activation(inputs @ kernel + bias); the kernel is (input_dim, units), as Keras's."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Dense: units must be a positive int, got {units!r}")
        if any(r is not None for r in (kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
                                       bias_constraint)):
            raise NotImplementedError("Dense: regularizers and constraints are not supported in pydl.keras")
        self.units, self.use_bias = units, use_bias
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"Dense '{self.name}': expected an input of shape (batch, ..., features) with a known "
                             f"last dimension, got {input_shape}")
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer=self.kernel_initializer,
                                      name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer, name="bias") \
            if self.use_bias else None

    def call(self, inputs):
        inputs = float_input(self, inputs)
        if inputs.dim() < 2 or inputs.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"Dense '{self.name}': expected an input with {self.kernel.shape[0]} features in its "
                             f"last dimension, got shape {tuple(inputs.shape)}")
        w = self.kernel.T  # a transposed view: the GEMM reads it in place
        if self.activation is activations.relu:
            return linear_relu(inputs, w, self.bias)
        return self.activation(F.linear(inputs, w, self.bias))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias}


class Activation(Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)


class ReLU(Activation):
    def __init__(self, **kwargs):
        super().__init__("relu", **kwargs)


class Softmax(Layer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return F.softmax(inputs, dim=self.axis)


class LeakyReLU(Layer):
    def __init__(self, negative_slope=0.3, **kwargs):  # Keras's default slope (PyTorch's is 0.01)
        super().__init__(**kwargs)
        self.negative_slope = negative_slope

    def call(self, inputs):
        return F.leaky_relu(inputs, self.negative_slope)


class Dropout(Layer):
    """Inverted dropout (kept units scaled by 1 / (1 - rate)) when training, the identity otherwise."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1], got {rate}")
        if noise_shape is not None:
            raise NotImplementedError("Dropout: noise_shape is not supported in pydl.keras")
        self.rate, self.seed = rate, seed

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        return F.dropout(inputs, self.rate, True)


class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...): channels_last data flattens in (H, W, C) order."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise NotImplementedError(f"Flatten: data_format={data_format!r}; pydl.keras is channels_last only")

    def call(self, inputs):
        if inputs.dim() < 2:
            return inputs.reshape(-1, 1)
        return inputs.reshape(inputs.shape[0], math.prod(inputs.shape[1:]))


class Reshape(Layer):
    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def call(self, inputs):
        return inputs.reshape(inputs.shape[0], *self.target_shape)


class Add(Layer):
    """The sum of a list of tensors of one shape."""

    def call(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Concatenate(Layer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return pydl.cat(list(inputs), dim=self.axis)
