"""Weight initializers, as keras.initializers: each is called with a shape (and a dtype) and returns
a new pydl Tensor drawn from pydl's seeded generator. Fans follow Keras: a (in, out) kernel has
fan_in = in; a conv kernel (kh, kw, in, out) has fan_in = kh * kw * in."""
import math

import pydl
from pydl.keras.backend import standardize_dtype


def compute_fans(shape):
    shape = tuple(shape)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return pydl.zeros(*shape, dtype=standardize_dtype(dtype))


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return pydl.ones(*shape, dtype=standardize_dtype(dtype))


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return pydl.full(tuple(shape), float(self.value), dtype=standardize_dtype(dtype))

    def get_config(self):
        return {"value": self.value}


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None):
        return pydl.empty(*shape, dtype=standardize_dtype(dtype)).uniform_(self.minval, self.maxval)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        return pydl.randn(*shape, dtype=standardize_dtype(dtype)) * self.stddev + self.mean

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev}


def _truncated_normal(shape, stddev, dtype):
    """N(0, stddev) cut at two standard deviations: draws outside are redrawn."""
    t = pydl.randn(*shape, dtype=dtype)
    for _ in range(100):
        bad = t.abs() > 2.0
        if not bad.any().item():
            break
        t = pydl.where(bad, pydl.randn(*shape, dtype=dtype), t)
    return t * stddev


class TruncatedNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        return _truncated_normal(tuple(shape), self.stddev, standardize_dtype(dtype)) + self.mean

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev}


class VarianceScaling(Initializer):
    """Keras's VarianceScaling: uniform with limit sqrt(3 * scale / n), or a normal truncated at two
    standard deviations with stddev sqrt(scale / n) / 0.8796 (the truncation's correction), where n
    is fan_in, fan_out or their mean."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if scale <= 0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"VarianceScaling: unknown distribution {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape, dtype=None):
        dtype = standardize_dtype(dtype)
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * scale)
            return pydl.empty(*shape, dtype=dtype).uniform_(-limit, limit)
        if self.distribution == "untruncated_normal":
            return pydl.randn(*shape, dtype=dtype) * math.sqrt(scale)
        return _truncated_normal(tuple(shape), math.sqrt(scale) / 0.87962566103423978, dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution}


class GlorotUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "uniform", seed)


class GlorotNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed)


class HeUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "uniform", seed)


class HeNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed)


class LecunUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "uniform", seed)


class LecunNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed)


_BY_NAME = {"zeros": Zeros, "ones": Ones, "constant": Constant, "random_uniform": RandomUniform,
            "random_normal": RandomNormal, "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
            "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_uniform": HeUniform,
            "he_normal": HeNormal, "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal}


def get(identifier):
    """An initializer from a name ('glorot_uniform'), a class, an instance or a callable(shape, dtype)."""
    if isinstance(identifier, str):
        key = identifier if identifier in _BY_NAME else \
            {cls.__name__: k for k, cls in _BY_NAME.items()}.get(identifier)
        if key is None:
            raise ValueError(f"pydl.keras.initializers: unknown initializer '{identifier}'; known: "
                             f"{', '.join(sorted(_BY_NAME))}")
        return _BY_NAME[key]()
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"pydl.keras.initializers: expected a name, an Initializer or a callable, "
                    f"got {type(identifier).__name__}")
