"""Sequential: a stack of layers, each fed the previous one's output. With an Input (or InputLayer,
or input_shape= on the first layer) it is built at once; otherwise on its first call. device= puts
its weights there (default: the CPU, or wherever its first input is)."""
from pydl.keras.keras_tensor import KerasTensor
from pydl.keras.layers.input_layer import InputLayer
from pydl.keras.layers.layer import Layer
from pydl.keras.models.model import Model, _check_shape


class Sequential(Model):
    def __init__(self, layers=None, trainable=True, name=None, device=None):
        super().__init__(trainable=trainable, name=name, device=device)
        object.__setattr__(self, "_input_layer", None)
        for layer in layers or ():
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    def add(self, layer, rebuild=True):
        if isinstance(layer, KerasTensor):
            layer = layer._node.layer
            if not isinstance(layer, InputLayer):
                raise ValueError("Sequential.add: a KerasTensor can only be added when it comes from keras.Input()")
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or len(self._modules):
                raise ValueError(f"Sequential '{self.name}': an Input / InputLayer can only be the first layer")
            object.__setattr__(self, "_input_layer", layer)
        elif not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a keras Layer, got {type(layer).__name__}")
        else:
            if not len(self._modules) and self._input_layer is None and layer._input_shape_arg is not None:
                object.__setattr__(self, "_input_layer", InputLayer(batch_shape=layer._input_shape_arg))
            self.add_module(str(len(self._modules)), layer)
        if rebuild:
            self._maybe_rebuild()

    def pop(self, rebuild=True):
        if not len(self._modules):
            raise IndexError(f"Sequential '{self.name}' has no layers to pop")
        layer = self._modules.pop(str(len(self._modules) - 1))
        object.__delattr__(self, str(len(self._modules)))
        if rebuild:
            self._maybe_rebuild()
        return layer

    def _maybe_rebuild(self):
        """With a known input shape, runs the layers symbolically: weights and output shapes exist at once."""
        if self._input_layer is None or not len(self._modules):
            return
        x = self._input_layer.output
        for layer in self.layers:
            x = layer(x)
        object.__setattr__(self, "built", True)
        object.__setattr__(self, "_output_shape", x.shape)
        if self._device is not None:
            self.to(self._device)

    @property
    def layers(self):
        return list(self._modules.values())

    def build(self, input_shape=None):
        if input_shape is None:
            if self._input_layer is None:
                raise ValueError(f"Sequential '{self.name}'.build: give the input shape, e.g. build((None, 784))")
        else:
            object.__setattr__(self, "_input_layer", InputLayer(batch_shape=tuple(input_shape)))
        self._maybe_rebuild()

    @property
    def input(self):
        if self._input_layer is None:
            raise AttributeError(f"Sequential '{self.name}' has no defined input (give it an Input)")
        return self._input_layer.output

    @property
    def output(self):
        if self._input_layer is None or not len(self._modules):
            raise AttributeError(f"Sequential '{self.name}' has no defined output (give it an Input)")
        return self.layers[-1].output

    @property
    def inputs(self):
        return None if self._input_layer is None else [self.input]

    @property
    def outputs(self):
        return None if self._input_layer is None else [self.output]

    def call(self, inputs, training=None):
        if self._input_layer is not None:
            _check_shape(self.name, self._input_layer.output, inputs)
        x = inputs
        for layer in self.layers:
            x = layer(x)
        return x
