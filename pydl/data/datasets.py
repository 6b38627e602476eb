"""Datasets on disk: MNIST (and Fashion-MNIST) from the standard IDX files or an .npz archive,
and ``mnist_5k()`` / ``load_mnist_5k()``: the 5,000 MNIST digits bundled with pydl (500 per
class; MNIST by Y. LeCun, C. Cortes and C. J. C. Burges, CC BY-SA 3.0).

Every file is validated before use (IDX magic number, dimension count and sizes against the
file's length; npz keys, dtypes and shapes; image and label counts): a corrupt or truncated
file raises ValueError naming it, and nothing is silently padded or cut.
"""
import gzip
import math
import os
import struct
import tokenize
import zipfile
import zlib
from importlib import resources

import numpy as np

from pydl.creation import from_numpy
from pydl.data.dataset import CollatedBatch, Dataset, _index_tensor, index_array

__all__ = ["MNIST", "FashionMNIST", "mnist_5k", "load_mnist_5k", "read_idx"]

# IDX element types (the third byte of the magic number), big-endian on disk.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


# ---------------------------------------------------------------------- readers
def _read_bytes(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":  # gzip, whatever the file is called
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"{path}: corrupt or truncated gzip data: {e}") from None
    return raw


def read_idx(path):
    """The array stored in an IDX file (gzip-compressed or not), in native byte order.
    Raises ValueError naming the file when the header or the size is wrong."""
    path = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{path}: truncated IDX file: {len(raw)} bytes, the magic number alone needs 4")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file: bad magic number 0x{raw[:4].hex()} (expected 0x0000TTNN with "
                         f"type TT in {sorted(hex(t) for t in _IDX_TYPES)})")
    ndim = raw[3]
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header: {ndim} dimensions need {header} bytes, the file has "
                         f"{len(raw)}")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dt = np.dtype(_IDX_TYPES[raw[2]])
    span = dt.itemsize  # numpy refuses a shape whose nonzero dims' bytes overflow, even with a zero dim
    for d in dims:
        span *= max(d, 1)
    if span > np.iinfo(np.intp).max:
        raise ValueError(f"{path}: IDX header declares shape {tuple(dims)}, beyond what an array can hold")
    count = 1
    for d in dims:
        count *= d
    expected = header + count * dt.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else f"{len(raw) - expected} unexpected trailing bytes"
        raise ValueError(f"{path}: IDX size mismatch ({what}): the header declares shape {tuple(dims)} of "
                         f"{dt.name} = {expected} bytes, the file has {len(raw)}")
    arr = np.frombuffer(raw, dtype=dt, offset=header, count=count).reshape(dims)
    return arr.astype(dt.newbyteorder("="))  # a writable native-order copy


# What zipfile and numpy's .npy header parser raise for a damaged archive: besides the usual,
# unsupported zip features (NotImplementedError, RuntimeError for encryption), and a header that
# is not a Python literal (SyntaxError, TokenError) or holds a size beyond int64 (OverflowError).
_NPZ_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError,
               RuntimeError, SyntaxError, tokenize.TokenError, OverflowError)
_NPY_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def _npz_array(z, name, path):
    """z[name], once its .npy header is known to declare no more bytes than the member holds (a
    damaged shape must not make numpy allocate terabytes)."""
    member = f"{name}.npy" if f"{name}.npy" in z.zip.namelist() else name
    info = z.zip.getinfo(member)
    with z.zip.open(info) as f:
        read_header = _NPY_HEADER_READERS.get(np.lib.format.read_magic(f))
        if read_header is not None:
            try:
                shape, _, dtype = read_header(f)
            except TypeError as e:  # a header dict numpy cannot sort (a bytes key among the str ones)
                raise ValueError(f"{path}: member {member} has a malformed .npy header: {e}") from None
            nbytes = math.prod(shape) * dtype.itemsize
            if nbytes > info.file_size:
                raise ValueError(f"{path}: member {member} declares shape {shape} of {dtype} ({nbytes} bytes) "
                                 f"in {info.file_size} bytes")
    return np.asarray(z[name])


def _read_npz(path, names):
    try:
        with np.load(path, allow_pickle=False) as z:
            return [np.ascontiguousarray(_npz_array(z, n, path)) for n in names]
    except _NPZ_ERRORS as e:
        raise ValueError(f"{path}: not a valid npz archive with arrays {names}: {e}") from None


def _read_mnist_npz(path, train):
    """(images, labels) from an npz holding images/labels or x_train/y_train/x_test/y_test."""
    path = os.fspath(path)
    try:
        z = np.load(path, allow_pickle=False)
    except _NPZ_ERRORS as e:
        raise ValueError(f"{path}: not a valid npz archive: {e}") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: not an npz archive (a single .npy array)")
    with z:
        keys = set(z.files)
        if {"x_train", "y_train"} <= keys or {"x_test", "y_test"} <= keys:
            names = ["x_train", "y_train"] if train else ["x_test", "y_test"]
        elif {"images", "labels"} <= keys:
            names = ["images", "labels"]
        else:
            raise ValueError(f"{path}: expected arrays images/labels or x_train/y_train/x_test/y_test, found "
                             f"{sorted(keys)}")
        missing = [n for n in names if n not in keys]
        if missing:
            raise ValueError(f"{path}: no arrays {missing} for the {'train' if train else 'test'} split")
        try:
            images, labels = (_npz_array(z, n, path) for n in names)
        except _NPZ_ERRORS as e:
            raise ValueError(f"{path}: corrupt npz member: {e}") from None
    return images, labels, f"{path}[{names[0]}]", f"{path}[{names[1]}]"


def _check_images(images, name):
    if images.ndim == 4 and images.shape[1] == 1:
        images = images.reshape(images.shape[0], *images.shape[2:])
    if images.ndim != 3:
        raise ValueError(f"{name}: expected images of shape (N, H, W), got {images.shape}")
    if images.dtype != np.uint8:
        if images.dtype.kind not in "iu":
            raise ValueError(f"{name}: expected uint8 pixels, got {images.dtype}")
        if images.size and (images.min() < 0 or images.max() > 255):
            raise ValueError(f"{name}: pixel values outside 0..255")
    return np.ascontiguousarray(images, dtype=np.uint8)


def _check_labels(labels, name):
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels.reshape(-1)
    if labels.ndim != 1:
        raise ValueError(f"{name}: expected labels of shape (N,), got {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise ValueError(f"{name}: expected integer labels, got {labels.dtype}")
    if labels.size and labels.min() < 0:
        raise ValueError(f"{name}: negative label {int(labels.min())}")
    return np.ascontiguousarray(labels, dtype=np.int64)


# ---------------------------------------------------------------------- MNIST
class MNIST(Dataset):
    """MNIST as ``torchvision.datasets.MNIST``: samples ``(image, label)``, the image a float32
    (1, H, W) tensor in [0, 1] and the label a 0-d int64 tensor.

    ``root``: a folder holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (each possibly ``.gz``, or spelled
    ``train-images.idx3-ubyte``), directly or under ``MNIST/raw`` as torchvision lays them out,
    or a ``mnist.npz``; or the path of an .npz file (arrays ``images``/``labels``, used whatever
    ``train`` says, or ``x_train``/``y_train``/``x_test``/``y_test``).

    Pixels stay uint8 in ``.data`` (N, H, W) with labels in ``.targets``; each item or batch is
    converted when fetched. A DataLoader fetches a whole batch with one ``__getitems__`` call,
    which applies ``transform`` / ``target_transform`` once to the batch (N, 1, H, W) / (N,):
    they must accept batches, as pydl.data.transforms do."""

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]
    _folder = "MNIST"

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        self.root = os.fspath(root)
        self.train = bool(train)
        self.transform = transform
        self.target_transform = target_transform
        images, labels, img_name, lab_name = self._load(download)
        images, labels = _check_images(images, img_name), _check_labels(labels, lab_name)
        if len(images) != len(labels):
            raise ValueError(f"{type(self).__name__}: {img_name} holds {len(images)} images but {lab_name} holds "
                             f"{len(labels)} labels")
        self.data = from_numpy(images)
        self.targets = from_numpy(labels)

    def _load(self, download):
        if os.path.isfile(self.root):
            return _read_mnist_npz(self.root, self.train)
        if not os.path.isdir(self.root):
            raise FileNotFoundError(f"{type(self).__name__}: {self.root} is neither a folder nor an .npz file")
        prefix = "train" if self.train else "t10k"
        dirs = [self.root, os.path.join(self.root, self._folder, "raw"), os.path.join(self.root, "raw")]
        tried = []
        for d in dirs:
            img = _first_file(d, [f"{prefix}-images-idx3-ubyte", f"{prefix}-images.idx3-ubyte"])
            lab = _first_file(d, [f"{prefix}-labels-idx1-ubyte", f"{prefix}-labels.idx1-ubyte"])
            if img and lab:
                return read_idx(img), read_idx(lab), img, lab
            if img or lab:
                have, need = (img, "labels") if img else (lab, "images")
                raise FileNotFoundError(f"{type(self).__name__}: found {have} but no {prefix}-{need} IDX file "
                                        f"beside it in {d}")
            tried.append(d)
        npz = os.path.join(self.root, "mnist.npz")
        if os.path.isfile(npz):
            return _read_mnist_npz(npz, self.train)
        hint = " (download is not supported: pydl runs offline)" if download else ""
        raise FileNotFoundError(f"{type(self).__name__}: no {prefix}-images-idx3-ubyte[.gz] / "
                                f"{prefix}-labels-idx1-ubyte[.gz] in {', '.join(tried)}, and no mnist.npz{hint}")

    def __len__(self):
        return self.data.shape[0]

    def _finish(self, images, labels):
        if self.transform is not None:
            images = self.transform(images)
        if self.target_transform is not None:
            labels = self.target_transform(labels)
        return images, labels

    def __getitem__(self, index):
        image = (self.data[index].float() / 255.0).unsqueeze(0)
        return self._finish(image, self.targets[index])

    def __getitems__(self, indices):
        idx = _index_tensor(index_array(indices, len(self), type(self).__name__), "cpu")
        n, h, w = idx.shape[0], self.data.shape[1], self.data.shape[2]
        images = (self.data.index_select(0, idx).float() / 255.0).reshape(n, 1, h, w)
        images, labels = self._finish(images, self.targets.index_select(0, idx))
        return CollatedBatch([images, labels], n)

    def __repr__(self):
        return (f"{type(self).__name__}(root={self.root!r}, split={'train' if self.train else 'test'}, "
                f"{len(self)} samples)")


class FashionMNIST(MNIST):
    """Fashion-MNIST: the same files and layout as MNIST (under ``FashionMNIST/raw``)."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
    _folder = "FashionMNIST"


def _first_file(folder, names):
    for name in names:
        for candidate in (name, name + ".gz"):
            p = os.path.join(folder, candidate)
            if os.path.isfile(p):
                return p
    return None


# ---------------------------------------------------------------------- bundled subset
def mnist_5k(transform=None, target_transform=None):
    """The 5,000 MNIST digits bundled with pydl (500 per class) as an MNIST dataset."""
    path = resources.files("pydl.data") / "mnist_5k.npz"
    with resources.as_file(path) as p:
        return MNIST(p, transform=transform, target_transform=target_transform)


def load_mnist_5k():
    """(images, labels): uint8 (5000, 28, 28) and int64 (5000,) tensors."""
    path = resources.files("pydl.data") / "mnist_5k.npz"
    with resources.as_file(path) as p:
        images, labels = _read_npz(p, ["images", "labels"])
    return from_numpy(images), from_numpy(labels.astype(np.int64))
