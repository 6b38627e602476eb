"""The benchmark scripts: results stored per device only when asked (--save), one speed-up
convention (reference time / pydl time), the median and the 90th percentile side by side; and
the GPU benchmarks run anywhere: without a GPU they say why and exit cleanly."""
import glob
import importlib.util
import itertools
import json
import os
import subprocess
import sys
import time

import pytest

import pydl

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
RESULTS = os.path.join(BENCH, "results")
HAVE_TORCH = importlib.util.find_spec("torch") is not None


def load_common():
    spec = importlib.util.spec_from_file_location("bench_common", os.path.join(BENCH, "_common.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


common = load_common()


def tree(root):
    """{path: mtime} of every file under root."""
    return {p: os.stat(p).st_mtime_ns for p in glob.glob(os.path.join(root, "**"), recursive=True)
            if os.path.isfile(p)}


def run_bench(script, args, results_dir, timeout=180):
    env = {**os.environ, "PYDL_BENCH_RESULTS": str(results_dir)}
    run = subprocess.run([sys.executable, os.path.join(BENCH, script), *args], capture_output=True, text=True,
                         timeout=timeout, env=env)
    assert run.returncode == 0, run.stderr
    return run


@pytest.mark.parametrize("name, slug", [
    ("Intel(R) Xeon(R) Processor", "intel-xeon-processor"),
    ("AMD EPYC", "amd-epyc"),
    ("Intel(R) Core(TM) i7-9700K CPU @ 3.60GHz", "intel-core-i7-9700k-cpu-3-60ghz"),
    ("NVIDIA H100 80GB HBM3", "nvidia-h100-80gb-hbm3"),
])
def test_slug(name, slug):
    assert common.slug(name) == slug


@pytest.mark.parametrize("name, family, model, slug", [
    ("AMD EPYC", "25", "17", "amd-epyc-f25m17"),
    ("Intel(R) Xeon(R) Processor", "6", "167", "intel-xeon-processor-f6m167"),
    ("AMD EPYC 9654 96-Core Processor", "25", "17", "amd-epyc-9654-96-core-processor"),
    ("AMD EPYC", None, None, "amd-epyc"),
])
def test_cpu_slug_tells_apart_processors_that_share_a_name(name, family, model, slug):
    assert common.cpu_slug(name, family, model) == slug


def test_results_path_is_per_device(monkeypatch, tmp_path):
    monkeypatch.delenv("PYDL_BENCH_RESULTS", raising=False)
    assert common.results_path("matmul") == os.path.join(RESULTS, common.device_slug(), "matmul.json")
    monkeypatch.setenv("PYDL_BENCH_RESULTS", str(tmp_path))
    assert common.results_path("matmul") == os.path.join(str(tmp_path), common.device_slug(), "matmul.json")


def test_bench_returns_the_median_and_the_90th_percentile():
    # One call per sample (min_block_ns=1) and every 5th call slow: of 10 samples, 8 of 1 ms and 2 of 30 ms.
    calls = itertools.count()

    def fn():
        time.sleep(0.03 if next(calls) % 5 == 4 else 0.001)

    t = common.bench({"pydl": fn}, repeat=10, rounds=1, warmup=0, settle_s=0, min_block_ns=1)
    assert t["pydl"].median < 15e6 and t["pydl"].p90 > 25e6, t


def test_cpu_benchmark_without_save_writes_nothing(tmp_path):
    before = tree(RESULTS)
    run = run_bench("cpu_kernels.py", ["--only", "linear", "--repeat", "1"], tmp_path / "results")
    assert "pass --save" in run.stdout
    assert not (tmp_path / "results").exists()
    assert tree(RESULTS) == before
    if not HAVE_TORCH:
        assert "pip install '.[compare]'" in run.stdout


@pytest.mark.parametrize("script, args, name", [
    ("cpu_kernels.py", ["--only", "linear", "--repeat", "3"], "linear"),
    ("train_step.py", ["--batch-sizes", "8", "--repeat", "3"], "train_step"),
])
def test_cpu_benchmark_with_save_writes_its_device_folder(tmp_path, script, args, name):
    before = tree(RESULTS)
    run_bench(script, [*args, "--save"], tmp_path)
    slug = common.device_slug()
    assert list(tree(tmp_path)) == [str(tmp_path / slug / f"{name}.json")]
    assert tree(RESULTS) == before
    doc = json.loads((tmp_path / slug / f"{name}.json").read_text())
    assert doc["benchmark"] == name and doc["speedup"] == common.SPEEDUP_MEANING and "ratio" not in doc
    machine = doc["machine"]
    assert machine["slug"] == slug and machine["cpu"] and machine["cpu_isa"] == pydl._C.cpu_isa()
    assert machine["pydl_threads"] == pydl.get_num_threads()
    assert doc["rows"]
    for row in doc["rows"]:
        assert "ratio" not in row
        assert 0 < row["median_us"] <= row["p90_us"]
        if HAVE_TORCH:
            assert row["reference"] == "torch" and 0 < row["reference_median_us"] <= row["reference_p90_us"]
            assert row["speedup"] == pytest.approx(row["reference_median_us"] / row["median_us"], rel=0.02, abs=0.01)


def test_tracked_results_are_per_device_and_speak_of_speedups():
    assert not glob.glob(os.path.join(RESULTS, "*.json")), "results belong in bench/results/<device>/"
    files = glob.glob(os.path.join(RESULTS, "*", "*.json"))
    assert files
    for path in files:
        with open(path) as fh:
            doc = json.load(fh)
        machine = doc["machine"]
        assert machine["slug"] == os.path.basename(os.path.dirname(path)), path
        assert machine["cpu"] and machine["cpu_isa"] and machine["pydl_threads"], path
        assert doc["benchmark"] == os.path.basename(path)[:-len(".json")], path
        assert doc["speedup"] == common.SPEEDUP_MEANING and "ratio" not in doc, path
        for row in doc["rows"]:
            assert not any(k.startswith("ratio") for k in row), (path, row)
            for prefix, key in (("reference_", "speedup"), ("torch_", "speedup_vs_torch")):
                if row.get(prefix + "median_us"):
                    # the medians are stored rounded (to 0.1 us): 1% apart on a few-microsecond product
                    want = row[prefix + "median_us"] / row["median_us"]
                    assert row[key] == pytest.approx(want, rel=0.02, abs=0.01), (path, row)


@pytest.mark.skipif(pydl.cuda.is_available(), reason="with a GPU these scripts measure (minutes)")
@pytest.mark.parametrize("script, args", [("gpu_gemm.py", []), ("gpu_kernels.py", []), ("gpu_conv.py", []),
                                          ("train_step.py", ["--device", "cuda"])])
def test_gpu_benchmark_without_gpu_exits_cleanly(tmp_path, script, args):
    run = run_bench(script, [*args, "--save"], tmp_path, timeout=120)
    assert "CUDA" in run.stdout and ("nothing to measure" in run.stdout or "needs a CUDA GPU" in run.stdout)
    assert not tree(tmp_path)


def test_gpu_check_script_parses_and_plans_every_step():
    script = os.path.join(BENCH, "gpu_check.sh")
    assert subprocess.run(["bash", "-n", script], capture_output=True, timeout=30).returncode == 0
    plan = subprocess.run(["bash", script], env={**os.environ, "DRY_RUN": "1"}, capture_output=True, text=True,
                          timeout=30)
    assert plan.returncode == 0, plan.stderr
    for step in ("build", "tests-cuda", "memcheck", "racecheck", "bench-gemm", "bench-kernels", "bench-conv",
                 "bench-train"):
        assert f"  {step} " in plan.stdout, step
    # its results are committed afterwards: every benchmark step stores them
    for line in plan.stdout.splitlines():
        if line.startswith("  bench-"):
            assert " --save" in line, line
    bad = subprocess.run(["bash", script], env={**os.environ, "STEPS": "no-such-step"}, capture_output=True,
                         text=True, timeout=30)
    assert bad.returncode == 2


@pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None, reason="needs pip install '.[distributed]'")
def test_ddp_benchmark_measures_scaling_and_bandwidth(tmp_path):
    run_bench("ddp.py", ["--batch", "16", "--steps", "1", "--rounds", "1", "--save"], tmp_path)
    doc = json.loads((tmp_path / common.device_slug() / "ddp.json").read_text())
    assert doc["benchmark"] == "ddp" and doc["mpi"]
    scaling = [r for r in doc["rows"] if "model" in r]
    bandwidth = [r for r in doc["rows"] if "bytes" in r]
    assert [r["model"] for r in scaling] == ["mlp 784-100-10", "lenet5"]
    for r in scaling:
        assert r["ranks"] == 2 and r["global_batch"] == 16
        assert r["efficiency"] == pytest.approx(r["one_rank_ms"] / (2 * r["ranks_ms"]), rel=0.01)
    assert [r["bytes"] for r in bandwidth] == [4096 << 2 * k for k in range(8)]
    for r in bandwidth:
        assert r["speedup"] == pytest.approx(r["mpi4py_us"] / r["pydl_us"], rel=0.01)
        assert r["pydl_bus_gbs"] == pytest.approx(r["bytes"] / r["pydl_us"] / 1e3, rel=0.01)  # 2 ranks: factor 1
