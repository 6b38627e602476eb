"""bench/gpu_check.sh, the one-shot GPU check, rehearsed without a GPU: its plan fits its budget,
and whatever happens (a step passes, outlives its budget, or the script is told to stop) $OUT
holds a summary line per step and one archive with the logs, small and flat enough to come back
from the GPU machine."""
import os
import pathlib
import re
import signal
import subprocess
import sys
import tarfile
import textwrap
import time

import pytest

import pydl

REPO = pathlib.Path(__file__).parents[1]
SCRIPT = REPO / "bench" / "gpu_check.sh"
NAME = re.compile(r"[A-Za-z0-9._-]+")
STATUSES = {"PASS", "FAIL", "SKIP", "TIMEOUT"}
KNOBS = ("STEPS", "OUT", "DRY_RUN", "NO_GPU_OK", "EMULATE", "SKIP_BUILD", "TOTAL_BUDGET", "MIN_STEP_S",
         "KILL_GRACE", "PACK_EVERY", "XDIST_WORKERS", "MAXFAIL", "SANITIZER", "PYTEST_ADDOPTS")


def env_for(**knobs):
    env = {k: v for k, v in os.environ.items()
           if k not in KNOBS and not k.startswith("BUDGET_") and not k.endswith(("_TEST_K", "_TEST_PATHS"))}
    env.update(PYTHON=sys.executable, **{k: str(v) for k, v in knobs.items()})
    return env


def run_check(tmp_path, timeout=60, **knobs):
    out = tmp_path / "out"
    run = subprocess.run(["bash", str(SCRIPT)], env=env_for(OUT=out, **knobs), capture_output=True, text=True,
                         timeout=timeout, cwd=tmp_path)
    return run, out


def steps(out):
    """{step: (STATUS, line)} from summary.txt; '#' lines are its header and result."""
    lines = [line for line in (out / "summary.txt").read_text().splitlines() if line and not line.startswith("#")]
    return {line.split()[1]: (line.split()[0], line) for line in lines}


def archive(out):
    """{path inside the archive: text} after checking that $OUT can come back from the GPU machine."""
    files = [p for p in out.rglob("*") if p.is_file()]
    assert sorted(p.name for p in files) == ["gpu_check.tgz", "summary.txt"], files
    for p in files:
        parts = p.relative_to(out).parts
        assert len(parts) <= 3 and all(NAME.fullmatch(part) for part in parts), p
        assert p.stat().st_size <= 16 << 20
    with tarfile.open(out / "gpu_check.tgz") as tar:
        return {m.name: tar.extractfile(m).read().decode(errors="replace") for m in tar.getmembers() if m.isfile()}


def sleepy_tests(tmp_path):
    """A passing test, then one that sleeps (writing its pid first): a step that outlives its budget."""
    path = tmp_path / "sleepy" / "test_sleepy.py"
    path.parent.mkdir()
    path.write_text(textwrap.dedent("""\
        import os
        import time

        def test_quick():
            pass

        def test_sleeps():
            with open(os.path.join(os.path.dirname(__file__), "sleeper.pid"), "w") as fh:
                fh.write(str(os.getpid()))
            time.sleep(60)
        """))
    return path


def test_dry_run_plans_the_default_steps_within_the_total_budget():
    assert subprocess.run(["bash", "-n", str(SCRIPT)], timeout=30).returncode == 0
    plan = subprocess.run(["bash", str(SCRIPT)], env=env_for(DRY_RUN=1), capture_output=True, text=True,
                          timeout=30)
    assert plan.returncode == 0, plan.stderr
    rows = dict(re.findall(r"^  (\S+) +(\d+)s  ", plan.stdout, re.M))
    total = int(rows.pop("total"))
    assert list(rows) == ["preflight", "build", "tests-cuda", "memcheck", "racecheck", "initcheck",
                          "bench-gemm", "bench-kernels", "bench-conv", "bench-train"]
    assert total == sum(map(int, rows.values()))
    assert total <= int(re.search(r"of TOTAL_BUDGET=(\d+)s", plan.stdout).group(1)) <= 540
    assert "-lineinfo" in plan.stdout and "--maxfail=" in plan.stdout

    other = subprocess.run(["bash", str(SCRIPT)], env=env_for(DRY_RUN=1, STEPS="tests-other", BUDGET_TESTS_OTHER=7),
                           capture_output=True, text=True, timeout=30)
    assert re.search(r"^  tests-other +7s  ", other.stdout, re.M), other.stdout
    for bad in ({"STEPS": "no-such-step"}, {"TOTAL_BUDGET": "lots"}):
        assert subprocess.run(["bash", str(SCRIPT)], env=env_for(DRY_RUN=1, **bad), capture_output=True,
                              timeout=30).returncode == 2


def test_rehearsal_leaves_one_summary_and_one_archive(tmp_path):
    run, out = run_check(tmp_path, NO_GPU_OK=1, SKIP_BUILD=1, STEPS="preflight tests-other",
                         OTHER_TEST_PATHS="tests/test_runtime.py", OTHER_TEST_K="device_objects or numpy_round_trip",
                         OTHER_TEST_ARGS="")
    assert run.returncode == 0, run.stdout + run.stderr
    assert {s: status for s, (status, _) in steps(out).items()} == {"preflight": "PASS", "tests-other": "PASS"}
    assert "6 passed, 0 failed" in steps(out)["tests-other"][1]
    files = archive(out)
    for name in ("summary.txt", "env.txt", "nvidia-smi.txt", "logs/preflight.log", "logs/tests-other.log",
                 "junit/tests-other.xml"):
        assert f"gpu_check/{name}" in files, sorted(files)
    assert "python" in files["gpu_check/env.txt"] and "pytest" in files["gpu_check/env.txt"]
    log = files["gpu_check/logs/tests-other.log"]
    assert "test_device_objects PASSED" in log  # -v, streamed into the step's log


def test_step_past_its_budget_is_recorded_timeout_and_still_packed(tmp_path):
    run, out = run_check(tmp_path, NO_GPU_OK=1, SKIP_BUILD=1, STEPS="tests-other", MIN_STEP_S=1, KILL_GRACE=1,
                         BUDGET_TESTS_OTHER=3, OTHER_TEST_PATHS=sleepy_tests(tmp_path), OTHER_TEST_ARGS="")
    assert run.returncode == 1
    status, line = steps(out)["tests-other"]
    assert status == "TIMEOUT" and "1 passed" in line and "unfinished: test_sleeps" in line, line
    assert all(status in STATUSES for status, _ in steps(out).values())
    assert "test_quick PASSED" in archive(out)["gpu_check/logs/tests-other.log"]


def test_sigterm_mid_step_leaves_summary_and_archive(tmp_path):
    tests = sleepy_tests(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.Popen(["bash", str(SCRIPT)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
                            env=env_for(OUT=out, NO_GPU_OK=1, SKIP_BUILD=1, STEPS="tests-other", KILL_GRACE=1,
                                        OTHER_TEST_PATHS=tests, OTHER_TEST_ARGS=""))
    pid_file = tests.parent / "sleeper.pid"
    try:
        deadline = time.monotonic() + 30
        while not pid_file.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pid_file.exists(), "the sleeping test never started"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
    status, line = steps(out)["tests-other"]
    assert status == "TIMEOUT" and "SIGTERM" in line and "1 passed" in line, line
    assert "test_quick PASSED" in archive(out)["gpu_check/logs/tests-other.log"]
    sleeper = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the step's pytest went with the script
        try:
            os.kill(sleeper, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the killed step's pytest outlived the script")


needs_cuda = pytest.mark.skipif(not pydl.cuda.is_available(),
                                reason="needs pydl's CUDA backend (a GPU, or a PYDL_CUDA=EMULATE build)")


@needs_cuda
def test_rehearsal_runs_cuda_tests_on_emulation(tmp_path):
    run, out = run_check(tmp_path, EMULATE=1, SKIP_BUILD=1, STEPS="tests-cuda sanitizer bench",
                         CUDA_TEST_PATHS="tests/test_cuda_runtime.py",
                         CUDA_TEST_K="host_device_round_trip and (float32 or int64)")
    assert run.returncode == 0, run.stdout + run.stderr
    found = steps(out)
    assert found["tests-cuda"][0] == "PASS" and "2 passed, 0 failed" in found["tests-cuda"][1]
    for step in ("memcheck", "racecheck", "initcheck", "bench-gemm", "bench-kernels", "bench-conv", "bench-train"):
        assert found[step][0] == "SKIP" and "no GPU" in found[step][1], found[step]
    assert "PASSED" in archive(out)["gpu_check/logs/tests-cuda.log"]


@needs_cuda
@pytest.mark.parametrize("mode, status", [("refuse", "SKIP"), ("errors", "FAIL")])
def test_sanitizer_steps_with_stand_in_tools_on_cuda(tmp_path, mode, status):
    """A stand-in nvidia-smi and compute-sanitizer over the CUDA backend: a device the sanitizer
    refuses is a SKIP (exit 0), an error it reports a FAIL that names it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text(textwrap.dedent("""\
        #!/bin/sh
        case "$*" in
          -L) echo "GPU 0: Stand-in GPU (UUID: GPU-0)" ;;
          *compute_cap,name*) echo "9.0, Stand-in GPU" ;;
          *--query-gpu*) echo "Stand-in GPU, 9.0, 580.00, 81559 MiB, 1980 MHz, 700.00 W" ;;
          *) echo "stand-in nvidia-smi" ;;
        esac
        """))
    (bin_dir / "compute-sanitizer").write_text(textwrap.dedent(f"""\
        #!/bin/sh
        while [ $# -gt 0 ]; do
          case "$1" in --tool|--error-exitcode) shift 2 ;; --version) echo "Version 0.0"; exit 0 ;; *) break ;; esac
        done
        if [ {mode} = refuse ]; then echo "========= Error: Device not supported"; exit 1; fi
        "$@"
        echo "========= Invalid __global__ read of size 4 bytes"
        exit 86
        """))
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    run, out = run_check(tmp_path, SKIP_BUILD=1, STEPS="memcheck", PATH=f"{bin_dir}:{os.environ['PATH']}",
                         MEMCHECK_PATHS="tests/test_cuda_runtime.py", MEMCHECK_K="host_device_round_trip and float32")
    found = steps(out)
    assert found["preflight"][0] == "PASS" and "Stand-in GPU sm_90" in found["preflight"][1]
    assert found["memcheck"][0] == status, found["memcheck"]
    if mode == "refuse":
        assert run.returncode == 0 and "Device not supported" in found["memcheck"][1]
    else:
        assert run.returncode == 1 and "Invalid __global__ read" in found["memcheck"][1]
        assert "1 passed" in found["memcheck"][1]
    archive(out)
