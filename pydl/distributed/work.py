"""``Work``: the handle of a collective started with ``async_op=True`` (torch.distributed.Work)."""


class Work:
    """``wait()`` returns once the collective's result is in the tensors it was given (for CUDA
    tensors: once pydl's stream is ordered after it); ``is_completed()`` asks without blocking."""

    def wait(self, timeout=None):
        raise NotImplementedError

    def is_completed(self):
        raise NotImplementedError

