"""float16 / bfloat16: creation, round-to-nearest-even casts (against numpy for float16 and a
bit-level reference for bfloat16, and PyTorch where it is installed), CPU matmul through
float32, the clear TypeErrors of every other op, the GEMM's GELU epilogue and the TF32 switch."""
import numpy as np
import pytest

import pydl
from pydl import _C
from pydl.nn import functional as F

from conftest import assert_close

NONE, GELU_CODE, SIGMOID_CODE = _C.Unary.IDENTITY, _C.Unary.GELU, _C.Unary.SIGMOID  # GEMM epilogues


def _torch():
    try:
        import torch
        return torch
    except ImportError:
        return None


def _bits16(t):
    """The raw 16-bit patterns of a half tensor (through a bit-exact int64 view is not
    available, so read float16 through numpy and bfloat16 through its float32 value)."""
    if t.dtype == pydl.float16:
        return t.numpy().view(np.uint16)
    return (t.float().numpy().view(np.uint32) >> 16).astype(np.uint16)


def bf16_reference_bits(x32):
    """float32 -> bfloat16 by integer arithmetic: round to nearest, ties to even; NaN quiet."""
    u = np.ascontiguousarray(x32, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF
    nan = np.isnan(x32)
    return np.where(nan, ((u >> 16) | 0x40) & 0xFFFF, rounded).astype(np.uint16)


def _interesting_float32(rng, n=20000):
    bits = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
    special = np.array([0.0, -0.0, 1.0, -1.0, 65504.0, 65519.99, 65520.0, 65536.0, 1e-8, 5.96e-8, 2.98e-8,
                        2.9802322e-08, 6.1035156e-05, 6.1e-05, 3.3895314e38, 3.4028235e38, 1e-40, -1e-45,
                        np.inf, -np.inf, np.nan, 1 + 2**-11, 1 + 3 * 2**-11, 1 + 2**-8, 1 + 3 * 2**-8],
                       dtype=np.float32)
    normals = rng.standard_normal(n).astype(np.float32) * np.float32(10.0) ** rng.integers(-9, 6, n)
    return np.concatenate([bits.view(np.float32), special, normals.astype(np.float32)])


# ---------------------------------------------------------------------- dtypes and creation
def test_dtype_objects():
    assert pydl.half is pydl.float16
    assert pydl.float16.itemsize == 2 and pydl.bfloat16.itemsize == 2
    assert pydl.float16.is_floating_point and pydl.bfloat16.is_floating_point
    assert repr(pydl.bfloat16) == "pydl.bfloat16"
    assert pydl.tensor([1.0], dtype="half").dtype == pydl.float16
    assert pydl.tensor([1.0], dtype="bfloat16").dtype == pydl.bfloat16


@pytest.mark.parametrize("dt", [pydl.float16, pydl.bfloat16])
def test_creation(dt):
    assert pydl.zeros(2, 3, dtype=dt).dtype == dt
    np.testing.assert_array_equal(pydl.zeros(2, 3, dtype=dt).float().numpy(), np.zeros((2, 3)))
    np.testing.assert_array_equal(pydl.ones(4, dtype=dt).float().numpy(), np.ones(4))
    np.testing.assert_array_equal(pydl.full((2, 2), -2.5, dtype=dt).float().numpy(), np.full((2, 2), -2.5))
    assert pydl.empty(5, dtype=dt).shape == (5,)
    assert pydl.full((1,), 3.0, dtype=dt).item() == 3.0
    t = pydl.tensor([[1.0, 2.0], [3.0, 1.0 / 3.0]], dtype=dt)
    assert t.dtype == dt and t.shape == (2, 2)
    np.testing.assert_array_equal(t.float().numpy()[0], [1.0, 2.0])
    assert "dtype=pydl." + dt.name in repr(t)


def test_from_numpy_float16_shares_memory():
    a = np.array([1.0, 2.0, 0.1], dtype=np.float16)
    t = pydl.from_numpy(a)
    assert t.dtype == pydl.float16
    a[0] = 7.0
    assert t.float().numpy()[0] == 7.0
    np.testing.assert_array_equal(t.numpy().view(np.uint16), a.view(np.uint16))


def test_bfloat16_numpy_raises_and_tensor_goes_through_float32():
    t = pydl.tensor([1.0, 3.14159265], dtype=pydl.bfloat16)
    with pytest.raises(TypeError, match=r"\.float\(\)"):
        t.numpy()
    np.testing.assert_array_equal(_bits16(t), bf16_reference_bits(np.array([1.0, 3.14159265], np.float32)))


# ---------------------------------------------------------------------- casts
def test_float32_to_float16_rounds_like_numpy(rng):
    x = _interesting_float32(rng)
    got = _bits16(pydl.tensor(x).half())
    with np.errstate(over="ignore"):
        want = x.astype(np.float16).view(np.uint16)
    nan = np.isnan(x)
    np.testing.assert_array_equal(got[~nan], want[~nan])
    assert np.isnan(pydl.tensor(x[nan]).half().float().numpy()).all()


def test_float16_to_float32_every_pattern():
    h = np.arange(2**16, dtype=np.uint64).astype(np.uint16).view(np.float16)
    got = pydl.from_numpy(h).float().numpy()
    np.testing.assert_array_equal(got.view(np.uint32), h.astype(np.float32).view(np.uint32))


def test_float32_to_bfloat16_rounds_to_nearest_even(rng):
    x = _interesting_float32(rng)
    got = _bits16(pydl.tensor(x).bfloat16())
    np.testing.assert_array_equal(got, bf16_reference_bits(x))
    # ties go to even, overflow to inf, NaN stays NaN, float32 denormals round like the rest
    ties = np.array([1 + 2**-8, 1 + 3 * 2**-8, 3.4028235e38, -3.4028235e38, np.nan, 1e-40], np.float32)
    back = pydl.tensor(ties).bfloat16().float().numpy()
    assert back[0] == 1.0 and back[1] == 1 + 2**-6
    assert back[2] == np.inf and back[3] == -np.inf and np.isnan(back[4])
    assert back[5] == np.float32(2.0**-133)  # a float32 denormal, rounded to bfloat16's 7 bits


def test_casts_match_torch(rng):
    torch = _torch()
    if torch is None:
        pytest.skip("PyTorch is not installed")
    x = _interesting_float32(rng)
    x = x[~np.isnan(x)]
    tx = torch.from_numpy(x)
    np.testing.assert_array_equal(_bits16(pydl.tensor(x).half()), tx.half().numpy().view(np.uint16))
    want_bf = (tx.bfloat16().float().numpy().view(np.uint32) >> 16).astype(np.uint16)
    np.testing.assert_array_equal(_bits16(pydl.tensor(x).bfloat16()), want_bf)


def test_bfloat16_to_float32_is_exact():
    b = np.arange(2**16, dtype=np.uint32)
    finite = ((b >> 7) & 0xFF) != 0xFF
    values = (b[finite] << 16).view(np.float32)
    t = pydl.tensor(values).bfloat16()  # exact: already bfloat16 values
    np.testing.assert_array_equal(t.float().numpy().view(np.uint32), values.view(np.uint32))


@pytest.mark.parametrize("dt", [pydl.float16, pydl.bfloat16])
def test_casts_to_and_from_other_dtypes(dt):
    h = pydl.tensor([1.5, -2.5, 0.0, 3.0], dtype=dt)
    np.testing.assert_array_equal(h.long().numpy(), [1, -2, 0, 3])
    np.testing.assert_array_equal(h.to(pydl.bool).numpy(), [True, True, False, True])
    np.testing.assert_array_equal(h.double().numpy(), [1.5, -2.5, 0.0, 3.0])
    np.testing.assert_array_equal(pydl.tensor([1, 2, 300]).to(dt).float().numpy(), [1, 2, 300])
    np.testing.assert_array_equal(pydl.tensor([True, False]).to(dt).float().numpy(), [1, 0])
    # float64 converts through float32
    d = np.array([1 / 3, 1e-30, 70000.0])
    np.testing.assert_array_equal(pydl.tensor(d).to(dt).float().numpy(),
                                  pydl.tensor(d.astype(np.float32)).to(dt).float().numpy())
    # strided views cast too
    m = pydl.tensor(np.arange(12, dtype=np.float32).reshape(3, 4)).to(dt)
    np.testing.assert_array_equal(m.t().float().numpy(), np.arange(12).reshape(3, 4).T)
    np.testing.assert_array_equal(m.t().contiguous().float().numpy(), np.arange(12).reshape(3, 4).T)


def test_cast_is_differentiable():
    x = pydl.randn(3, 4, requires_grad=True)
    y = x.half()
    assert y.requires_grad and y.dtype == pydl.float16
    (y.float() * 2).sum().backward()
    assert x.grad.dtype == pydl.float32
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 4), 2.0))


# ---------------------------------------------------------------------- matmul on the CPU
@pytest.mark.parametrize("dt", [pydl.float16, pydl.bfloat16])
@pytest.mark.parametrize("shape_a, shape_b", [((7, 33), (33, 5)), ((2, 3, 17), (17, 4)), ((4, 1, 6, 9), (3, 9, 2)),
                                              ((9,), (9, 3)), ((5, 9), (9,))])
def test_cpu_half_matmul_is_float32_gemm_rounded(dt, shape_a, shape_b, rng):
    a = pydl.tensor(rng.standard_normal(shape_a).astype(np.float32)).to(dt)
    b = pydl.tensor(rng.standard_normal(shape_b).astype(np.float32)).to(dt)
    out = a @ b
    assert out.dtype == dt
    want = (a.float() @ b.float()).to(dt)
    np.testing.assert_array_equal(_bits16(out), _bits16(want))
    # and close to the float64 product of the rounded inputs
    ref = np.matmul(a.double().numpy(), b.double().numpy())
    tol = 2**-10 if dt == pydl.float16 else 2**-7
    assert_close(out.float(), ref.astype(np.float32), rtol=tol, atol=tol * np.sqrt(shape_a[-1]))


@pytest.mark.parametrize("dt", [pydl.float16, pydl.bfloat16])
def test_cpu_half_linear_with_epilogues_and_transposes(dt, rng):
    x = pydl.tensor(rng.standard_normal((6, 10)).astype(np.float32)).to(dt)
    w = pydl.tensor(rng.standard_normal((4, 10)).astype(np.float32)).to(dt)
    bias = pydl.tensor(rng.standard_normal(4).astype(np.float32)).to(dt)
    for relu, code in ((False, NONE), (True, NONE), (False, GELU_CODE)):
        out = _C.linear(x._a, w._a, bias._a, relu, code)
        want = _C.linear(x.float()._a, w.float()._a, bias.float()._a, relu, code).astype(dt.code)
        assert out.dtype == dt.code
        f32 = pydl.float32.code
        np.testing.assert_array_equal(out.astype(f32).numpy(), want.astype(f32).numpy())
    # x^T-style operands (transpose flags) and the autograd of matmul in half
    a = x.t().requires_grad_()
    out = a.t() @ w.t()
    out.float().sum().backward()
    assert a.grad.dtype == dt and a.grad.shape == a.shape


def test_matmul_dtype_errors():
    h, f = pydl.ones(2, 2, dtype=pydl.float16), pydl.ones(2, 2)
    with pytest.raises(TypeError, match="matmul"):
        h @ f
    with pytest.raises(TypeError, match="matmul"):
        h @ pydl.ones(2, 2, dtype=pydl.bfloat16)
    with pytest.raises(ValueError, match="bias"):
        _C.linear(h._a, h._a, f[0]._a, False, NONE)


# ---------------------------------------------------------------------- reductions
@pytest.mark.parametrize("dt", [pydl.float16, pydl.bfloat16])
def test_reductions_accumulate_in_float32(dt, device):
    data = np.random.default_rng(2).standard_normal((3, 70)).astype(np.float32) * 10
    h = pydl.tensor(data, device=device).to(dt)
    wide = h.float()  # the values the half tensor holds
    for got, want in ((h.sum(), wide.sum()), (h.mean(1), wide.mean(1)), (h.amax(0), wide.amax(0)),
                      (h.var(1), wide.var(1)), (h.max(dim=1).values, wide.max(dim=1).values)):
        assert got.dtype == dt
        np.testing.assert_array_equal(got.float().cpu().numpy(), want.to(dt).float().cpu().numpy())
    assert h.argmax(1).tolist() == wide.argmax(1).tolist() and h.max(dim=0).indices.tolist() == \
        wide.max(dim=0).indices.tolist()


# ---------------------------------------------------------------------- every other op refuses
_UNSUPPORTED = {
    "add": lambda h: h + h,
    "add_scalar": lambda h: h + 1.0,
    "mul": lambda h: h * pydl.ones(2, 3),
    "exp": lambda h: h.exp(),
    "neg": lambda h: -h,
    "relu": lambda h: F.relu(h),
    "gelu": lambda h: F.gelu(h),
    "softmax": lambda h: F.softmax(h, dim=1),
    "cross_entropy": lambda h: F.cross_entropy(h, pydl.tensor([0, 1])),
    "mse_loss": lambda h: F.mse_loss(h, h),
    "lt": lambda h: h < 0,
    "where": lambda h: pydl.where(pydl.ones(2, 3, dtype=pydl.bool), h, h),
    "clamp": lambda h: h.clamp(0, 1),
}


@pytest.mark.parametrize("dt", [pydl.float16, pydl.bfloat16])
@pytest.mark.parametrize("name", sorted(_UNSUPPORTED))
def test_other_ops_raise_type_error(dt, name):
    h = pydl.ones(2, 3, dtype=dt)
    with pytest.raises(TypeError) as e:
        _UNSUPPORTED[name](h)
    msg = str(e.value)
    assert ".float()" in msg and dt.name in msg


@pytest.mark.parametrize("op", ["add", "mul", "exp", "neg"])
def test_error_names_the_op(op):
    h = pydl.ones(2, 3, dtype=pydl.float16)
    f = {"add": lambda: h + h, "mul": lambda: h * h, "exp": lambda: h.exp(), "neg": lambda: -h}[op]
    with pytest.raises(TypeError, match=op):
        f()


def test_conv_and_layers_refuse_halves():
    x = pydl.ones(1, 1, 5, 5, dtype=pydl.float16)
    w = pydl.ones(1, 1, 3, 3, dtype=pydl.float16)
    with pytest.raises(TypeError):
        F.conv2d(x, w)
    with pytest.raises(TypeError):
        F.max_pool2d(x, 2)


def test_views_of_halves_work():
    h = pydl.tensor(np.arange(6, dtype=np.float32).reshape(2, 3)).half()
    np.testing.assert_array_equal(h.t().float().numpy(), np.arange(6).reshape(2, 3).T)
    np.testing.assert_array_equal(h.reshape(3, 2).float().numpy(), np.arange(6).reshape(3, 2))
    np.testing.assert_array_equal(h.unsqueeze(0).float().numpy(), np.arange(6).reshape(1, 2, 3))


def test_dlpack_exports_half_dtypes():
    torch = _torch()
    if torch is None:
        pytest.skip("PyTorch is not installed")
    h = pydl.tensor([1.0, 2.5]).half()
    t = torch.from_dlpack(h)
    assert t.dtype == torch.float16 and t.tolist() == [1.0, 2.5]
    b = pydl.from_dlpack(torch.tensor([1.0, 3.0], dtype=torch.bfloat16))
    assert b.dtype == pydl.bfloat16 and b.float().numpy().tolist() == [1.0, 3.0]


# ---------------------------------------------------------------------- GEMM epilogue, TF32 switch
def _gelu64(v):
    from math import erf
    return v * 0.5 * (1.0 + np.vectorize(erf)(v / np.sqrt(2.0)))


@pytest.mark.parametrize("dtype, tol", [(np.float32, 2e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("m, n, k", [(1, 1, 1), (7, 33, 5), (64, 100, 784), (130, 17, 40)])
def test_cpu_gemm_gelu_epilogue(dtype, tol, m, n, k, rng):
    x = rng.standard_normal((m, k)).astype(dtype)
    w = rng.standard_normal((n, k)).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    got = _C.linear(pydl.tensor(x)._a, pydl.tensor(w)._a, pydl.tensor(b)._a, False, GELU_CODE).numpy()
    pre = x.astype(np.float64) @ w.astype(np.float64).T + b
    np.testing.assert_allclose(got, _gelu64(pre), rtol=tol * 10, atol=tol * np.sqrt(k))
    no_bias = _C.linear(pydl.tensor(x)._a, pydl.tensor(w)._a, None, False, GELU_CODE).numpy()
    np.testing.assert_allclose(no_bias, _gelu64(pre - b), rtol=tol * 10, atol=tol * np.sqrt(k))


def test_gemm_epilogue_rejects_other_activations():
    x = pydl.ones(2, 2)
    with pytest.raises(ValueError, match="epilogue"):
        _C.linear(x._a, x._a, None, False, SIGMOID_CODE)
    with pytest.raises(TypeError):  # a code is a _C.Unary, never a bare int
        _C.linear(x._a, x._a, None, False, 42)


def test_allow_tf32_switch(rng):
    m = pydl.backends.cuda.matmul
    assert m.allow_tf32 is False  # default, as PyTorch
    a = pydl.tensor(rng.standard_normal((9, 13)).astype(np.float32))
    before = (a @ a.t()).numpy()
    try:
        m.allow_tf32 = True
        assert m.allow_tf32 is True
        np.testing.assert_array_equal((a @ a.t()).numpy(), before)  # the CPU ignores it
    finally:
        m.allow_tf32 = False
    assert m.allow_tf32 is False


def test_gemm_configs_listed():
    names = _C.gemm_configs()
    if _C.cuda_compiled():
        assert "sgemm_128x128" in names and "mma_128x128" in names
        with pytest.raises(ValueError):
            _C.gemm_force_config("no_such_config")
        _C.gemm_force_config("")
    else:
        assert names == []


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_index_select_and_cat_on_every_device(device, dtype):
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    h = pydl.tensor(x).to(dtype=getattr(pydl, dtype)).to(device)
    picked = pydl.index_select(h, 2, pydl.tensor([3, 0, 2], device=device))
    assert picked.dtype == h.dtype and str(picked.device).startswith(device)
    np.testing.assert_array_equal(picked.float().cpu().numpy(), x[:, :, [3, 0, 2]])
    np.testing.assert_array_equal(pydl.cat([h, h], dim=1).float().cpu().numpy(), np.concatenate([x, x], 1))


def test_data_movement_of_halves_and_mixing_raises():
    h = pydl.tensor(np.arange(6, dtype=np.float32).reshape(2, 3)).bfloat16()
    np.testing.assert_array_equal(pydl.cat([h, h]).float().numpy(), np.tile(np.arange(6).reshape(2, 3), (2, 1)))
    np.testing.assert_array_equal(pydl.index_select(h, 1, pydl.tensor([2, 0])).float().numpy(), [[2, 0], [5, 3]])
    with pytest.raises(TypeError, match="cat: cannot mix bfloat16 and float32"):
        pydl.cat([h, pydl.ones(2, 3)])
    with pytest.raises(TypeError, match=r"gather: .*\.float\(\)"):
        pydl.gather(h, 1, pydl.tensor([[0], [1]]))
    with pytest.raises(TypeError, match=r"relu: .*\.float\(\)"):
        F.relu(h)
