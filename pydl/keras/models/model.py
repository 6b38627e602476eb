"""Model: a Layer that trains (compile / fit / evaluate / predict), saves its weights, and prints a
summary. Subclass it and define call(), or build it functionally: Model(inputs, outputs) from
keras.Input() and layer calls, replayed on real tensors in the order they were made."""
import pydl
from pydl.autograd.grad_mode import no_grad
from pydl.keras.keras_tensor import KerasTensor, flatten, map_structure
from pydl.keras.layers.input_layer import InputLayer
from pydl.keras.layers.layer import Layer
from pydl.keras.models.summary import print_summary
from pydl.keras.models.training import Trainer


class Model(Trainer, Layer):
    def __init__(self, *args, **kwargs):
        inputs, outputs = kwargs.pop("inputs", None), kwargs.pop("outputs", None)
        if args:
            if len(args) != 2 or inputs is not None:
                raise TypeError("Model: positional arguments are (inputs, outputs)")
            inputs, outputs = args
        kwargs.setdefault("autocast", False)  # the layers inside cast for themselves
        super().__init__(**kwargs)
        object.__setattr__(self, "_graph", None)
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("Model: a functional model needs both inputs and outputs")
            self._init_graph(inputs, outputs)

    # ------------------------------------------------------------------ functional graph
    def _init_graph(self, inputs, outputs):
        for name, s in (("inputs", inputs), ("outputs", outputs)):
            for t in flatten(s):
                if not isinstance(t, KerasTensor):
                    raise TypeError(f"Model: {name} must be KerasTensors (from keras.Input and layer calls), "
                                    f"got {type(t).__name__}")
        input_ids = {id(t) for t in flatten(inputs)}
        nodes, seen = [], set()

        def visit(t):
            node = t._node
            if id(node) in seen:
                return
            if isinstance(node.layer, InputLayer) and id(t) not in input_ids:
                raise ValueError(f"Model: graph disconnected: the outputs depend on input '{t.name}', which is not "
                                 f"among the model's inputs")
            for parent in node.inputs:
                if id(parent) not in input_ids:
                    visit(parent)
            seen.add(id(node))
            if not isinstance(node.layer, InputLayer):
                nodes.append(node)

        stack_outputs = flatten(outputs)
        for t in stack_outputs:
            if id(t) not in input_ids:
                visit(t)
        layers = [t._node.layer for t in flatten(inputs)]
        for node in nodes:
            if all(node.layer is not l for l in layers):
                layers.append(node.layer)
        for i, layer in enumerate(layers):
            if not isinstance(layer, InputLayer):
                self.add_module(str(i), layer)
        object.__setattr__(self, "_graph", (inputs, outputs, nodes, layers))
        object.__setattr__(self, "built", True)
        if self._device is not None:
            self.to(self._device)
        object.__setattr__(self, "_output_shape", map_structure(lambda k: k.shape, outputs))

    def _run_graph(self, inputs):
        graph_inputs, graph_outputs, nodes, _ = self._graph
        expected = flatten(graph_inputs)
        given = flatten(inputs) if isinstance(inputs, (list, tuple, dict)) else [inputs]
        if len(given) != len(expected):
            raise ValueError(f"Model '{self.name}' expects {len(expected)} inputs, got {len(given)}")
        values = {}
        for k, x in zip(expected, given):
            _check_shape(self.name, k, x)
            values[id(k)] = x
        resolve = lambda a: values[id(a)] if isinstance(a, KerasTensor) else a  # noqa: E731
        for node in nodes:
            out = node.layer(*map_structure(resolve, node.args), **map_structure(resolve, node.kwargs))
            for k, v in zip(node.outputs, flatten(out)):
                values[id(k)] = v
        return map_structure(lambda k: values[id(k)], graph_outputs)

    @property
    def inputs(self):
        return flatten(self._graph[0]) if self._graph else None

    @property
    def outputs(self):
        return flatten(self._graph[1]) if self._graph else None

    @property
    def input(self):
        if self._graph is None:
            raise AttributeError(f"Model '{self.name}' has no defined input")
        return self._graph[0]

    @property
    def output(self):
        if self._graph is None:
            raise AttributeError(f"Model '{self.name}' has no defined output")
        return self._graph[1]

    # ------------------------------------------------------------------ calling and building
    def call(self, inputs, training=None):
        if self._graph is None:
            raise NotImplementedError(f"Model '{self.name}': subclass Model and define call(), or build it with "
                                      f"Model(inputs, outputs)")
        return self._run_graph(inputs)

    def _build_from(self, inputs):
        self._track_containers()
        object.__setattr__(self, "built", True)  # the sublayers build themselves during the call

    def build(self, input_shape):
        """Creates the weights by running the model once on zeros of input_shape (batch None -> 1)."""
        object.__setattr__(self, "built", True)
        shapes = _shape_structure(input_shape)
        zero = lambda s: pydl.zeros(*[1 if d is None else d for d in s], dtype=self.dtype, device=self._device)  # noqa
        zeros = [zero(s) for s in shapes] if isinstance(shapes, list) else zero(shapes)
        with no_grad():
            self(zeros, training=False)

    @property
    def layers(self):
        if self._graph is not None:
            return list(self._graph[3])
        return self._sublayers()

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"Model '{self.name}' has no layer named '{name}'; its layers: "
                         f"{[l.name for l in self.layers]}")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        print_summary(self, line_length=line_length, print_fn=print_fn)

    # ------------------------------------------------------------------ weights on disk
    def save_weights(self, filepath, overwrite=True):
        """Writes the weights as a pydl safetensors checkpoint (keys follow the layer structure, so a
        model of the same architecture loads them)."""
        import os

        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"save_weights: {filepath} exists and overwrite=False")
        if not self.built:
            raise ValueError(f"save_weights: model '{self.name}' is not built yet (call it on data or build() it)")
        pydl.save(dict(self.state_dict()), filepath)

    def load_weights(self, filepath, skip_mismatch=False):
        if not self.built:
            raise ValueError(f"load_weights: model '{self.name}' is not built yet; build it (call it on data, give "
                             f"it an Input, or build()) so that its weights exist")
        state = pydl.load(filepath)
        self.load_state_dict(state, strict=not skip_mismatch)

    def save(self, filepath, *args, **kwargs):
        raise NotImplementedError("Model.save: pydl.keras saves weights only; use save_weights() and rebuild the "
                                  "model in code before load_weights()")


def _shape_structure(shape):
    """A shape, or a list of shapes, as given to build()."""
    if isinstance(shape, (list, tuple)) and shape and all(isinstance(s, (list, tuple)) for s in shape):
        return [tuple(s) for s in shape]
    return tuple(shape)


def _check_shape(name, expected, x):
    shape = tuple(getattr(x, "shape", ()))
    want = expected.shape
    if len(shape) != len(want) or any(w is not None and w != s for w, s in zip(want, shape)):
        raise ValueError(f"Input of model '{name}' is incompatible: expected shape={want}, found shape={shape}")
