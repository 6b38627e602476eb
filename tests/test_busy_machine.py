"""The CPU kernels' back-off on a busy machine (kernels/cpu/team.h): after OpenMP workers arrive late
at parallel regions twice within 200 ms (another process held their core), regions run on the calling
thread alone for a while, then the team is tried again. Late arrivals are reported here as a region
would."""
import time

import numpy as np
import pytest

import pydl
from pydl import _C


@pytest.fixture(autouse=True)
def fresh_team():
    before = pydl.get_num_threads()
    pydl.set_num_threads(2)
    _C.cpu_team_clear()
    yield
    _C.cpu_team_clear()
    pydl.set_num_threads(before)


def test_late_arrivals_run_regions_alone_for_a_while():
    assert _C.cpu_team_stats()["team"] == 2
    _C.cpu_team_report_late()  # once is a hiccup (a virtual CPU's host took the core for a moment)
    stats = _C.cpu_team_stats()
    assert not stats["backed_off"] and stats["team"] == 2 and stats["late_regions"] == 1
    _C.cpu_team_report_late()  # again within 200 ms: another process holds a core
    stats = _C.cpu_team_stats()
    assert stats["backed_off"] and stats["team"] == 1 and stats["late_regions"] == 2
    assert pydl.get_num_threads() == 2  # the setting itself is the user's, unchanged
    time.sleep(stats["backoff_s"] + 0.02)  # the coarse clock ticks every few ms
    stats = _C.cpu_team_stats()
    assert not stats["backed_off"] and stats["team"] == 2


def test_a_hiccup_alone_never_backs_off():
    _C.cpu_team_report_late()
    time.sleep(0.25)
    _C.cpu_team_report_late()
    stats = _C.cpu_team_stats()
    assert not stats["backed_off"] and stats["late_regions"] == 2


def test_late_again_right_after_a_back_off_waits_twice_as_long_up_to_a_limit():
    _C.cpu_team_report_late()
    _C.cpu_team_report_late()
    first = _C.cpu_team_stats()["backoff_s"]
    _C.cpu_team_report_late()  # still (or again) late: the other process is still there
    assert _C.cpu_team_stats()["backoff_s"] == pytest.approx(2 * first)
    for _ in range(10):
        _C.cpu_team_report_late()
    longest = _C.cpu_team_stats()["backoff_s"]
    assert 2 * first < longest <= 1.6 + 1e-9
    _C.cpu_team_clear()
    assert _C.cpu_team_stats() == {"late_regions": 0, "backoff_s": first, "backed_off": False, "team": 2}


def test_a_team_woken_from_idle_is_not_judged(rng):
    """Workers asleep after an idle spell may wake slowly (a virtual CPU halted while idle): only a
    region opened while the team still spins from the last one counts a late arrival, so pauses
    between steps (loading data, evaluating) never send the next steps to one thread."""
    a = pydl.tensor(rng.standard_normal((300, 400), dtype=np.float32))
    b = pydl.tensor(rng.standard_normal((400, 500), dtype=np.float32))
    for _ in range(5):
        time.sleep(0.03)
        a @ b  # the first region after the pause: however late its worker, not judged
    assert _C.cpu_team_stats()["late_regions"] == 0


def test_results_do_not_depend_on_the_back_off(rng):
    """Products, reductions and a conv's weight gradient (one partial sum per slice of the batch, sliced
    by the team size set, not by the team of the moment) give the same bits alone as with the team."""
    a = pydl.tensor(rng.standard_normal((300, 400), dtype=np.float32))
    b = pydl.tensor(rng.standard_normal((400, 500), dtype=np.float32))
    x = pydl.tensor(rng.standard_normal((64, 1, 12, 12), dtype=np.float32))

    def run():
        pydl.manual_seed(0)
        model = pydl.nn.Sequential(pydl.nn.Conv2d(1, 4, 3), pydl.nn.ReLU(), pydl.nn.Flatten(),
                                   pydl.nn.Linear(400, 10))
        loss = model(x).square().mean()
        loss.backward()
        return [(a @ b).numpy(), a.sum(0).numpy(), loss.item(), model[0].weight.grad.numpy()]

    with_team = run()
    _C.cpu_team_report_late()
    _C.cpu_team_report_late()
    assert _C.cpu_team_stats()["team"] == 1
    alone = run()
    for got, want in zip(alone, with_team):
        np.testing.assert_array_equal(got, want)
