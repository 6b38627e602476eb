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
