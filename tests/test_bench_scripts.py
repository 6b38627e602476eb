"""The GPU benchmarks run anywhere: without a GPU they say why and exit cleanly."""
import os
import subprocess
import sys

import pytest

import pydl

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")


@pytest.mark.skipif(pydl.cuda.is_available(), reason="with a GPU these scripts measure (minutes)")
@pytest.mark.parametrize("script, args", [("gpu_gemm.py", []), ("gpu_kernels.py", []), ("gpu_conv.py", []),
                                          ("train_step.py", ["--device", "cuda"])])
def test_gpu_benchmark_without_gpu_exits_cleanly(script, args):
    run = subprocess.run([sys.executable, os.path.join(BENCH, script), *args], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert "CUDA" in run.stdout and ("nothing to measure" in run.stdout or "needs a CUDA GPU" in run.stdout)


def test_gpu_check_script_parses_and_plans_every_step():
    script = os.path.join(BENCH, "gpu_check.sh")
    assert subprocess.run(["bash", "-n", script], capture_output=True, timeout=30).returncode == 0
    plan = subprocess.run(["bash", script], env={**os.environ, "DRY_RUN": "1"}, capture_output=True, text=True,
                          timeout=30)
    assert plan.returncode == 0, plan.stderr
    for step in ("build", "tests-cuda", "memcheck", "racecheck", "bench-gemm", "bench-kernels", "bench-conv",
                 "bench-train"):
        assert f"  {step} " in plan.stdout, step
    bad = subprocess.run(["bash", script], env={**os.environ, "STEPS": "no-such-step"}, capture_output=True,
                         text=True, timeout=30)
    assert bad.returncode == 2
