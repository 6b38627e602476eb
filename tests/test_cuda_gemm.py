"""The CUDA GEMM: every tile configuration (forced through _C.gemm_force_config) and every
transpose combination against a float64 reference on odd sizes, batched and broadcast
shapes, misaligned views, the fused epilogues, TF32 / FP16 / BF16 within their documented
error, the size heuristic, and the half casts against their CPU twins; PyTorch on the GPU
as a second oracle where it is installed.

Error model (|A| and |B| are elementwise absolute values; the reference is the float64
product of exactly the inputs the kernel saw, i.e. after rounding to float16/bfloat16):
  float32 SGEMM:     |C - ref| <= 8 sqrt(k) 2^-24 (|A| @ |B|)
  TF32 tensor cores: |C - ref| <= (2^-10 + 8 sqrt(k) 2^-24) (|A| @ |B|)   (inputs keep 10 bits)
  FP16 / BF16:       |C - ref| <= u |ref| + (1 + u) 8 sqrt(k) 2^-24 (|A| @ |B|), u = 2^-11 (2^-8
                     for BF16): float32 accumulation, then one rounding of the output
"""
import contextlib

import numpy as np
import pytest

import pydl
from pydl import _C

pytestmark = pytest.mark.cuda

SGEMM = ["sgemm_128x128", "sgemm_128x128_lb2", "sgemm_128x64", "sgemm_64x64", "sgemm_32x32"]
MMA = ["mma_128x128", "mma_128x128_lb2", "mma_64x64"]
TRANSPOSES = ["NN", "NT", "TN", "TT"]
SHAPES = [(1, 1, 1), (7, 33, 127), (33, 7, 1), (127, 1000, 33), (1000, 127, 7), (1023, 33, 1000), (64, 100, 784),
          (130, 129, 67)]
NONE, RELU, GELU = _C.Unary.IDENTITY, _C.Unary.RELU, _C.Unary.GELU  # the GEMM epilogues


def _torch_cuda():
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


@contextlib.contextmanager
def forced(name, tf32=False):
    old = pydl.backends.cuda.matmul.allow_tf32
    _C.gemm_force_config(name)
    pydl.backends.cuda.matmul.allow_tf32 = tf32
    try:
        yield
    finally:
        _C.gemm_force_config("")
        pydl.backends.cuda.matmul.allow_tf32 = old


def operand(rng, rows, cols, trans, dtype=None):
    """A (rows, cols) operand for the GPU, stored transposed when trans (a .t() view, which the
    GEMM reads through its transpose flag), with its float64 value as the kernel sees it."""
    x = rng.standard_normal((cols, rows) if trans else (rows, cols)).astype(np.float32)
    t = pydl.tensor(x)
    if dtype is not None:
        t = t.to(dtype)
    exact = t.double().numpy()
    if trans:
        t, exact = t.t(), exact.T
    return t.to("cuda"), exact


def bound(a64, b64, k, rel_inputs=0.0, rel_out=0.0, ref=None):
    acc = 8 * np.sqrt(max(k, 1)) * 2.0**-24
    out = (rel_inputs + acc) * (np.abs(a64) @ np.abs(b64))
    if rel_out:  # |round(c) - ref| <= u |ref| + (1 + u) |c - ref|
        out = (1 + rel_out) * out + rel_out * np.abs(ref)
    return out + 1e-30


def check(got, ref, tol):
    got = got.cpu().double().numpy()
    assert got.shape == ref.shape
    err = np.abs(got - ref)
    worst = np.unravel_index(np.argmax(err - tol), err.shape) if err.size else None
    assert (err <= tol).all(), f"max excess at {worst}: got {got[worst]}, want {ref[worst]} (tol {tol[worst]})"


# ---------------------------------------------------------------------- FP32 SGEMM
@pytest.mark.parametrize("config", SGEMM)
@pytest.mark.parametrize("trans", TRANSPOSES)
@pytest.mark.parametrize("m, n, k", SHAPES)
def test_sgemm_every_config_and_transpose(config, trans, m, n, k, rng):
    a, a64 = operand(rng, m, k, trans[0] == "T")
    b, b64 = operand(rng, k, n, trans[1] == "T")
    with forced(config):
        c = a @ b
        assert _C.gemm_last_config() == config
    ref = a64 @ b64
    check(c, ref, bound(a64, b64, k))


@pytest.mark.parametrize("config", SGEMM + MMA)
def test_misaligned_and_odd_leading_dimensions(config, rng):
    # Views starting one element in, with odd leading dimensions: no 16-byte loads allowed.
    big = rng.standard_normal((70, 91)).astype(np.float32)
    t = pydl.tensor(big) if config.startswith("sgemm") else pydl.tensor(big).bfloat16()
    exact = t.double().numpy()
    t = t.to("cuda")
    a, a64 = t[1:66, 1:40], exact[1:66, 1:40]
    b, b64 = t[3:42, 2:90], exact[3:42, 2:90]
    with forced(config, tf32=True):
        c = a @ b
        assert _C.gemm_last_config() == config
    ref = a64 @ b64
    rel_in = 2.0**-10 if config.startswith("mma") else 0.0
    rel_out = 2.0**-8 if config.startswith("mma") else 0.0
    check(c.float() if c.dtype != pydl.float32 else c, ref, bound(a64, b64, 39, rel_in, rel_out, ref))


@pytest.mark.parametrize("config", SGEMM + MMA)
@pytest.mark.parametrize("shape_a, shape_b", [((3, 33, 17), (17, 9)), ((2, 1, 7, 40), (3, 40, 65)),
                                              ((5, 64, 32), (5, 32, 64)), ((4, 9), (2, 4, 9, 5))])
def test_batched_and_broadcast(config, shape_a, shape_b, rng):
    a = rng.standard_normal(shape_a).astype(np.float32)
    b = rng.standard_normal(shape_b).astype(np.float32)
    with forced(config, tf32=True):
        c = pydl.tensor(a, device="cuda") @ pydl.tensor(b, device="cuda")
    ref = np.matmul(a.astype(np.float64), b.astype(np.float64))
    absprod = np.matmul(np.abs(a).astype(np.float64), np.abs(b).astype(np.float64))
    k = shape_a[-1]
    rel_in = 2.0**-10 if config.startswith("mma") else 0.0
    check(c, ref, (rel_in + 8 * np.sqrt(k) * 2.0**-24) * absprod + 1e-30)


@pytest.mark.parametrize("config", ["sgemm_32x32", "mma_64x64"])
def test_batch_beyond_grid_z_limit(config, rng):
    batch = 65535 + 7
    a = rng.standard_normal((batch, 1, 3)).astype(np.float32)
    b = rng.standard_normal((batch, 3, 2)).astype(np.float32)
    with forced(config, tf32=True):
        c = pydl.tensor(a, device="cuda") @ pydl.tensor(b, device="cuda")
    ref = np.matmul(a.astype(np.float64), b.astype(np.float64))
    np.testing.assert_allclose(c.cpu().numpy(), ref, rtol=3e-3, atol=3e-3)
    assert np.abs(c.cpu().numpy()[-1] - ref[-1]).max() < 3e-3  # the last batch entries were computed


def test_m_tiles_beyond_grid_y_limit(rng):
    m = (65535 + 3) * 32
    a = rng.standard_normal((m, 2)).astype(np.float32)
    b = rng.standard_normal((2, 3)).astype(np.float32)
    with forced("sgemm_32x32"):
        c = pydl.tensor(a, device="cuda") @ pydl.tensor(b, device="cuda")
    np.testing.assert_allclose(c.cpu().numpy(), a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("config", SGEMM + MMA)
def test_beta_zero_never_reads_the_output(config, rng):
    # Leave NaNs in the allocator's cached block the output will reuse: beta == 0 must not read them.
    junk = pydl.full((96, 80), float("nan"), device="cuda")
    del junk
    a = rng.standard_normal((96, 50)).astype(np.float32)
    b = rng.standard_normal((50, 80)).astype(np.float32)
    with forced(config, tf32=True):
        c = pydl.tensor(a, device="cuda") @ pydl.tensor(b, device="cuda")
    assert np.isfinite(c.cpu().numpy()).all()


# ---------------------------------------------------------------------- epilogues
@pytest.mark.parametrize("config", SGEMM + MMA)
@pytest.mark.parametrize("act", ["none", "relu", "gelu"])
@pytest.mark.parametrize("m, n, k", [(1, 1, 1), (7, 33, 127), (64, 100, 784), (130, 10, 100)])
def test_linear_epilogues(config, act, m, n, k, rng):
    from math import erf

    x = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((n, k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    code = {"none": NONE, "relu": RELU, "gelu": GELU}[act]
    with forced(config, tf32=True):
        out = _C.linear(pydl.tensor(x, device="cuda")._a, pydl.tensor(w, device="cuda")._a,
                        pydl.tensor(bias, device="cuda")._a, False, code)
    pre = x.astype(np.float64) @ w.astype(np.float64).T + bias
    ref = {"none": pre, "relu": np.maximum(pre, 0),
           "gelu": pre * 0.5 * (1 + np.vectorize(erf)(pre / np.sqrt(2)))}[act]
    rel_in = 2.0**-10 if config.startswith("mma") else 0.0
    tol = (rel_in + 8 * np.sqrt(k) * 2.0**-24) * (np.abs(x) @ np.abs(w).T + np.abs(bias)) * 1.2 + 1e-6
    got = out.to("cpu").numpy().astype(np.float64)
    assert (np.abs(got - ref) <= tol).all()
    # the same as the CPU GEMM's epilogue, up to the summation order
    cpu = _C.linear(pydl.tensor(x)._a, pydl.tensor(w)._a, pydl.tensor(bias)._a, False, code).numpy()
    assert (np.abs(got - cpu) <= 2 * tol).all()


# ---------------------------------------------------------------------- tensor cores
@pytest.mark.parametrize("config", MMA)
@pytest.mark.parametrize("trans", TRANSPOSES)
@pytest.mark.parametrize("m, n, k", SHAPES + [(256, 256, 256), (128, 64, 40)])
def test_tf32_every_config_and_transpose(config, trans, m, n, k, rng):
    a, a64 = operand(rng, m, k, trans[0] == "T")
    b, b64 = operand(rng, k, n, trans[1] == "T")
    with forced(config, tf32=True):
        c = a @ b
        assert _C.gemm_last_config() == config
    assert c.dtype == pydl.float32
    check(c, a64 @ b64, bound(a64, b64, k, rel_inputs=2.0**-10))


def test_tf32_off_means_full_float32(rng):
    # 1 + 2^-12 survives float32 but not TF32's 10-bit mantissa.
    a = pydl.full((16, 16), 1 + 2.0**-12, device="cuda")
    b = pydl.full((16, 16), 1.0, device="cuda")
    with forced(""):
        assert pydl.backends.cuda.matmul.allow_tf32 is False
        exact = (a @ b).cpu().numpy()
    np.testing.assert_array_equal(exact, np.full((16, 16), 16 * (1 + 2.0**-12), np.float32))
    assert _C.gemm_last_config().startswith("sgemm")


@pytest.mark.parametrize("dt", [pydl.float16, pydl.bfloat16])
@pytest.mark.parametrize("config", MMA)
@pytest.mark.parametrize("trans", TRANSPOSES)
@pytest.mark.parametrize("m, n, k", SHAPES + [(256, 256, 256), (128, 64, 40), (64, 64, 32)])
def test_half_every_config_and_transpose(dt, config, trans, m, n, k, rng):
    a, a64 = operand(rng, m, k, trans[0] == "T", dt)
    b, b64 = operand(rng, k, n, trans[1] == "T", dt)
    with forced(config):
        c = a @ b
        assert _C.gemm_last_config() == config
    assert c.dtype == dt
    ref = a64 @ b64
    rel_out = 2.0**-11 if dt == pydl.float16 else 2.0**-8
    check(c.float(), ref, bound(a64, b64, k, rel_out=rel_out, ref=ref))


@pytest.mark.parametrize("dt", [pydl.float16, pydl.bfloat16])
@pytest.mark.parametrize("act", [NONE, RELU, GELU])
def test_half_linear_epilogue_matches_cpu(dt, act, rng):
    x = pydl.tensor(rng.standard_normal((70, 96)).astype(np.float32)).to(dt)
    w = pydl.tensor(rng.standard_normal((40, 96)).astype(np.float32)).to(dt)
    bias = pydl.tensor(rng.standard_normal(40).astype(np.float32)).to(dt)
    gpu = _C.linear(x._a.to("cuda:0"), w._a.to("cuda:0"), bias._a.to("cuda:0"), False, act).to("cpu")
    cpu = _C.linear(x._a, w._a, bias._a, False, act)  # float32 GEMM of the same inputs, rounded once
    g, c = gpu.astype(pydl.float32.code).numpy(), cpu.astype(pydl.float32.code).numpy()
    ulp = 2.0**-10 if dt == pydl.float16 else 2.0**-7
    np.testing.assert_allclose(g, c, rtol=2 * ulp, atol=2 * ulp * np.sqrt(96))


def test_half_matmul_backward_on_gpu(rng):
    a = pydl.tensor(rng.standard_normal((33, 20)).astype(np.float32)).bfloat16().cuda().requires_grad_()
    b = pydl.tensor(rng.standard_normal((20, 7)).astype(np.float32)).bfloat16().cuda().requires_grad_()
    (a @ b).float().sum().backward()
    assert a.grad.dtype == pydl.bfloat16 and a.grad.device == "cuda:0"
    want = np.ones((33, 7)) @ b.detach().cpu().double().numpy().T
    np.testing.assert_allclose(a.grad.cpu().double().numpy(), want, rtol=2**-7, atol=2**-7 * np.sqrt(7))


# ---------------------------------------------------------------------- heuristic, casts, PyTorch
def test_every_config_is_tested_here():
    assert sorted(_C.gemm_configs()) == sorted(SGEMM + MMA)


def test_heuristic_picks_by_size():
    with forced(""):
        pydl.ones(2048, 2048, device="cuda") @ pydl.ones(2048, 2048, device="cuda")
        assert _C.gemm_last_config() == "sgemm_128x128"
        pydl.ones(64, 10, device="cuda") @ pydl.ones(10, 100, device="cuda")
        assert _C.gemm_last_config() == "sgemm_32x32"
        h = pydl.ones(4096, 4096, device="cuda", dtype=pydl.bfloat16)
        h @ h
        assert _C.gemm_last_config() == "mma_128x128"
        pydl.ones(64, 64, device="cuda", dtype=pydl.float16) @ pydl.ones(64, 64, device="cuda", dtype=pydl.float16)
        assert _C.gemm_last_config() == "mma_64x64"


@pytest.mark.parametrize("dt", [pydl.float16, pydl.bfloat16])
def test_half_casts_match_cpu_bit_for_bit(dt, rng):
    bits = rng.integers(0, 2**32, 50000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    x = np.concatenate([bits, np.array([np.inf, -np.inf, np.nan, 65520, 1e-8, 3.4e38], np.float32)])
    cpu = pydl.tensor(x).to(dt)
    gpu = pydl.tensor(x, device="cuda").to(dt)
    c32, g32 = cpu.float().numpy(), gpu.float().cpu().numpy()
    nan = np.isnan(c32)
    np.testing.assert_array_equal(np.isnan(g32), nan)
    np.testing.assert_array_equal(g32[~nan].view(np.uint32), c32[~nan].view(np.uint32))
    # back up from half on the GPU, strided, and fill
    np.testing.assert_array_equal(gpu.reshape(-1)[::7].float().cpu().numpy()[:100], c32[::7][:100])
    np.testing.assert_array_equal(pydl.full((3,), 0.1, dtype=dt, device="cuda").float().cpu().numpy(),
                                  pydl.full((3,), 0.1, dtype=dt).float().numpy())


@pytest.mark.parametrize("m, n, k", [(1023, 1000, 127), (64, 10, 100), (512, 784, 100)])
def test_against_torch(m, n, k, rng):
    torch = _torch_cuda()
    if torch is None:
        pytest.skip("PyTorch with CUDA is not available")
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        want = (torch.from_numpy(a).cuda() @ torch.from_numpy(b).cuda()).cpu().numpy()
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old
    got = (pydl.tensor(a, device="cuda") @ pydl.tensor(b, device="cuda")).cpu().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.sqrt(k))
    ta, tb = torch.from_numpy(a).cuda().bfloat16(), torch.from_numpy(b).cuda().bfloat16()
    want_bf = (ta @ tb).float().cpu().numpy()
    got_bf = (pydl.tensor(a, device="cuda").bfloat16() @ pydl.tensor(b, device="cuda").bfloat16()).float().cpu()
    np.testing.assert_allclose(got_bf.numpy(), want_bf, rtol=2**-7, atol=2**-7 * np.sqrt(k))
