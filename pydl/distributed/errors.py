"""The errors of pydl.distributed, as torch.distributed names them (both are RuntimeErrors)."""


class DistError(RuntimeError):
    """A distributed operation failed (bad arguments across ranks, no process group, ...)."""


class DistBackendError(DistError):
    """The communication library failed or a collective timed out."""
