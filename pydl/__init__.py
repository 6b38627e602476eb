"""pydl: a compact deep-learning engine. Hand-written C++ (and CUDA) kernels under a
Python autograd graph, with PyTorch's API."""
from pydl._missing import module_getattr as _module_getattr
import builtins as _builtins
import os as _os

# OpenMP workers spin ~0.3 s by default before sleeping; on a shared or oversubscribed machine that
# spinning steals the core a descheduled sibling needs. Some 1-2 ms of spinning covers the gaps
# between the parallel regions of a training step (waking a sleeping worker took 50-80 us on a
# virtual machine, a fifth of an MLP step at batch 512); a busy machine is left to the kernels'
# back-off (kernels/cpu/team.h).
_os.environ.setdefault("GOMP_SPINCOUNT", "100000")
try:
    from pydl import _C
except ImportError as e:  # a source checkout without the built extension
    raise ImportError(
        "pydl's compiled extension pydl._C is missing: this looks like the source tree. "
        "Install with `pip install .` and import pydl from another directory"
    ) from e
from pydl._C import ArgumentError, DTypeError
from pydl._dtype import bool_ as bool  # noqa: A001  (pydl.bool, as torch.bool)
from pydl._dtype import bfloat16, device, dtype, float16, float32, float64, half, int32, int64, uint8
from pydl.autograd import (Function, enable_grad, gradcheck, inference_mode, is_grad_enabled, no_grad,
                           set_grad_enabled)
from pydl.creation import (arange, empty, empty_like, eye, from_numpy, full, full_like, initial_seed, linspace,
                           manual_seed, ones, ones_like, rand, rand_like, randint, randn, randn_like, randperm, tensor,
                           zeros, zeros_like)
from pydl.ops.elementwise import (add, bitwise_and, bitwise_left_shift, bitwise_not, bitwise_or, bitwise_right_shift,
                                  bitwise_xor, clamp, div, eq, floor_divide, fmod, ge, gt, le, logical_and, logical_not,
                                  logical_or, logical_xor, lt, maximum, minimum, mul, ne, pow, remainder, square, sub,
                                  where)
from pydl.ops.numeric import (allclose, isclose, isfinite, isinf, isnan, isneginf, isposinf, lerp, logaddexp)
from pydl.ops.unary import *  # noqa: F401,F403  (the pointwise family: pydl.exp, pydl.tanh, ...)
from pydl.ops.einsum import einsum
from pydl.ops.indexing import (argwhere, gather, index_add, index_select, masked_fill, masked_select, nonzero, scatter,
                               scatter_add, scatter_reduce)
from pydl.ops.linalg import dot, matmul, mm, outer, tril, triu
from pydl.ops.rearrange import diag, diag_embed, diagonal, flip, fliplr, flipud, roll
from pydl.ops.reduction import (all, amax, amin, any, argmax, argmin, logsumexp, max, mean, min, norm, std, std_mean,
                                sum, var, var_mean)
from pydl.ops.scan import cummax, cummin, cumprod, cumsum, logcumsumexp, prod
from pydl.ops.sort import argsort, kthvalue, msort, sort, topk
from pydl.ops.shape import (broadcast_to, cat, chunk, clone, concat, flatten, movedim, narrow, permute,
                            repeat_interleave, reshape, split, squeeze, stack, tile, transpose, unbind, unsqueeze)
from pydl.tensor import Size, Tensor
from pydl.dlpack import from_dlpack
from pydl.serialization import load, save
from pydl import backends, cuda, data, nn, optim, utils  # noqa: E402
from pydl.data import Generator  # torch.Generator's place: seeds shuffling, splits and random transforms

float = float32  # noqa: A001  (as torch.float)
double = float64
long = int64
int = int32  # noqa: A001  (as torch.int)
clip = clamp


def set_num_threads(n):
    """Threads used by the CPU kernels (OpenMP); OMP_NUM_THREADS sets the default."""
    _C.set_num_threads(_builtins.int(n))


def get_num_threads():
    return _C.get_num_threads()


def set_flush_denormal(mode):
    """Whether the CPU kernels flush denormal floats to zero (FTZ + DAZ), for every thread that runs
    them. On by default (unlike PyTorch, as TensorFlow and JAX): denormals slow Intel cores several
    times once a loss gets small. Returns False where the processor has no such mode."""
    return _C.set_flush_denormal(_builtins.bool(mode))


def get_flush_denormal():
    return _C.flush_denormal()


def is_tensor(x):
    return isinstance(x, Tensor)


__version__ = "0.1.0"

__getattr__ = _module_getattr("pydl")
