"""Composable transforms for image tensors, each callable on one sample, (H, W) or (C, H, W),
or on a batch (N, C, H, W), where the random ones draw independently per sample.

Random transforms take ``generator``: a pydl.data.Generator or an int seed (numpy draws the
few per-sample decisions), or None to draw from pydl's global RNG (``pydl.manual_seed``).
The pixel work itself is done with pydl tensor ops, on the tensor's device.
"""
import numbers

import numpy as np

from pydl.creation import from_numpy
from pydl.data.dataset import as_numpy_rng
from pydl.tensor import Tensor

__all__ = ["Compose", "Lambda", "ToFloat", "Normalize", "GaussianNoise", "RandomCrop", "RandomShift",
           "RandomHorizontalFlip"]


def _check_tensor(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a pydl Tensor, got {type(x).__name__}")


def _as_batch(x, op):
    """x viewed as (N, C, H, W), plus a function that restores x's own rank."""
    _check_tensor(x, op)
    if x.ndim == 4:
        return x, lambda y: y
    if x.ndim == 3:
        return x.unsqueeze(0), lambda y: y.squeeze(0)
    if x.ndim == 2:
        return x.reshape(1, 1, *x.shape), lambda y: y.reshape(*y.shape[2:])
    raise ValueError(f"{op}: expected an image (H, W) or (C, H, W) or a batch (N, C, H, W), got shape {tuple(x.shape)}")


class _Random:
    """The randomness of one transform: numpy when seeded, else pydl's global Philox stream."""

    def __init__(self, generator, op):
        self.generator = generator
        self.rng = as_numpy_rng(generator, op)

    def _tensor(self, arr, device):
        t = from_numpy(arr)
        return t if str(device) == "cpu" else t.to(device)

    def uniform(self, shape, device):
        if self.rng is None:
            from pydl.creation import rand

            return rand(*shape, device=device)
        return self._tensor(self.rng.random(shape, dtype=np.float32), device)

    def normal(self, shape, dtype, device):
        if self.rng is None:
            from pydl.creation import randn

            return randn(*shape, dtype=dtype, device=device)
        return self._tensor(self.rng.standard_normal(shape).astype(dtype.numpy), device)

    def integers(self, high, n, device):
        """n ints uniform in [0, high] (inclusive)."""
        if self.rng is None:
            from pydl.creation import randint

            return randint(0, high + 1, (n,), device=device)
        return self._tensor(self.rng.integers(0, high + 1, size=n, dtype=np.int64), device)


class Compose:
    """Applies the transforms in order."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: {t!r} is not callable")

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        return "Compose(" + ", ".join(repr(t) for t in self.transforms) + ")"


class Lambda:
    """A user function as a transform."""

    def __init__(self, fn):
        if not callable(fn):
            raise TypeError(f"Lambda: {fn!r} is not callable")
        self.fn = fn

    def __call__(self, x):
        return self.fn(x)


class ToFloat:
    """uint8 pixels to float32 in [0, 1] (divided by 255); other dtypes are cast to float32."""

    def __call__(self, x):
        _check_tensor(x, "ToFloat")
        if x.dtype.name == "uint8":
            return x.float() / 255.0
        return x.float()

    def __repr__(self):
        return "ToFloat()"


class Normalize:
    """(x - mean) / std, per channel when mean/std are sequences (C values against the
    channel dim of (C, H, W) or (N, C, H, W)), or for all pixels when they are scalars."""

    def __init__(self, mean, std):
        self.mean = self._values(mean, "mean")
        self.std = self._values(std, "std")
        if self.mean.size != self.std.size and 1 not in (self.mean.size, self.std.size):
            raise ValueError(f"Normalize: mean has {self.mean.size} values but std has {self.std.size}")
        if (self.std == 0).any():
            raise ValueError("Normalize: std evaluates to zero, which would divide by zero")
        self._cache = {}

    @staticmethod
    def _values(v, name):
        if isinstance(v, Tensor):
            v = v.tolist()
        arr = np.asarray(v, dtype=np.float64).reshape(-1)
        if arr.size == 0:
            raise ValueError(f"Normalize: {name} is empty")
        return arr

    def _params(self, x):
        c = max(self.mean.size, self.std.size)
        if c > 1:
            if x.ndim < 3 or x.shape[-3] != c:
                raise ValueError(f"Normalize: {c} channel values need an input (C, H, W) or (N, C, H, W) with "
                                 f"C={c}, got shape {tuple(x.shape)}")
            shape = (c, 1, 1)
        else:
            shape = ()
        key = (str(x.device), x.dtype.name, shape)
        if key not in self._cache:
            mean = np.broadcast_to(self.mean, (c,)).reshape(shape).astype(x.dtype.numpy)
            std = np.broadcast_to(self.std, (c,)).reshape(shape).astype(x.dtype.numpy)
            dev = str(x.device)
            self._cache[key] = (from_numpy(mean).to(dev), from_numpy(std).to(dev))
        return self._cache[key]

    def __call__(self, x):
        _check_tensor(x, "Normalize")
        if not x.dtype.is_floating_point:
            raise TypeError(f"Normalize: expected a floating tensor, got {x.dtype.name} (apply ToFloat first)")
        mean, std = self._params(x)
        return (x - mean) / std

    def __repr__(self):
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class GaussianNoise:
    """x + N(mean, std^2) noise, drawn independently for every element."""

    def __init__(self, std, mean=0.0, generator=None):
        if std < 0:
            raise ValueError(f"GaussianNoise: std must be non-negative, got {std}")
        self.std, self.mean = float(std), float(mean)
        self._random = _Random(generator, "GaussianNoise")

    def __call__(self, x):
        _check_tensor(x, "GaussianNoise")
        if not x.dtype.is_floating_point:
            raise TypeError(f"GaussianNoise: expected a floating tensor, got {x.dtype.name} (apply ToFloat first)")
        if self.std == 0 and self.mean == 0:
            return x
        noise = self._random.normal(tuple(x.shape), x.dtype, x.device)
        return x + (noise * self.std + self.mean if self.mean else noise * self.std)

    def __repr__(self):
        return f"GaussianNoise(std={self.std}, mean={self.mean})"


def _pad(x, p, fill):
    """(N, C, H, W) with p = (top, bottom, left, right) rows/columns of ``fill`` around it."""
    from pydl.creation import full
    from pydl.ops.shape import cat

    top, bottom, left, right = p
    n, c, h, w = x.shape
    dt, dev = x.dtype, x.device
    if left or right:
        parts = ([full((n, c, h, left), fill, dtype=dt, device=dev)] if left else []) + [x] + \
                ([full((n, c, h, right), fill, dtype=dt, device=dev)] if right else [])
        x, w = cat(parts, 3), w + left + right
    if top or bottom:
        parts = ([full((n, c, top, w), fill, dtype=dt, device=dev)] if top else []) + [x] + \
                ([full((n, c, bottom, w), fill, dtype=dt, device=dev)] if bottom else [])
        x = cat(parts, 2)
    return x


def _crop_at(x, oy, ox, h, w):
    """Per-sample windows: out[n, :, i, j] = x[n, :, oy[n] + i, ox[n] + j]. oy, ox: int64 (N,)."""
    from pydl.creation import arange
    from pydl.ops.indexing import gather

    n, c, hp, wp = x.shape
    dev = x.device
    rows = oy.reshape(n, 1, 1) + arange(h, device=dev).reshape(1, h, 1)
    cols = ox.reshape(n, 1, 1) + arange(w, device=dev).reshape(1, 1, w)
    flat = (rows * wp + cols).reshape(n, 1, h * w).expand(n, c, h * w).contiguous()
    return gather(x.reshape(n, c, hp * wp), 2, flat).reshape(n, c, h, w)


def _pair(v, name, op):
    if isinstance(v, numbers.Integral):
        return int(v), int(v)
    if isinstance(v, (tuple, list)) and len(v) == 2 and all(isinstance(u, numbers.Integral) for u in v):
        return int(v[0]), int(v[1])
    raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {v!r}")


class RandomCrop:
    """A random ``size`` window of the image padded by ``padding`` (int, (pad_h, pad_w) or
    (left, top, right, bottom) as torchvision) with ``fill``; each sample of a batch gets its own."""

    def __init__(self, size, padding=0, fill=0.0, generator=None):
        self.size = _pair(size, "size", "RandomCrop")
        if isinstance(padding, numbers.Integral):
            padding = (padding,) * 4
        elif isinstance(padding, (tuple, list)) and len(padding) == 2:
            padding = (padding[1], padding[0], padding[1], padding[0])
        elif not (isinstance(padding, (tuple, list)) and len(padding) == 4):
            raise ValueError(f"RandomCrop: padding must be an int or 2 or 4 ints, got {padding!r}")
        if any(int(p) < 0 for p in padding):
            raise ValueError(f"RandomCrop: padding must be non-negative, got {padding!r}")
        left, top, right, bottom = (int(p) for p in padding)
        self.padding = (top, bottom, left, right)
        if min(self.size) < 1:
            raise ValueError(f"RandomCrop: size must be positive, got {self.size}")
        self.fill = float(fill)
        self._random = _Random(generator, type(self).__name__)

    def _window(self, x):
        return self.size

    def __call__(self, x):
        op = type(self).__name__
        xb, restore = _as_batch(x, op)
        h, w = self._window(xb)
        if any(self.padding):
            xb = _pad(xb, self.padding, self.fill)
        n, _, hp, wp = xb.shape
        if h > hp or w > wp:
            raise ValueError(f"{op}: crop size {(h, w)} is larger than the padded image {(hp, wp)}")
        oy = self._random.integers(hp - h, n, xb.device)
        ox = self._random.integers(wp - w, n, xb.device)
        return restore(_crop_at(xb, oy, ox, h, w))

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomShift(RandomCrop):
    """Translates each image by a random whole number of pixels in [-max_shift, max_shift] along
    each axis, filling the uncovered border with ``fill``; the size is unchanged."""

    def __init__(self, max_shift, fill=0.0, generator=None):
        sy, sx = _pair(max_shift, "max_shift", "RandomShift")
        if sy < 0 or sx < 0:
            raise ValueError(f"RandomShift: max_shift must be non-negative, got {max_shift!r}")
        super().__init__(1, padding=(sx, sy, sx, sy), fill=fill, generator=generator)
        self.max_shift = (sy, sx)

    def _window(self, x):
        return tuple(x.shape[2:])

    def __repr__(self):
        return f"RandomShift(max_shift={self.max_shift})"


class RandomHorizontalFlip:
    """Mirrors each image left-right with probability p."""

    def __init__(self, p=0.5, generator=None):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = float(p)
        self._random = _Random(generator, "RandomHorizontalFlip")

    def __call__(self, x):
        from pydl.creation import arange
        from pydl.ops.elementwise import where

        xb, restore = _as_batch(x, "RandomHorizontalFlip")
        n, w = xb.shape[0], xb.shape[3]
        flip = self._random.uniform((n,), xb.device) < self.p
        flipped = xb.index_select(3, arange(w - 1, -1, -1, device=xb.device))
        return restore(where(flip.reshape(n, 1, 1, 1), flipped, xb))

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"

