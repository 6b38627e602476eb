"""The denormal policy (kernels/cpu/float_mode.h): pydl's kernels flush denormal floats to zero by
default, on every thread that runs them (OpenMP workers and other Python threads included), with
IEEE behaviour back after pydl.set_flush_denormal(False), and without changing the mode of the
caller's own floating-point code (numpy's, say)."""
import threading

import numpy as np
import pytest

import pydl
import pydl.nn.functional as F

TINY = {pydl.float32: np.float32(1e-40), pydl.float64: np.float64(1e-310)}  # each a denormal
LARGE_N = 1 << 20  # enough elements for the OpenMP team


@pytest.fixture
def flush_off():
    pydl.set_flush_denormal(False)
    yield
    pydl.set_flush_denormal(True)


def ops(dtype):
    """Float ops whose exact result is a denormal (or whose input is one), by kernel family."""
    tiny = TINY[dtype]
    small = tiny * 1e20  # normal, but times 1e-20 a denormal again

    def t(a):
        return pydl.tensor(np.asarray(a, dtype=dtype.numpy))

    return {
        "mul (result)": lambda: t([small, small]) * 1e-20,
        "mul (input)": lambda: t([tiny, tiny]) * 1.0,
        "add threaded": lambda: pydl.full((LARGE_N,), float(tiny), dtype=dtype) + 0.0,
        "sum": lambda: t([tiny] * 8).sum(),
        "matmul": lambda: t([[small]]) @ t([[1e-20]]),
        "matmul threaded": lambda: pydl.full((256, 256), float(tiny), dtype=dtype) @ pydl.ones(256, 256, dtype=dtype),
        "exp": lambda: t([np.log(tiny)]).exp(),
    }


@pytest.mark.parametrize("dtype", [pydl.float32, pydl.float64], ids=["float32", "float64"])
def test_flush_is_the_default(dtype):
    assert pydl.get_flush_denormal()
    for name, op in ops(dtype).items():
        got = op().numpy()
        assert (got == 0).all(), f"{name}: {got.ravel()[:4]} not flushed"


@pytest.mark.parametrize("dtype", [pydl.float32, pydl.float64], ids=["float32", "float64"])
def test_ieee_denormals_when_flushing_is_off(dtype, flush_off):
    assert pydl.set_flush_denormal(False) is True  # this processor has the switch
    assert not pydl.get_flush_denormal()
    for name, op in ops(dtype).items():
        got = op().numpy()
        assert (got != 0).all(), f"{name}: {got.ravel()[:4]} flushed"


def test_softmax_probabilities_underflow_to_zero():
    x = pydl.tensor([[0.0, -100.0]])  # exp(-100) is a float32 denormal
    assert F.softmax(x, dim=1).numpy()[0, 1] == 0.0
    pydl.set_flush_denormal(False)
    try:
        assert F.softmax(x, dim=1).numpy()[0, 1] == pytest.approx(np.exp(-100.0), rel=1e-3)
    finally:
        pydl.set_flush_denormal(True)


def test_optimizer_step_flushes():
    w = pydl.nn.Parameter(pydl.zeros(2))
    w.grad = pydl.tensor([1e-30, 1.0])
    pydl.optim.SGD([w], lr=1e-10).step()  # 0 - 1e-10 * 1e-30: a denormal
    assert w.detach().numpy().tolist() == [0.0, np.float32(-1e-10)]


def test_callers_own_float_mode_is_kept():
    a, b = np.float32(1e-30), np.float32(1e-10)
    (pydl.ones(LARGE_N) * 2.0).sum()
    assert a * b != 0  # numpy on this thread still makes denormals
    assert (np.full(4, a) * b != 0).all()


def test_every_python_thread_flushes():
    results = []

    def work():
        results.append((pydl.tensor([1e-30]) * 1e-10).numpy()[0])

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [0.0, 0.0, 0.0]


@pytest.mark.cuda
def test_cuda_float32_flushes_as_the_cpu_does():
    x = pydl.tensor([1e-30, 3e-39, 5e-20, -2e-30], dtype=pydl.float32)
    for op in (lambda t: t * 1e-10, lambda t: t * 1.0, lambda t: t.exp() * t, lambda t: t.sum(0, keepdim=True)):
        want = op(x).numpy()
        got = op(x.cuda()).cpu().numpy()
        assert got.tobytes() == want.tobytes(), f"{got} vs {want}"
