"""Variable and Layer, as keras.Variable and keras.layers.Layer, over pydl.nn.Module (as Keras 3's
PyTorch backend builds its Layer over torch.nn.Module): a layer creates its weights with add_weight,
usually in build(input_shape), which runs on the first call, so input sizes are inferred."""
import functools
import inspect

import numpy as np

import pydl
from pydl.autograd.grad_mode import no_grad
from pydl.keras import initializers
from pydl.keras.backend import call_context, convert_to_tensor, snake_case, standardize_dtype, unique_name
from pydl.keras.keras_tensor import KerasTensor, Node, flatten, is_symbolic, map_structure
from pydl.nn.container import ModuleList
from pydl.nn.module import Module, Parameter
from pydl.tensor import Tensor


class Variable(Parameter):
    """A layer's weight: a pydl Parameter (so pydl ops take it as is) with Keras's name, trainable
    flag (requires_grad), numpy() (a copy) and assign()."""

    __slots__ = ("name", "path")

    def __new__(cls, value, trainable=True, name="variable"):
        v = Parameter.__new__(cls, value if isinstance(value, Tensor) else convert_to_tensor(value),
                              requires_grad=trainable)
        v.name = v.path = name
        return v

    def __init__(self, value=None, trainable=True, name="variable"):
        pass

    @property
    def trainable(self):
        return self.requires_grad

    @trainable.setter
    def trainable(self, value):
        self.requires_grad_(bool(value))

    @property
    def value(self):
        return self

    def numpy(self):
        return np.array(self.detach().cpu().numpy())

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

    def assign(self, value):
        value = convert_to_tensor(value, dtype=self.dtype, device=self.device)
        if tuple(value.shape) != tuple(self.shape):
            raise ValueError(f"Variable '{self.path}'.assign: the value has shape {tuple(value.shape)}, "
                             f"the variable {tuple(self.shape)}")
        with no_grad():
            self._a.copy_(value._a)
        return self

    def assign_add(self, value):
        return self.assign(self.detach() + convert_to_tensor(value, dtype=self.dtype, device=self.device))

    def assign_sub(self, value):
        return self.assign(self.detach() - convert_to_tensor(value, dtype=self.dtype, device=self.device))

    def __repr__(self):
        return (f"<Variable path={self.path}, shape={tuple(self.shape)}, dtype={self.dtype}, "
                f"value={self.numpy()!r}>")


_TRAINING_ARG = {}  # Layer subclass -> whether its call() takes `training`


def _takes_training(cls):
    if cls not in _TRAINING_ARG:
        _TRAINING_ARG[cls] = "training" in inspect.signature(cls.call).parameters
    return _TRAINING_ARG[cls]


class Layer(Module):
    """Subclass with __init__ (hyperparameters; add_weight may run here), build(input_shape) (weights
    whose shape depends on the input; runs once, before the first call) and call(inputs, training=None)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:  # a build() called by hand marks the layer built, as Keras
            original = cls.__dict__["build"]

            @functools.wraps(original)
            def build(self, *args, **kw):
                out = original(self, *args, **kw)
                object.__setattr__(self, "built", True)
                return out

            cls.build = build

    def __init__(self, trainable=True, name=None, dtype=None, input_shape=None, input_dim=None, autocast=True,
                 device=None, **kwargs):
        super().__init__()
        batch_input_shape = kwargs.pop("batch_input_shape", None)  # Keras 2: the shape with its batch size
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword arguments {sorted(kwargs)}")
        object.__setattr__(self, "name", name or unique_name(snake_case(type(self).__name__)))
        object.__setattr__(self, "_dtype", standardize_dtype(dtype))
        object.__setattr__(self, "built", False)
        object.__setattr__(self, "_trainable", bool(trainable))
        object.__setattr__(self, "_trainable_vars", [])
        object.__setattr__(self, "_non_trainable_vars", [])
        object.__setattr__(self, "_output_shape", None)
        object.__setattr__(self, "_device", None if device is None else pydl.device(device))  # None: the input's
        object.__setattr__(self, "_symbolic_outputs", None)
        object.__setattr__(self, "autocast", autocast)
        if batch_input_shape is not None:
            input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            input_shape = (None,) + tuple(input_shape)
        elif input_dim is not None:
            input_shape = (None, int(input_dim))
        object.__setattr__(self, "_input_shape_arg", input_shape)

    def __setattr__(self, name, value):
        if isinstance(value, Variable) and any(v is value for v in self._parameters.values()):
            object.__setattr__(self, name, value)  # already tracked by add_weight: no second entry
            return
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, Module) for v in value):
            value = ModuleList(value)  # a list of layers is tracked, as Keras tracks it
        super().__setattr__(name, value)

    # ------------------------------------------------------------------ weights
    def add_weight(self, *args, shape=None, initializer=None, dtype=None, trainable=True, name=None,
                   regularizer=None, constraint=None, **kwargs):
        """A new Variable of `shape` drawn from `initializer` (glorot_uniform by default, zeros for
        integer dtypes), tracked by the layer. Keras 2's add_weight('name', shape) works too."""
        args = list(args)
        if args and isinstance(args[0], str):
            name = args.pop(0)
        for key, value in zip(("shape", "initializer", "dtype", "trainable"), args):
            if key == "shape":
                shape = value
            elif key == "initializer":
                initializer = value
            elif key == "dtype":
                dtype = value
            else:
                trainable = value
        if len(args) > 4:
            raise TypeError(f"{self.name}.add_weight: too many positional arguments")
        if regularizer is not None or constraint is not None:
            raise NotImplementedError(f"{self.name}.add_weight: regularizers and constraints are not supported in "
                                      f"pydl.keras")
        kwargs = {k: v for k, v in kwargs.items() if k not in ("autocast", "aggregation", "synchronization",
                                                               "use_resource", "overwrite_with_gradient")}
        if kwargs:
            raise TypeError(f"{self.name}.add_weight: unexpected keyword arguments {sorted(kwargs)}")
        shape = () if shape is None else tuple(int(s) for s in shape)
        dtype = standardize_dtype(dtype) if dtype is not None else self._dtype
        if initializer is None:
            initializer = "glorot_uniform" if dtype.is_floating_point else "zeros"
        value = initializers.get(initializer)(shape, dtype=dtype)
        value = convert_to_tensor(value, dtype=dtype)
        if tuple(value.shape) != shape:
            raise ValueError(f"{self.name}.add_weight: the initializer returned shape {tuple(value.shape)}, "
                             f"expected {shape}")
        if self._device is not None and value.device != self._device:
            value = value.to(self._device)
        key = base = name or "variable"
        k = 0
        while key in self._parameters:
            k += 1
            key = f"{base}_{k}"
        var = Variable(value.detach(), trainable=trainable, name=base)
        var.path = f"{self.name}/{base}"
        self._parameters[key] = var
        (self._trainable_vars if trainable else self._non_trainable_vars).append(var)
        if trainable and not self._trainable:
            var.trainable = False
        return var

    @property
    def weights(self):
        """Own trainable, own non-trainable, then the sublayers' weights (each once)."""
        out, seen = [], set()
        for v in self._trainable_vars + self._non_trainable_vars + self._sublayer_weights():
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        return out

    def _track_containers(self):
        """Registers the layers held in plain lists / tuples / dicts attributes (filled after assignment,
        as `self.blocks = []` then append), so their weights are tracked, saved and moved."""
        for name, value in list(self.__dict__.items()):
            items = value.items() if isinstance(value, dict) else \
                enumerate(value) if isinstance(value, (list, tuple)) else ()
            for key, m in items:
                if isinstance(m, Module) and all(m is not r for r in self._modules.values()):
                    self._modules[f"{name}.{key}"] = m

    def _sublayer_weights(self):
        out = []
        for m in self._modules.values():
            if isinstance(m, Layer):
                out.extend(m.weights)
            elif m is not None:  # a ModuleList of layers, or a pydl.nn module used inside the layer
                for sub in m.children() if type(m) is ModuleList else [m]:
                    out.extend(sub.weights if isinstance(sub, Layer) else list(sub.parameters()) +
                               [b for b in sub.buffers() if b.dtype.is_floating_point])
        return out

    variables = weights

    @property
    def trainable_weights(self):
        return [v for v in self.weights if v.requires_grad] if self._trainable else []

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self):
        return [v for v in self.weights if not v.requires_grad] if self._trainable else self.weights

    non_trainable_variables = non_trainable_weights

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        object.__setattr__(self, "_trainable", bool(value))
        for v in self._trainable_vars:
            v.trainable = value
        for layer in self._sublayers():
            layer.trainable = value

    def _sublayers(self):
        out = []
        for m in self._modules.values():
            if isinstance(m, Layer):
                out.append(m)
            elif type(m) is ModuleList:
                out.extend(s for s in m.children() if isinstance(s, Layer))
        return out

    def get_weights(self):
        return [v.detach().cpu().numpy().copy() for v in self.weights]

    def set_weights(self, weights):
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(f"{self.name}.set_weights: expected {len(own)} arrays, got {len(weights)}")
        for i, (v, w) in enumerate(zip(own, weights)):
            w = convert_to_tensor(w, dtype=v.dtype)
            if tuple(w.shape) != tuple(v.shape):
                raise ValueError(f"{self.name}.set_weights: weight {i} ('{getattr(v, 'path', '?')}') has shape "
                                 f"{tuple(v.shape)}, the array given {tuple(w.shape)}")
            with no_grad():
                v._a.copy_(w.to(v.device)._a)

    def count_params(self):
        if not self.built:
            raise ValueError(f"You tried to call count_params on layer '{self.name}', but the layer isn't built. "
                             f"Call it on some data first, or build() it")
        return sum(v.numel() for v in self.weights)

    @property
    def dtype(self):
        return self._dtype

    # ------------------------------------------------------------------ calling
    def build(self, input_shape):
        self.built = True

    def call(self, inputs, *args, **kwargs):
        return inputs

    def forward(self, *args, **kwargs):
        return self(*args, **kwargs)

    def __call__(self, *args, **kwargs):
        if not args:
            if "inputs" not in kwargs:
                raise TypeError(f"Layer '{self.name}': the inputs must be given as the first argument")
            args = (kwargs.pop("inputs"),)
        if is_symbolic([args, kwargs]):
            return self._symbolic_call(args, kwargs)
        args = (map_structure(self._convert_input, args[0]),) + args[1:]
        if not self.built:
            self._build_from(args[0])
        outer = call_context.training
        training = kwargs.pop("training", None)
        if training is None:
            training = outer if outer is not None else False
        call_context.training = bool(training)
        try:
            if _takes_training(type(self)):
                kwargs["training"] = bool(training)
            out = self.call(*args, **kwargs)
        finally:
            call_context.training = outer
        object.__setattr__(self, "_output_shape", map_structure(_batchless_shape, out))
        return out

    def _convert_input(self, x):
        if isinstance(x, np.ndarray):
            x = convert_to_tensor(x, dtype=self._dtype if x.dtype.kind == "f" else None, device=self._device)
        if self.autocast and isinstance(x, Tensor) and x.dtype.is_floating_point and x.dtype != self._dtype \
                and x.dtype in (pydl.float32, pydl.float64):
            x = x.to(self._dtype)
        return x

    def _build_from(self, inputs):
        self._track_containers()
        leaves = [t for t in flatten(inputs) if isinstance(t, Tensor)]
        if leaves and self._device is None:
            object.__setattr__(self, "_device", leaves[0].device)
        shapes = map_structure(lambda t: tuple(t.shape) if isinstance(t, (Tensor, KerasTensor)) else None, inputs)
        self.build(shapes)
        object.__setattr__(self, "built", True)

    def _symbolic_call(self, args, kwargs):
        """Called on KerasTensors (functional API): builds, finds the output shapes by running the layer
        once on zeros (batch of 1, inference mode, no graph), and returns KerasTensors for them."""
        if not self.built:
            self._build_from(args[0])
        device = next((v.device for v in self.weights), None)

        def concrete(t):
            if not isinstance(t, KerasTensor):
                return t
            return pydl.zeros(*[1 if d is None else d for d in t.shape], dtype=t.dtype, device=device)

        c_kwargs = {k: v for k, v in kwargs.items() if k != "training"}
        with no_grad():
            out = self(*map_structure(concrete, args), training=False, **map_structure(concrete, c_kwargs))
        batch = next(t for t in flatten(args[0]) if isinstance(t, KerasTensor)).shape[0]
        node = Node(self, args, kwargs)

        def symbolic(t):
            if not isinstance(t, Tensor):
                raise TypeError(f"Layer '{self.name}' returned {type(t).__name__}; functional models need tensors")
            shape = tuple(t.shape)
            return KerasTensor((batch,) + shape[1:] if shape else shape, t.dtype, node)

        outputs = map_structure(symbolic, out)
        object.__setattr__(self, "_output_shape", map_structure(lambda k: k.shape, outputs))
        object.__setattr__(self, "_symbolic_outputs", outputs)
        return outputs

    @property
    def output(self):
        if self._symbolic_outputs is None:
            raise AttributeError(f"Layer '{self.name}' has never been called on a symbolic input, so it has no "
                                 f"defined output")
        return self._symbolic_outputs

    @property
    def output_shape(self):
        if self._output_shape is None:
            raise AttributeError(f"The layer '{self.name}' has never been called and thus has no defined output "
                                 f"shape")
        return self._output_shape

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "dtype": str(self._dtype).replace("pydl.", "")}

    def extra_repr(self):
        return f"name={self.name!r}"


def _batchless_shape(t):
    if isinstance(t, Tensor):
        shape = tuple(t.shape)
        return (None,) + shape[1:] if shape else shape
    return None
