"""GradientTape, as tf.GradientTape, over pydl's autograd graph.

pydl records the graph whenever grad mode is on and an input requires grad (trainable weights do), so
the tape turns grad mode on while it is open and, in gradient(), walks the recorded graph back from
the target, collecting the gradients of the sources only: nobody's .grad is touched. Tensors that do
not require grad are recorded once watch()ed.
"""
import pydl
from pydl.autograd import function as _fn
from pydl.autograd.grad_mode import enable_grad, no_grad, set_grad_enabled
from pydl.keras.keras_tensor import flatten, pack_like
from pydl.tensor import Tensor


class GradientTape:
    def __init__(self, persistent=False, watch_accessed_variables=True):
        self.persistent = persistent
        self.watch_accessed_variables = watch_accessed_variables
        self._watched = []  # tensors watch() made require grad; put back when the tape closes
        self._recording = False
        self._used = False
        self._mode = None

    def __enter__(self):
        self._mode = enable_grad()
        self._mode.__enter__()
        self._recording = True
        return self

    def __exit__(self, *exc):
        self._recording = False
        self._mode.__exit__(*exc)
        for t in self._watched:
            t.requires_grad = False
        self._watched = []
        return False

    def watch(self, tensor):
        """Records the ops on tensor(s) that do not require grad (constants), so that gradient() can
        differentiate with respect to them."""
        for t in flatten(tensor):
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.watch: expected pydl Tensors, got {type(t).__name__}")
            if not t.dtype.is_floating_point:
                raise TypeError(f"GradientTape.watch: only floating tensors can be watched, got {t.dtype}")
            if not t.requires_grad:
                t.requires_grad = True
                self._watched.append(t)

    def stop_recording(self):
        """A context in which nothing is recorded (grad mode off)."""
        return set_grad_enabled(False)

    def reset(self):
        self._used = False

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """d(target)/d(source) for each source, in the structure (and order) of `sources`; None for a
        source the target does not depend on (zeros with unconnected_gradients='zero'). A target that
        is not a scalar is summed (weighted by output_gradients when given), as TensorFlow."""
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError(f"GradientTape.gradient: unconnected_gradients must be 'none' or 'zero', "
                             f"got {unconnected_gradients!r}")
        if self._used and not self.persistent:
            raise RuntimeError("GradientTape.gradient can only be called once on a non-persistent tape; "
                               "use GradientTape(persistent=True) to compute several gradients")
        self._used = True
        flat = flatten(sources)
        for i, s in enumerate(flat):
            if not isinstance(s, Tensor):
                raise TypeError(f"GradientTape.gradient: source {i} is a {type(s).__name__}, not a pydl Tensor")
        root, seed, unit = _root(target, output_gradients)
        grads = _gradients(root, seed, flat, self.persistent, unit)
        if unconnected_gradients == "zero":
            grads = [pydl.zeros_like(s.detach()) if g is None else g for s, g in zip(flat, grads)]
        return pack_like(sources, grads)


def _root(target, output_gradients):
    """(the tensor to walk back from, its gradient, whether that is ours of ones): one target as is,
    several summed."""
    targets = flatten(target)
    seeds = flatten(output_gradients) if output_gradients is not None else [None] * len(targets)
    if len(seeds) != len(targets):
        raise ValueError(f"GradientTape.gradient: {len(targets)} targets but {len(seeds)} output_gradients")
    for t in targets:
        if not isinstance(t, Tensor):
            raise TypeError(f"GradientTape.gradient: the target is a {type(t).__name__}, not a pydl Tensor")
    if len(targets) == 1:
        t, g = targets[0], seeds[0]
        if g is None:
            return t, pydl.ones_like(t.detach()), True
        if tuple(g.shape) != tuple(t.shape):
            raise ValueError(f"GradientTape.gradient: output_gradients has shape {tuple(g.shape)}, the target "
                             f"{tuple(t.shape)}")
        return t, g.to(t.dtype), False
    with enable_grad():
        total = None
        for t, g in zip(targets, seeds):
            part = (t if g is None else t * g).sum()
            total = part if total is None else total + part
    return total, pydl.ones_like(total.detach()), True


def _gradients(root, seed, sources, retain_graph, unit_seed):
    """The gradient of root (seeded with seed) with respect to each source, by one reverse walk of
    the recorded graph; leaves' .grad are left alone. A non-leaf source gets the total gradient that
    flows into the node that made it."""
    results = [None] * len(sources)
    leaf_index, node_index = {}, {}
    for i, s in enumerate(sources):
        if s._node is None:
            leaf_index.setdefault(id(s), []).append(i)
        else:
            node_index.setdefault(id(s._node), []).append(i)

    def collect(indices, g):
        for i in indices:
            results[i] = g if results[i] is None else results[i] + g

    collect(leaf_index.get(id(root), ()) if root._node is None else node_index.get(id(root._node), ()), seed)
    if root._node is None or not root.requires_grad:
        return results
    with no_grad():
        _fn._backward.unit_seed = seed if unit_seed else None  # fused losses may take it as exactly 1
        try:
            pending = {id(root._node): seed}
            for node in _fn._topological_order(root._node):
                g = pending.pop(id(node), None)
                if g is None:
                    continue
                if node is not root._node:
                    collect(node_index.get(id(node), ()), g)
                grads = node.backward(node, g)
                if not isinstance(grads, tuple):
                    grads = (grads,)
                for t, gi in zip(node.inputs, grads):
                    if t is None or gi is None:
                        continue
                    if gi._a.dtype != t._a.dtype:
                        gi = gi.to(t.dtype)
                    if t._node is None:
                        collect(leaf_index.get(id(t), ()), gi)
                    else:
                        key = id(t._node)
                        pending[key] = gi if key not in pending else pending[key] + gi
                if not retain_graph:
                    node.inputs = None
                    node.__dict__.clear()
        finally:
            _fn._backward.unit_seed = None
    return [None if g is None else (g if g._a.is_contiguous() else g.contiguous()) for g in results]
