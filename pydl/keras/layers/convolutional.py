"""Conv2D with Keras's kernel layout (kh, kw, in_channels, filters) and channels_last data, on
pydl's NCHW convolution kernels (the input and kernel are permuted views, not copies)."""
from pydl.keras import activations, initializers
from pydl.keras.layers import _conv_utils as U
from pydl.keras.layers.core import float_input
from pydl.keras.layers.layer import Layer
from pydl.nn.functional.conv import Conv2d as _Conv2dFn


class Conv2D(Layer):
    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1),
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"Conv2D: filters must be a positive int, got {filters!r}")
        if any(r is not None for r in (kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
                                       bias_constraint)):
            raise NotImplementedError("Conv2D: regularizers and constraints are not supported in pydl.keras")
        self.filters, self.groups, self.use_bias = filters, groups, use_bias
        self.kernel_size = U.normalize_tuple(kernel_size, "kernel_size", "Conv2D")
        self.strides = U.normalize_tuple(strides, "strides", "Conv2D")
        self.dilation_rate = U.normalize_tuple(dilation_rate, "dilation_rate", "Conv2D")
        self.padding = U.normalize_padding(padding, "Conv2D")
        self.data_format = U.normalize_data_format(data_format, "Conv2D")
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"Conv2D '{self.name}': expected a 4-d input shape, got {input_shape}")
        channels = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        if channels is None or channels % self.groups or self.filters % self.groups:
            raise ValueError(f"Conv2D '{self.name}': groups={self.groups} must divide the input channels "
                             f"({channels}) and filters ({self.filters})")
        self.kernel = self.add_weight(shape=self.kernel_size + (channels // self.groups, self.filters),
                                      initializer=self.kernel_initializer, name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer=self.bias_initializer, name="bias") \
            if self.use_bias else None

    def call(self, inputs):
        U.check_4d(inputs, f"Conv2D '{self.name}'", self.data_format)
        x = U.to_nchw(float_input(self, inputs), self.data_format)
        if x.shape[1] != self.kernel.shape[2] * self.groups:
            raise ValueError(f"Conv2D '{self.name}': expected {self.kernel.shape[2] * self.groups} input channels, "
                             f"got an input of shape {tuple(inputs.shape)} ({self.data_format})")
        if self.padding == "same":
            pad = U.same_padding(x.shape[2:], self.kernel_size, self.strides, self.dilation_rate)
            if pad[:2] == pad[2:]:
                pad = pad[:2]
        else:
            pad = [0, 0]
        relu = self.activation is activations.relu
        y = _Conv2dFn.apply(x, self.kernel.permute(3, 2, 0, 1), self.bias, list(self.strides), pad,
                            list(self.dilation_rate), self.groups, relu)
        if not relu:
            y = self.activation(y)
        return U.from_nchw(y, self.data_format)
