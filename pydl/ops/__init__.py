"""Differentiable ops: each is a ``Function`` (forward and backward side by side) over
``pydl._C``, plus the plain function users call (``pydl.exp``, ``Tensor.exp``, ...)."""
