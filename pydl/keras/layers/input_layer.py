"""InputLayer and Input(): the start of a functional model or of a Sequential with a known input shape."""
from pydl.keras.backend import standardize_dtype
from pydl.keras.keras_tensor import KerasTensor, Node
from pydl.keras.layers.layer import Layer


class InputLayer(Layer):
    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, input_shape=None, batch_shape=None,
                 **kwargs):
        if shape is None and input_shape is not None:  # Keras 2's keyword
            shape = input_shape
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer: give the shape of one sample, e.g. shape=(784,)")
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size,) + tuple(shape)
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.built = True
        out = KerasTensor(self.batch_shape, standardize_dtype(dtype), Node(self), name=self.name)
        object.__setattr__(self, "_symbolic_outputs", out)
        object.__setattr__(self, "_output_shape", self.batch_shape)

    def call(self, inputs):
        return inputs


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, **kwargs):
    """A KerasTensor standing for the model's input: shape is one sample's (no batch dimension)."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name, batch_shape=batch_shape,
                      **kwargs).output
