"""``TensorBase``: the part of a tensor that the autograd graph reads and writes.

``pydl.Tensor`` derives from it, so the graph (``Function.apply``, ``backward``, ``gradcheck``)
recognizes tensors with ``isinstance(x, TensorBase)`` and never imports ``pydl.tensor``.
"""


class TensorBase:
    """The autograd fields of a tensor.

    ``requires_grad``: whether the graph records ops on it; ``grad``: the gradient accumulated
    into a leaf; ``_node``: the ``Function`` node that made it (None for a leaf); ``_hooks``:
    a tuple of ``register_hook`` callbacks, or None.

    The graph also calls a few of ``Tensor``'s own methods (``numel``, ``shape``, ``contiguous``,
    arithmetic on gradients; ``new_tensor`` in gradcheck) and reads ``_a``, the subclass's C++ array.
    """

    __slots__ = ("requires_grad", "grad", "_node", "_hooks")

    def _grad_seed(self):
        """backward()'s implicit gradient: ones with this tensor's shape, dtype and device."""
        raise NotImplementedError

    def register_post_accumulate_grad_hook(self, hook):
        """Calls hook(tensor) each time a backward has accumulated this leaf's ``.grad`` (the leaf's
        gradient for that backward is whole: the rest of the backward may still be running).
        Returns a handle whose ``remove()`` unregisters it."""
        from pydl.autograd.function import PostAccumulateGradHook

        if self._node is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: hooks are supported on leaf tensors only")
        entry = PostAccumulateGradHook(hook)
        self._hooks = (self._hooks or ()) + (entry,)
        return _HookHandle(self, entry)


class _HookHandle:
    __slots__ = ("_tensor", "_entry")

    def __init__(self, tensor, entry):
        self._tensor, self._entry = tensor, entry

    def remove(self):
        t = self._tensor
        if t is not None and t._hooks:
            t._hooks = tuple(h for h in t._hooks if h is not self._entry) or None
        self._tensor = None
