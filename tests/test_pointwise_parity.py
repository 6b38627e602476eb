"""The pointwise family's promise (kernels/common/pointwise_math.h): every entry of the
registry (_C.Unary), forward and backward, gives the same bits on CUDA as on the CPU, and
the same bits in each of the CPU's ISA copies (generic, AVX2, AVX-512). Driven by the
registry: a new op is covered here without an edit. Also: the registries reach Python as
enums, and each op is one function with one grad_fn however it is called."""
import ctypes
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import pydl
import pydl.nn.functional as F
from pydl import _C

OPS = list(_C.Unary.__members__.values())
PARAMS = {"LEAKY_RELU": (0.2, 0.0), "SOFTPLUS": (1.5, 7.0)}  # (p0, p1); the others take none
# The domain of ops whose inputs leave it (log of a negative: NaN) is still covered: NaN for NaN.
SPECIAL = [0.0, -0.0, 1e-40, -1e-40, 1e-30, -1e-30, 3e-8, -3e-8, 0.5, 0.625, -0.625, 1.0, -1.0, 2.0, 5.0, -5.0,
           8.0, -8.0, 17.0, -17.0, 19.9, 20.1, 30.0, -30.0, 87.0, -87.0, 88.7, 88.8, 89.5, -103.0, -104.5, 400.0,
           -400.0, np.inf, -np.inf, np.nan, -0.99999994, -0.5, -1.0, -1.5, 1e30, -1e30, 3.4e38]


def inputs(dtype, n=6000, seed=0):
    r = np.random.default_rng(seed)
    parts = [SPECIAL, r.standard_normal(n) * 4, r.standard_normal(n // 4) * 1e-3,
             np.exp(r.uniform(-60, 60, n // 4)) * r.choice([-1.0, 1.0], n // 4), r.uniform(-1, 0, n // 4)]
    return np.concatenate(parts).astype(dtype)


def bits(a):
    """The bit patterns of a float array, every NaN as one pattern (NaN payloads are not promised)."""
    a = np.ascontiguousarray(a)
    u = a.view(np.uint32 if a.dtype == np.float32 else np.uint64).copy()
    u[np.isnan(a)] = 0
    return u


def assert_same_bits(got, want, what):
    g, w = bits(got), bits(want)
    bad = np.flatnonzero(g != w)
    assert bad.size == 0, f"{what}: {bad.size} of {g.size} differ, first at {bad[:5]}: {got.flat[bad[:5]]} vs " \
                          f"{want.flat[bad[:5]]}"


def assert_close_float64(got, want, what):
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-300, err_msg=what)


def emulated_cuda():
    """Whether CUDA here is pydl's emulation on the CPU (PYDL_CUDA=EMULATE), not a GPU."""
    try:
        ctypes.CDLL(pydl._C.__file__).pydl_emu_launch_count
        return True
    except (OSError, AttributeError):
        return False


def forward_backward(op, x, g):
    """(y, dx) of one registry entry, through _C: dx from the saved output or input."""
    p0, p1 = PARAMS.get(op.name, (0.0, 0.0))
    y = _C.unary(op, x._a, p0, p1)
    dx = _C.unary_backward(op, g._a, y if op.grad_from_output else x._a, p0, p1)
    return y, dx


# ---------------------------------------------------------------------- CPU <-> CUDA
@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name.lower())
def test_cuda_gives_the_cpu_bits(op, dtype):
    # float64 ops on libm's exp/log/tanh are promised within an ulp or so on a GPU, whose
    # libdevice may differ from glibc in the last bit; the emulation (the CI's CUDA) runs the
    # host's libm, so there float64 is held to the bit too.
    same = assert_same_bits if dtype == np.float32 or emulated_cuda() else assert_close_float64
    a = inputs(dtype)
    g = np.random.default_rng(1).standard_normal(a.size).astype(dtype)
    c = (pydl.tensor(a), pydl.tensor(g))
    d = (pydl.tensor(a, device="cuda"), pydl.tensor(g, device="cuda"))
    for (yc, dc), (yd, dd), how in [(forward_backward(op, *c), forward_backward(op, *d), "contiguous"),
                                    (forward_backward(op, c[0][1::3], c[1][2::3]),
                                     forward_backward(op, d[0][1::3], d[1][2::3]), "strided")]:
        same(yd.to("cpu").numpy(), yc.numpy(), f"{op.name} forward, {how}")
        same(dd.to("cpu").numpy(), dc.numpy(), f"{op.name} backward, {how}")


@pytest.mark.cuda
@pytest.mark.parametrize("op", [op for op in OPS if op.name in ("NEG", "ABS", "SIGN", "RELU", "IDENTITY")],
                         ids=lambda op: op.name.lower())
def test_cuda_integer_ops_match(op):
    a = np.array([-(2**62), -7, -1, 0, 1, 7, 2**62], dtype=np.int64)
    assert _C.unary(op, pydl.tensor(a, device="cuda")._a).to("cpu").numpy().tolist() == \
        _C.unary(op, pydl.tensor(a)._a).numpy().tolist()


# ---------------------------------------------------------------------- the CPU's ISA copies
_DIGEST = """
import hashlib, sys
import numpy as np
sys.path.insert(0, {tests!r})
import pydl
from pydl import _C
from test_pointwise_parity import OPS, bits, forward_backward, inputs
h = hashlib.sha256()
for dtype in (np.float32, np.float64):
    a = inputs(dtype)
    g = np.random.default_rng(1).standard_normal(a.size).astype(dtype)
    for op in OPS:
        for out in forward_backward(op, pydl.tensor(a), pydl.tensor(g)):
            h.update(bits(out.numpy()).tobytes())
print(_C.cpu_isa(), h.hexdigest())
"""


def test_every_cpu_isa_gives_the_same_bits():
    digests = {}
    for isa in ("generic", "avx2", "avx512"):
        env = dict(os.environ, PYDL_CPU_ISA=isa)
        out = subprocess.run([sys.executable, "-c", _DIGEST.format(tests=os.path.dirname(os.path.abspath(__file__)))],
                             env=env, capture_output=True, text=True, check=True, cwd=tempfile.gettempdir())
        ran, digest = out.stdout.split()
        digests[ran] = digest  # an ISA the processor lacks runs as the best one it has
    assert "generic" in digests
    assert len(set(digests.values())) == 1, digests


# ---------------------------------------------------------------------- one op, one registry
def test_registries_reach_python_as_enums():
    assert _C.Unary.TANH.grad_from_output and not _C.Unary.RELU.grad_from_output
    assert pydl.float32.code == int(_C.DType.FLOAT32) and pydl.bool.code == int(_C.DType.BOOL)
    assert {d.name for d in (pydl.bool, pydl.uint8, pydl.int32, pydl.int64, pydl.float32, pydl.float64, pydl.float16,
                             pydl.bfloat16)} == {n.lower() for n in _C.DType.__members__}
    assert set(_C.Reduction.__members__) == {"NONE", "MEAN", "SUM"}
    for name in _C.PointwiseLoss.__members__:  # each loss is the nn.functional function of its name
        assert callable(getattr(F, name.lower()))
    with pytest.raises(TypeError):
        _C.unary(3, pydl.ones(2)._a)  # codes are enums, never positions


@pytest.mark.parametrize("op", [op for op in OPS if op.name not in ("IDENTITY", "GELU_TANH")],
                         ids=lambda op: op.name.lower())
def test_every_entry_has_its_python_function(op):
    name = op.name.lower()
    fn = getattr(pydl, name, None) or getattr(F, name)
    x = pydl.tensor(np.linspace(0.1, 2.0, 5), requires_grad=True)
    y = fn(x)
    assert type(y.grad_fn).__name__ == "".join(p[0].upper() + p[1:] for p in name.split("_"))


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu"])
def test_method_function_functional_and_module_are_one_op(name):
    a = np.random.default_rng(3).standard_normal(1001).astype(np.float32) * 4
    module = {"tanh": pydl.nn.Tanh(), "sigmoid": pydl.nn.Sigmoid(), "relu": pydl.nn.ReLU()}[name]
    outs = []
    for call in (lambda t: getattr(t, name)(), getattr(pydl, name), getattr(F, name), module):
        x = pydl.tensor(a, requires_grad=True)
        y = call(x)
        y.backward(pydl.ones(1001))
        outs.append((type(y.grad_fn), y.detach().numpy(), x.grad.numpy()))
    for grad_fn, y, dx in outs[1:]:
        assert grad_fn is outs[0][0]
        assert_same_bits(y, outs[0][1], name)
        assert_same_bits(dx, outs[0][2], name + " backward")
