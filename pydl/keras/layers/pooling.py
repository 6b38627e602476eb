"""MaxPooling2D, AveragePooling2D and the global poolings, channels_last by default."""
from pydl.keras.layers import _conv_utils as U
from pydl.keras.layers.layer import Layer
from pydl.nn import functional as F


class _Pooling2D(Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        op = type(self).__name__
        self.pool_size = U.normalize_tuple(pool_size, "pool_size", op)
        self.strides = self.pool_size if strides is None else U.normalize_tuple(strides, "strides", op)
        self.padding = U.normalize_padding(padding, op)
        self.data_format = U.normalize_data_format(data_format, op)

    def call(self, inputs):
        U.check_4d(inputs, f"{type(self).__name__} '{self.name}'", self.data_format)
        x = U.to_nchw(inputs, self.data_format)
        pad = U.same_padding(x.shape[2:], self.pool_size, self.strides) if self.padding == "same" else [0] * 4
        return U.from_nchw(self._pool(x, pad), self.data_format)


class MaxPooling2D(_Pooling2D):
    def _pool(self, x, pad):
        k, s = self.pool_size, self.strides
        if pad[:2] == pad[2:] and all(p <= kk // 2 for p, kk in zip(pad, k)):
            return F.max_pool2d(x, k, s, pad[:2])
        x = F.pad(x, (pad[1], pad[3], pad[0], pad[2]), value=float("-inf"))
        return F.max_pool2d(x, k, s)


class AveragePooling2D(_Pooling2D):
    """'same' padding averages over the window's part inside the input, as Keras."""

    def _pool(self, x, pad):
        k, s = self.pool_size, self.strides
        if pad[:2] == pad[2:] and all(p <= kk // 2 for p, kk in zip(pad, k)):
            return F.avg_pool2d(x, k, s, pad[:2], count_include_pad=False)
        widths = (pad[1], pad[3], pad[0], pad[2])
        ones = x.new_ones((1, 1) + tuple(x.shape[2:]))
        sums = F.avg_pool2d(F.pad(x, widths), k, s)
        counts = F.avg_pool2d(F.pad(ones, widths), k, s)
        return sums / counts


class GlobalAveragePooling2D(Layer):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = U.normalize_data_format(data_format, "GlobalAveragePooling2D")
        self.keepdims = keepdims

    def call(self, inputs):
        U.check_4d(inputs, f"GlobalAveragePooling2D '{self.name}'", self.data_format)
        dims = (1, 2) if self.data_format == "channels_last" else (2, 3)
        return inputs.mean(dim=dims, keepdim=self.keepdims)


class GlobalMaxPooling2D(GlobalAveragePooling2D):
    def call(self, inputs):
        U.check_4d(inputs, f"GlobalMaxPooling2D '{self.name}'", self.data_format)
        dims = (1, 2) if self.data_format == "channels_last" else (2, 3)
        return inputs.amax(dim=dims, keepdim=self.keepdims)


MaxPool2D, AvgPool2D = MaxPooling2D, AveragePooling2D
