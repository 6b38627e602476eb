"""Datasets. ``load_mnist_5k()`` reads the 5,000 MNIST digits bundled with pydl
(500 per class; MNIST by Y. LeCun, C. Cortes and C. J. C. Burges, CC BY-SA 3.0)."""
import zipfile
from importlib import resources

import numpy as np

from pydl.tensor import from_numpy


def _read_npz(path, names):
    try:
        with np.load(path, allow_pickle=False) as z:
            return [np.ascontiguousarray(z[n]) for n in names]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: not a valid npz archive with arrays {names}: {e}") from None


def load_mnist_5k():
    """(images, labels): uint8 (5000, 28, 28) and int64 (5000,) tensors."""
    path = resources.files("pydl.data") / "mnist_5k.npz"
    with resources.as_file(path) as p:
        images, labels = _read_npz(p, ["images", "labels"])
    return from_numpy(images), from_numpy(labels.astype(np.int64))
