"""Runtime behaviour: CUDA availability errors, CPU threads and fork safety, numpy
interop, and the error messages of common mistakes."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import pydl

no_gpu = pytest.mark.skipif(pydl.cuda.is_available(), reason="a GPU is available here")


# ---------------------------------------------------------------------- CUDA
@no_gpu
def test_cuda_unavailable():
    assert pydl.cuda.is_available() is False
    assert pydl.cuda.device_count() == 0 or not pydl.cuda.is_built()
    reason = pydl.cuda.unavailable_reason()
    assert isinstance(reason, str) and reason


def _says_why(message):
    m = message.lower()
    return "cuda" in m and ("not available" in m or "without cuda" in m or "no usable" in m)


@no_gpu
@pytest.mark.parametrize("move", [
    lambda: pydl.ones(2, 3).to("cuda"),
    lambda: pydl.ones(2).to(pydl.device("cuda")),
    lambda: pydl.ones(2).to("cuda", pydl.float64),
    lambda: pydl.ones(2).cuda(),
], ids=["to_str", "to_device", "to_dtype", "cuda_method"])
def test_to_cuda_raises_with_reason(move):
    with pytest.raises(RuntimeError) as e:
        move()
    assert _says_why(str(e.value)), str(e.value)


@no_gpu
@pytest.mark.parametrize("make", [
    lambda: pydl.zeros(2, 3, device="cuda"),
    lambda: pydl.ones(2, device="cuda:0"),
    lambda: pydl.randn(2, device="cuda"),
    lambda: pydl.tensor([1.0, 2.0], device="cuda"),
    lambda: pydl.arange(3, device=pydl.device("cuda", 0)),
], ids=["zeros", "ones", "randn", "tensor", "arange"])
def test_create_on_cuda_raises_with_reason(make):
    with pytest.raises(RuntimeError) as e:
        make()
    assert _says_why(str(e.value)), str(e.value)


def test_device_objects():
    d = pydl.device("cuda:1")
    assert d.type == "cuda" and d.index == 1 and str(d) == "cuda:1"
    assert pydl.device("cpu") == "cpu" and pydl.zeros(1).device == "cpu"
    assert pydl.zeros(1, device=pydl.device("cpu")).device == pydl.device("cpu")
    with pytest.raises(ValueError):
        pydl.device("tpu")
    x = pydl.ones(2)
    assert x.to("cpu") is x and x.cpu() is x and x.to(pydl.device("cpu")) is x


# ---------------------------------------------------------------------- threads
def test_num_threads_roundtrip():
    before = pydl.get_num_threads()
    assert isinstance(before, int) and before >= 1
    try:
        pydl.set_num_threads(3)
        assert pydl.get_num_threads() == 3
        pydl.set_num_threads(1)
        assert pydl.get_num_threads() == 1
        a = pydl.ones(64, 64)
        np.testing.assert_allclose((a @ a).numpy(), np.full((64, 64), 64.0))
    finally:
        pydl.set_num_threads(before)
    assert pydl.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -1])
def test_set_num_threads_rejects_non_positive(bad):
    before = pydl.get_num_threads()
    with pytest.raises(ValueError, match="set_num_threads"):
        pydl.set_num_threads(bad)
    assert pydl.get_num_threads() == before


def test_matmul_same_result_for_any_thread_count():
    before = pydl.get_num_threads()
    r = np.random.default_rng(0)
    a, b = r.standard_normal((200, 150)), r.standard_normal((150, 170))
    results = []
    try:
        for n in (1, 2, 4):
            pydl.set_num_threads(n)
            results.append((pydl.tensor(a, dtype=pydl.float64) @ pydl.tensor(b, dtype=pydl.float64)).numpy())
    finally:
        pydl.set_num_threads(before)
    for res in results:
        np.testing.assert_allclose(res, a @ b, rtol=1e-10, atol=1e-10)


FORK_SCRIPT = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    import pydl

    pydl.set_num_threads(4)
    n = 384
    a = pydl.ones(n, n)
    for _ in range(3):  # warm up libgomp's thread pool in the parent
        c = a @ a
    assert float(c[0, 0]) == n

    pid = os.fork()
    if pid == 0:
        try:
            c = a @ a  # would deadlock on the parent's (absent) OpenMP pool
            d = pydl.randn(n, n) @ pydl.ones(n, 1)
            ok = float(c[n - 1, n - 1]) == n and tuple(d.shape) == (n, 1)
            os._exit(0 if ok else 3)
        except BaseException:
            os._exit(4)

    deadline = time.monotonic() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            print("child hung after fork", flush=True)
            sys.exit(2)
        time.sleep(0.02)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print(f"child exited with {code}", flush=True)
        sys.exit(1)
    c = a @ a  # and the parent still works, with its threads
    assert float(c[1, 2]) == n and pydl.get_num_threads() == 4
    print("fork ok", flush=True)
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_after_parallel_matmul(tmp_path):
    try:  # cwd outside the source tree, so the child imports the installed pydl
        r = subprocess.run([sys.executable, "-c", FORK_SCRIPT], capture_output=True, text=True, timeout=90,
                           cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail("the forking process hung")
    assert r.returncode == 0, f"rc={r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    assert "fork ok" in r.stdout


# ---------------------------------------------------------------------- numpy interop
DTYPES = [(np.float32, pydl.float32), (np.float64, pydl.float64), (np.int64, pydl.int64),
          (np.uint8, pydl.uint8), (np.bool_, pydl.bool)]


def _sample(np_dtype):
    a = np.arange(-3, 9).reshape(3, 4)
    if np_dtype is np.bool_:
        return (a % 3 == 0)
    if np_dtype is np.uint8:
        return (a * 20 + 60).astype(np.uint8)
    if np.issubdtype(np_dtype, np.floating):
        return (a * 0.75).astype(np_dtype)
    return (a * 123456789012).astype(np_dtype)


@pytest.mark.parametrize("np_dtype,dt", DTYPES, ids=[d.name for _, d in DTYPES])
def test_numpy_round_trip(np_dtype, dt):
    a = _sample(np_dtype)
    t = pydl.tensor(a)
    assert t.dtype == dt and tuple(t.shape) == a.shape
    back = t.numpy()
    assert back.dtype == a.dtype
    np.testing.assert_array_equal(back, a)
    np.testing.assert_array_equal(np.asarray(t), a)
    assert t.tolist() == a.tolist()
    # tensor() copies ...
    a_copy = a.copy()
    a[0, 0] = a[1, 1]
    np.testing.assert_array_equal(t.numpy(), a_copy)
    # ... from_numpy shares memory both ways
    s = pydl.from_numpy(a)
    assert s.dtype == dt
    a[2, 3] = a[0, 1]
    assert s.numpy()[2, 3] == a[0, 1]
    view = s.numpy()
    view[0, 2] = a[1, 0]
    assert a[0, 2] == a[1, 0]
    # dtype= converts
    np.testing.assert_array_equal(pydl.tensor(a, dtype=pydl.float64).numpy(), a.astype(np.float64))


@pytest.mark.parametrize("np_dtype", [np.complex64, np.complex128])
def test_complex_numpy_rejected(np_dtype):
    a = np.zeros(3, dtype=np_dtype)
    with pytest.raises(TypeError):
        pydl.tensor(a)
    with pytest.raises(TypeError):
        pydl.from_numpy(a)


def test_other_numpy_dtypes():
    # tensor() widens, from_numpy (which shares memory) refuses; int32 and float16 are dtypes of their own
    assert pydl.tensor(np.arange(3, dtype=np.int16)).dtype == pydl.int64
    assert pydl.tensor(np.arange(3, dtype=np.int32)).dtype == pydl.int32
    assert pydl.tensor(np.ones(2, dtype=np.float16)).dtype == pydl.float16
    with pytest.raises(TypeError):
        pydl.from_numpy(np.arange(3, dtype=np.int16))
    with pytest.raises(TypeError):
        pydl.from_numpy([1.0, 2.0])
    with pytest.raises(TypeError):
        pydl.tensor(np.array(["a", "b"]))


def test_from_numpy_non_contiguous_and_0d():
    a = np.arange(12, dtype=np.float64).reshape(3, 4)[:, ::2]
    np.testing.assert_array_equal(pydl.from_numpy(a).numpy(), a)
    np.testing.assert_array_equal(pydl.tensor(a.T).numpy(), a.T)
    z = pydl.tensor(np.float64(2.5))
    assert tuple(z.shape) == () and z.item() == 2.5
    assert tuple(pydl.from_numpy(np.array(7)).shape) == ()


def test_numpy_of_grad_tensor_refused():
    x = pydl.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    with pytest.raises(RuntimeError):
        (x * 2).numpy()
    np.testing.assert_array_equal(x.detach().numpy(), np.ones(3, dtype=np.float32))
    with pydl.no_grad():
        assert (x * 2).numpy().tolist() == [2.0, 2.0, 2.0]


# ---------------------------------------------------------------------- error messages
def test_matmul_shape_mismatch_message():
    with pytest.raises(ValueError, match="matmul") as e:
        pydl.zeros(2, 3) @ pydl.zeros(4, 5)
    assert "3" in str(e.value) and "4" in str(e.value)
    with pytest.raises(ValueError, match="matmul"):
        pydl.matmul(pydl.zeros(3), pydl.zeros(4))


def test_item_on_multi_element_tensor():
    with pytest.raises(ValueError, match="item"):
        pydl.zeros(2, 3).item()
    with pytest.raises(ValueError):
        pydl.zeros(0).item()
    assert pydl.tensor([[4.5]]).item() == 4.5
    assert isinstance(pydl.tensor([3]).item(), int)
    assert pydl.tensor(True).item() is True


def test_other_common_mistakes():
    with pytest.raises(ValueError):
        pydl.ones(2, 3) + pydl.ones(4)  # shapes do not broadcast
    with pytest.raises(RuntimeError):
        bool(pydl.ones(2))
    with pytest.raises(IndexError):
        pydl.ones(2, 3)[0, 0, 0]
    with pytest.raises(IndexError):
        pydl.ones(3)[pydl.tensor([5])]
