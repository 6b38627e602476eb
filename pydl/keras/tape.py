"""GradientTape, as tf.GradientTape, over pydl's autograd graph.

pydl records the graph whenever grad mode is on and an input requires grad (trainable weights do), so
the tape turns grad mode on while it is open and, in gradient(), asks pydl.autograd.grad for the
gradients of the sources: nobody's .grad is touched. Tensors that do not require grad are recorded
once watch()ed.
"""
import pydl
from pydl.autograd import grad
from pydl.autograd.grad_mode import enable_grad, set_grad_enabled
from pydl.keras.keras_tensor import flatten, pack_like
from pydl.tensor import Tensor


class GradientTape:
    def __init__(self, persistent=False, watch_accessed_variables=True):
        self.persistent = persistent
        self.watch_accessed_variables = watch_accessed_variables
        self._watched = []  # tensors watch() made require grad; put back when the tape closes
        self._recorded = []  # all that watch() made require grad, for gradient() after the tape closed
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
                self._recorded.append(t)

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
        targets, seeds = _targets(target, output_gradients)
        closed = [t for t in self._recorded if not t.requires_grad]
        for t in closed:  # watched while the tape was open, so recorded: a source again for this call
            t.requires_grad = True
        try:
            live = [i for i, t in enumerate(targets) if t.requires_grad]
            wanted = [i for i, s in enumerate(flat) if s.requires_grad]
            grads = [None] * len(flat)
            if live and wanted:  # an unwatched constant (or a target made of them) has no gradient
                found = grad([targets[i] for i in live], [flat[i] for i in wanted], [seeds[i] for i in live],
                             retain_graph=self.persistent, allow_unused=True)
                for i, g in zip(wanted, found):
                    grads[i] = g
        finally:
            for t in closed:
                t.requires_grad = False
        if unconnected_gradients == "zero":
            grads = [pydl.zeros_like(s.detach()) if g is None else g for s, g in zip(flat, grads)]
        return pack_like(sources, grads)


def _targets(target, output_gradients):
    """The targets and the gradient each is seeded with: None (ones, from autograd.grad) for a scalar;
    ones for a target that is not, which sums it, as TensorFlow."""
    targets = flatten(target)
    seeds = flatten(output_gradients) if output_gradients is not None else [None] * len(targets)
    if len(seeds) != len(targets):
        raise ValueError(f"GradientTape.gradient: {len(targets)} targets but {len(seeds)} output_gradients")
    for i, (t, g) in enumerate(zip(targets, seeds)):
        if not isinstance(t, Tensor):
            raise TypeError(f"GradientTape.gradient: the target is a {type(t).__name__}, not a pydl Tensor")
        if g is None:
            if t.numel() != 1:
                seeds[i] = pydl.ones_like(t.detach())
        elif tuple(g.shape) != tuple(t.shape):
            raise ValueError(f"GradientTape.gradient: output_gradients has shape {tuple(g.shape)}, the target "
                             f"{tuple(t.shape)}")
    return targets, seeds
