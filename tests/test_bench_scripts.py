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
