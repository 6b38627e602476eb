"""keras.utils helpers that course code uses: to_categorical, set_random_seed."""
import numpy as np

import pydl
from pydl.keras.backend import clear_session  # noqa: F401  (keras.utils.clear_session in Keras 3)


def to_categorical(x, num_classes=None):
    """One-hot rows (float32 numpy) for integer class ids, as keras.utils.to_categorical."""
    x = np.asarray(x.detach().cpu().numpy() if isinstance(x, pydl.Tensor) else x)
    if x.dtype.kind == "f":
        if not np.all(x == np.round(x)):
            raise ValueError("to_categorical: expected integer class ids, got fractional values")
        x = x.astype(np.int64)
    if x.ndim > 1 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.size and x.min() < 0:
        raise ValueError(f"to_categorical: class ids must be non-negative, got {x.min()}")
    n = int(x.max()) + 1 if num_classes is None else int(num_classes)
    if x.size and x.max() >= n:
        raise ValueError(f"to_categorical: class id {x.max()} is out of range for num_classes={n}")
    return np.eye(n, dtype=np.float32)[x]


def set_random_seed(seed):
    """Seeds pydl's generator (weights, dropout, fit's shuffling) and numpy's global one."""
    pydl.manual_seed(int(seed))
    np.random.seed(int(seed) % 2 ** 32)
