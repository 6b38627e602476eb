"""KerasTensor: a symbolic tensor (a shape with None for the batch, and a dtype) that Input() returns
and that layers called on it return, each remembering the layer call (its Node) that made it.
Model(inputs, outputs) replays those calls on real tensors."""


class Node:
    """One call of a layer on symbolic inputs: the layer, its arguments (KerasTensors among them)
    and the KerasTensors it returned."""

    def __init__(self, layer, args=(), kwargs=None):
        self.layer, self.args, self.kwargs = layer, tuple(args), dict(kwargs or {})
        self.inputs = [t for t in flatten([self.args, self.kwargs]) if isinstance(t, KerasTensor)]
        self.outputs = []


class KerasTensor:
    def __init__(self, shape, dtype, node=None, name=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.name = name
        self._node = node
        if node is not None:
            node.outputs.append(self)

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def _refuse(self, *args, **kwargs):
        raise TypeError("pydl.keras: a KerasTensor (from keras.Input) only flows through layers; pydl ops on it are "
                        "not recorded. Wrap the computation in a Layer (or use a subclassed Model)")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __matmul__ = __getitem__ = _refuse
    __array__ = _refuse


def flatten(structure):
    """The leaves of nested lists / tuples / dicts, in order."""
    if isinstance(structure, (list, tuple)):
        return [leaf for s in structure for leaf in flatten(s)]
    if isinstance(structure, dict):
        return [leaf for k in structure for leaf in flatten(structure[k])]
    return [structure]


def map_structure(fn, structure):
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)


def pack_like(structure, leaves):
    """structure with its leaves replaced, in order, by leaves."""
    it = iter(leaves)
    return map_structure(lambda _: next(it), structure)


def is_symbolic(structure):
    return any(isinstance(leaf, KerasTensor) for leaf in flatten(structure))
