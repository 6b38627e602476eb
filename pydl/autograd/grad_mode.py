"""Whether operations record the autograd graph: ``no_grad()``, ``enable_grad()``,
``inference_mode()``.

Grad mode is per thread, as in PyTorch: an evaluator thread under ``no_grad`` does not stop
a trainer thread from recording. Each thread starts with grad mode on.
"""
import functools
import threading


class _State(threading.local):
    enabled = True  # the class attribute is every thread's starting value


state = _State()


def is_grad_enabled():
    return state.enabled


class set_grad_enabled:
    """Context manager (and decorator) that sets grad mode, restoring the previous one on exit."""

    def __init__(self, mode=True):
        self.prev = state.enabled
        state.enabled = bool(mode)
        self.mode = bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        state.enabled = self.prev
        return False


class _GradModeContext:
    """A grad mode as a context manager or a decorator, with or without parentheses
    (``@no_grad`` and ``@no_grad()`` alike, as PyTorch)."""

    mode = True

    def __new__(cls, *args):
        if len(args) == 1 and callable(args[0]) and not isinstance(args[0], bool):
            ctx = object.__new__(cls)  # a bare decorator, cls(fn): the wrapped function
            ctx.__init__()
            return ctx(args[0])
        return object.__new__(cls)

    def __enter__(self):
        self.prev = state.enabled
        state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        state.enabled = self.prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """Disables graph recording; use as ``with no_grad():`` or ``@no_grad()``."""

    mode = False


class enable_grad(_GradModeContext):
    mode = True


class inference_mode(_GradModeContext):
    """``torch.inference_mode``: no graph recording inside (``inference_mode(False)`` leaves the
    grad mode as it is). pydl keeps no version counters, so this is ``no_grad`` with PyTorch's name."""

    def __init__(self, mode=True):
        self.enabled = bool(mode)

    def __enter__(self):
        self.prev = state.enabled
        if self.enabled:
            state.enabled = False
        return self

    def __call__(self, fn):
        enabled = self.enabled

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(enabled):
                return fn(*args, **kwargs)

        return wrapper
