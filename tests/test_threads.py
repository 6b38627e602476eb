"""pydl under several Python threads, as PyTorch defines it: grad mode is per thread, the RNG
and the thread-count setting are shared and safe, and long ops release the GIL."""
import threading
import time

import numpy as np
import pytest

import pydl
import pydl.nn as nn


def run_threads(*targets):
    errors = []

    def guarded(fn):
        def run():
            try:
                fn()
            except BaseException as e:  # noqa: BLE001  (re-raised in the main thread)
                errors.append(e)
        return run

    threads = [threading.Thread(target=guarded(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]


def test_no_grad_in_one_thread_leaves_another_recording():
    inside, done = threading.Event(), threading.Event()

    def evaluator():
        with pydl.no_grad():
            inside.set()
            done.wait(10)
            assert not pydl.is_grad_enabled()

    t = threading.Thread(target=evaluator)
    t.start()
    try:
        assert inside.wait(10)
        x = pydl.ones(3, requires_grad=True)
        y = (x * 2).sum()
        assert pydl.is_grad_enabled() and y.requires_grad
        y.backward()
        np.testing.assert_array_equal(x.grad.numpy(), [2, 2, 2])
    finally:
        done.set()
        t.join()


def test_each_thread_starts_with_grad_mode_on():
    seen = []
    with pydl.no_grad():
        run_threads(lambda: seen.append(pydl.is_grad_enabled()))
    assert seen == [True]


def _data(seed):
    r = np.random.default_rng(seed)
    return pydl.tensor(r.standard_normal((32, 20), dtype=np.float32)), pydl.tensor(r.integers(0, 5, 32))


def _train(model, x, y, steps=15):
    opt = pydl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return [p.detach().numpy().copy() for p in model.parameters()]


def _models(n):
    pydl.manual_seed(0)
    return [nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 5)) for _ in range(n)]


def test_threads_training_separate_models_match_sequential_runs():
    data = [_data(i) for i in range(3)]
    expected = [_train(m, *d) for m, d in zip(_models(3), data)]

    models, results = _models(3), [None] * 3
    evaluator_model = _models(1)[0]
    x_eval = _data(9)[0]
    stop = threading.Event()

    def trainer(i):
        return lambda: results.__setitem__(i, _train(models[i], *data[i]))

    def evaluator():
        with pydl.no_grad():
            while not stop.is_set():
                assert not evaluator_model(x_eval).requires_grad
                time.sleep(0)

    ev = threading.Thread(target=evaluator)
    ev.start()
    try:
        run_threads(*(trainer(i) for i in range(3)))
    finally:
        stop.set()
        ev.join()
    for got, want in zip(results, expected):
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)


def test_concurrent_random_draws_take_distinct_stream_positions():
    pydl.manual_seed(123)
    sequential = np.concatenate([pydl.rand(1000).numpy() for _ in range(8)])
    pydl.manual_seed(123)
    draws = []
    run_threads(*(lambda: draws.append(pydl.rand(1000).numpy()) for _ in range(8)))
    # Each draw reserved its own block of the stream: together, the same numbers.
    np.testing.assert_array_equal(np.sort(np.concatenate(draws)), np.sort(sequential))


def test_set_num_threads_holds_in_other_threads():
    before = pydl.get_num_threads()
    try:
        pydl.set_num_threads(1)
        seen = []
        run_threads(lambda: seen.append(pydl.get_num_threads()))
        assert seen == [1]
    finally:
        pydl.set_num_threads(before)


def _count_while(fn):
    """How far a pure-Python counting thread gets while fn() runs in this thread."""
    state = {"count": 0, "stop": False}

    def count():
        while not state["stop"]:
            state["count"] += 1

    t = threading.Thread(target=count)
    t.start()
    try:
        time.sleep(0.02)
        start = state["count"]
        t0 = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - t0
        return state["count"] - start, elapsed
    finally:
        state["stop"] = True
        t.join()


def test_a_long_conv_lets_python_threads_run():
    x = pydl.randn(16, 32, 64, 64)
    w = pydl.randn(64, 32, 3, 3)
    nn.functional.conv2d(x, w, padding=1)  # warm-up
    during, conv_s = _count_while(lambda: nn.functional.conv2d(x, w, padding=1))
    idle, sleep_s = _count_while(lambda: time.sleep(conv_s))
    if conv_s < 0.02:
        pytest.skip(f"the conv took {conv_s * 1e3:.1f} ms: too short to tell")
    # Holding the GIL, the counter would stand still for the whole call (a few switch
    # intervals of 5 ms at most); released, it runs at a good part of its idle pace.
    assert during / conv_s > 0.2 * idle / sleep_s, (during, conv_s, idle, sleep_s)
