"""pydl.distributed, DistributedDataParallel and DistributedSampler.

The collectives and DDP run in worker processes under ``mpiexec -n 2`` and ``-n 3``
(tests/distributed_cases.py, one launch per world size for all cases, OMP_NUM_THREADS=1, a
timeout); the sampler, the bucket layout and the autograd hooks DDP uses run here. The NCCL
backend is checked as far as a machine without a GPU allows (loading, the unique id, clean
failures); the tests marked cuda need a GPU."""
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import pytest

import pydl
from pydl import nn
from pydl.data import DistributedSampler
from pydl.distributed import nccl_library
from pydl.distributed.run import find_mpiexec
from pydl.nn.parallel.reducer import assign_buckets

HERE = pathlib.Path(__file__).parent
sys.path.insert(0, str(HERE))
import distributed_cases  # noqa: E402

try:
    import mpi4py  # noqa: F401
    MPIEXEC = find_mpiexec()
except ImportError:
    MPIEXEC = None
needs_mpi = pytest.mark.skipif(MPIEXEC is None, reason="needs mpi4py and mpiexec: pip install \"pydl[distributed]\"")
needs_nccl = pytest.mark.skipif(nccl_library.find() is None, reason="needs NCCL: pip install \"pydl[nccl]\"")
LAUNCH = [sys.executable, "-m", "pydl.distributed.run"]
LAUNCH_TIMEOUT = 90  # seconds for one mpiexec run of every case (about 1 s here)


def _env(**extra):
    return dict(os.environ, OMP_NUM_THREADS="1", **extra)


def _run(command, timeout=60, **env):
    """Runs command outside the source tree (whose pydl/ has no _C), OMP_NUM_THREADS=1 and env added."""
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=_env(**env),
                          cwd=tempfile.gettempdir())


def _mpiexec(n, *args, timeout=LAUNCH_TIMEOUT, **env):
    started = time.monotonic()
    proc = _run([MPIEXEC, "-n", str(n), sys.executable, str(HERE / "distributed_cases.py"), *args], timeout, **env)
    return proc, time.monotonic() - started


def _python(code, timeout=60, **env):
    return _run([sys.executable, "-c", textwrap.dedent(code)], timeout, **env)


# ---------------------------------------------------------------------- every case, on 2 and 3 ranks
@pytest.fixture(scope="module", params=[2, 3], ids=["2ranks", "3ranks"])
def ranks(request, tmp_path_factory):
    if MPIEXEC is None:
        pytest.skip("needs mpi4py and mpiexec: pip install \"pydl[distributed]\"")
    out = tmp_path_factory.mktemp(f"ranks{request.param}")
    proc, _ = _mpiexec(request.param, str(out))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(request.param)]


@needs_mpi
@pytest.mark.parametrize("case", [c for c in distributed_cases.CASES if c not in ("raise_on_rank1", "late_rank")])
def test_case(ranks, case):
    outcomes = [r[case] for r in ranks]
    if all(o.startswith("skip: ") for o in outcomes):
        pytest.skip(outcomes[0][6:])
    failed = [f"rank {r}:\n{o}" for r, o in enumerate(outcomes) if o != "ok"]
    assert not failed, "\n".join(failed)


@needs_mpi
def test_an_exception_on_one_rank_ends_the_job():
    proc, seconds = _mpiexec(2, "unused", "raise_on_rank1", timeout=60)
    assert proc.returncode != 0
    assert "rank 1 fails on purpose" in proc.stderr
    assert "pydl.distributed: rank 1 raised RuntimeError; aborting the job" in proc.stderr
    assert seconds < 20, f"the job took {seconds:.1f} s to end"


@needs_mpi
def test_a_collective_times_out_naming_the_rank_that_did_not_arrive():
    proc, seconds = _mpiexec(3, "unused", "late_rank", timeout=60, PYDL_CASES_TIMEOUT="1")
    assert proc.returncode != 0
    assert "all_reduce: collective #1 timed out after 1 s on rank" in proc.stderr, proc.stderr[-3000:]
    assert "did not arrive: rank 1 (at no collective yet)" in proc.stderr
    assert seconds < 30, f"the job took {seconds:.1f} s to end"


@needs_mpi
def test_a_process_alone_is_a_world_of_one():
    proc = _python("""
        import pydl, pydl.distributed as dist
        from pydl.nn.parallel import DistributedDataParallel as DDP
        assert not dist.is_initialized()
        dist.init_process_group("mpi", init_method="env://")
        assert (dist.get_rank(), dist.get_world_size(), dist.get_local_rank()) == (0, 1, 0)
        t = pydl.tensor([1.0, 2.0])
        dist.all_reduce(t, op=dist.ReduceOp.AVG)
        assert t.tolist() == [1.0, 2.0]
        model = DDP(pydl.nn.Linear(3, 2))
        model(pydl.ones(4, 3)).sum().backward()
        assert model.module.weight.grad.tolist() == [[4.0] * 3] * 2
        dist.destroy_process_group()
        assert not dist.is_initialized()
        print("ok")
    """)
    assert proc.stdout.strip() == "ok", proc.stderr[-3000:]


def test_without_a_process_group_the_calls_say_so():
    import pydl.distributed as dist

    assert not dist.is_initialized()
    with pytest.raises(dist.DistError, match="all_reduce: the default process group has not been initialized"):
        dist.all_reduce(pydl.zeros(2))
    with pytest.raises(RuntimeError, match="get_rank"):
        dist.get_rank()
    with pytest.raises(ValueError, match="backend should be 'mpi' or 'nccl', got 'gloo'"):
        dist.init_process_group("gloo")
    with pytest.raises(RuntimeError, match="DistributedSampler: num_replicas and rank default"):
        DistributedSampler(range(4))


# ---------------------------------------------------------------------- the launcher
@needs_mpi
def test_launcher_starts_an_mpi_job(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent("""
        import sys
        import pydl, pydl.distributed as dist
        dist.init_process_group("mpi")
        t = pydl.tensor([float(dist.get_rank())])
        dist.all_reduce(t)
        print(f"rank {dist.get_rank()} of {dist.get_world_size()}: {t.item()} {sys.argv[1:]}")
        dist.destroy_process_group()
    """))
    proc = _run([*LAUNCH, "--nproc-per-node", "2", str(script), "--lr", "0.1"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    # (mpiexec forwards each rank's writes as they come: a line may arrive in pieces)
    assert sorted(re.findall(r"rank \d of 2: [\d.]+ \[.*?\]", proc.stdout)) == \
        ["rank 0 of 2: 1.0 ['--lr', '0.1']", "rank 1 of 2: 1.0 ['--lr', '0.1']"]


def test_launcher_without_mpi_sets_the_environment_and_stops_the_job_when_a_rank_fails(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent("""
        import os, sys, time
        names = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR")
        line = " ".join(os.environ[n] for n in names) + " " + str(int(os.environ["MASTER_PORT"]) > 0)
        os.write(1, line.encode() + bytes([10]))  # one write: the ranks' lines do not interleave
        if os.environ["RANK"] == "1":
            sys.exit(3)
        time.sleep(60)
    """))
    started = time.monotonic()
    proc = _run([*LAUNCH, "--backend", "nccl", "--nproc-per-node", "3", str(script)])
    assert proc.returncode == 3
    lines = sorted(line for line in proc.stdout.splitlines() if line)
    assert lines == [f"{r} 3 {r} 3 127.0.0.1 True" for r in range(3)]
    assert "a rank exited with code 3; stopping the others" in proc.stderr
    assert time.monotonic() - started < 20


@needs_mpi
def test_the_ddp_example_trains_on_two_ranks(tmp_path):
    example = HERE.parent / "examples" / "train_ddp.py"
    proc = _run([*LAUNCH, "--nproc-per-node", "2", str(example), "--epochs", "1", "--out", str(tmp_path)], 120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    accuracy = float(re.findall(r"epoch 1: validation accuracy ([\d.]+)% \(2 ranks\)", proc.stdout)[0])
    assert accuracy > 75.0 and (tmp_path / "mlp_ddp.safetensors").exists()


@needs_mpi
def test_the_mpi_backend_refuses_ranks_that_mpiexec_did_not_start(tmp_path):
    script = tmp_path / "job.py"
    script.write_text("import pydl.distributed as dist\ndist.init_process_group('mpi')\n")
    proc = _run([*LAUNCH, "--backend", "nccl", "--nproc-per-node", "2", str(script)])
    assert proc.returncode != 0
    assert "WORLD_SIZE is 2 but MPI sees 1 process(es): the mpi backend needs its ranks started by mpiexec" \
        in proc.stderr


# ---------------------------------------------------------------------- NCCL without a GPU
@needs_nccl
def test_nccl_loads_at_run_time():
    proc = _python("""
        from pydl import _C
        from pydl.distributed import nccl_library
        assert not _C.nccl_loaded()
        print(nccl_library.load() >= (2, 13, 0), len(_C.nccl_unique_id()))
    """)
    assert proc.stdout.split() == ["True", "128"], proc.stderr[-3000:]


@needs_nccl
def test_nccl_unique_id_from_master_address_is_the_same_on_every_rank():
    code = """
        from pydl.distributed.nccl import exchange_unique_id
        print(exchange_unique_id({rank}, "env").hex())
    """
    ids = [_python(code.format(rank=r), MASTER_ADDR="127.0.0.1", MASTER_PORT="29517").stdout.strip()
           for r in range(2)]
    assert len(ids[0]) == 256 and ids[0] == ids[1]


@needs_nccl
@pytest.mark.skipif(pydl.cuda.is_available(), reason="checks the failure without a GPU")
def test_nccl_fails_cleanly_without_a_gpu():
    proc = _python("""
        import pydl, pydl.distributed as dist
        from pydl import _C
        try:
            dist.init_process_group("nccl")
        except RuntimeError as e:
            print("group:", e)
        try:
            _C.NcclComm(_C.nccl_unique_id(), 1, 0, 0)
        except RuntimeError as e:
            print("comm:", e)
        print("initialized:", dist.is_initialized())
    """)
    lines = proc.stdout.splitlines()
    assert len(lines) == 3, proc.stderr[-3000:]
    assert lines[0].startswith("group: init_process_group(backend='nccl'): NCCL 2.")
    assert "CUDA is unavailable" in lines[0]
    # NCCL's own failure, or (built with CUDA) the CUDA runtime's verdict first
    assert lines[1].startswith(("comm: init_process_group(backend='nccl'): ncclCommInitRank failed: ",
                                "comm: init_process_group(backend='nccl'): CUDA is not available: no GPU"))
    assert lines[2] == "initialized: False"


def _gpu_for_nccl():
    if not pydl.cuda.is_available() or pydl.cuda.get_device_name().startswith("pydl CUDA emulation"):
        pytest.skip("needs a real GPU (the CUDA emulation has no NCCL)")
    if nccl_library.find() is None:
        pytest.skip("needs NCCL: pip install \"pydl[nccl]\"")


NCCL_JOB = """
    import numpy as np
    import pydl, pydl.distributed as dist
    from pydl import nn
    from pydl.nn.parallel import DistributedDataParallel as DDP
    dist.init_process_group("nccl")
    rank, size = dist.get_rank(), dist.get_world_size()
    dev = f"cuda:{dist.get_local_rank() % pydl.cuda.device_count()}"
    t = pydl.tensor([float(rank + 1)] * 5, device=dev)
    dist.all_reduce(t)
    assert t.cpu().tolist() == [size * (size + 1) / 2] * 5, t
    pydl.manual_seed(0)
    model = DDP(nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)).to(dev), bucket_cap_mb=1e-4)
    ref = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))
    ref.load_state_dict({k[len("module."):]: v.cpu() for k, v in model.state_dict().items()})
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4 * size, 6)).astype(np.float32)
    mine = pydl.from_numpy(x[rank * 4:(rank + 1) * 4]).to(dev)
    model(mine).pow(2).mean().backward()
    ref(pydl.from_numpy(x)).pow(2).mean().backward()
    for p, q in zip(model.module.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.cpu().numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5)
    dist.barrier()
    dist.destroy_process_group()
    print("ok", rank)
"""


@pytest.mark.cuda
def test_nccl_cuda_one_rank(tmp_path):
    _gpu_for_nccl()
    proc = _python(NCCL_JOB, RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1", MASTER_PORT="29518")
    assert proc.stdout.split() == ["ok", "0"], proc.stderr[-3000:]


@pytest.mark.cuda
def test_nccl_cuda_two_ranks_on_one_gpu(tmp_path):
    _gpu_for_nccl()
    if pydl.cuda.device_count() < 2 and nccl_library.load() < (2, 30, 0):
        pytest.skip("two ranks on one GPU need NCCL >= 2.30 (NCCL_MULTI_RANK_GPU_ENABLE)")
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent(NCCL_JOB))
    proc = _run([*LAUNCH, "--backend", "nccl", "--nproc-per-node", "2", str(script)], 120,
                NCCL_MULTI_RANK_GPU_ENABLE="1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(line for line in proc.stdout.splitlines() if line) == ["ok 0", "ok 1"]


# ---------------------------------------------------------------------- DistributedSampler
SAMPLER_SETTINGS = [(10, 3, True, 0, False), (10, 3, True, 7, True), (12, 4, False, 0, False), (5, 8, True, 1, False),
                    (5, 8, True, 1, True), (1000, 3, True, 2 ** 33 + 5, False)]


@pytest.mark.parametrize("n,replicas,shuffle,seed,drop_last", SAMPLER_SETTINGS)
def test_sampler_shards_are_disjoint_and_cover_the_dataset(n, replicas, shuffle, seed, drop_last):
    shards = [list(DistributedSampler(range(n), replicas, r, shuffle, seed, drop_last)) for r in range(replicas)]
    per_rank = n // replicas if drop_last else -(-n // replicas)
    assert all(len(s) == per_rank for s in shards)
    flat = sum(shards, [])
    if drop_last:
        assert len(set(flat)) == len(flat)  # disjoint
    else:
        assert set(flat) == set(range(n))  # covering, with the padding repeating the start


@pytest.mark.parametrize("n,replicas,shuffle,seed,drop_last", SAMPLER_SETTINGS)
def test_sampler_gives_pytorchs_indices(n, replicas, shuffle, seed, drop_last):
    torch_data = pytest.importorskip("torch.utils.data")
    for epoch in (0, 3):
        for rank in range(replicas):
            ours = DistributedSampler(list(range(n)), replicas, rank, shuffle, seed, drop_last)
            theirs = torch_data.DistributedSampler(list(range(n)), replicas, rank, shuffle, seed, drop_last)
            ours.set_epoch(epoch)
            theirs.set_epoch(epoch)
            assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_sampler_epochs_reshuffle_and_feed_a_dataloader():
    data = pydl.data.TensorDataset(pydl.arange(20.0))
    sampler = DistributedSampler(data, num_replicas=2, rank=1, seed=3)
    first = list(sampler)
    sampler.set_epoch(1)
    assert list(sampler) != first and len(sampler) == 10
    loader = pydl.data.DataLoader(data, batch_size=4, sampler=sampler)
    got = np.concatenate([b[0].numpy() for b in loader])
    assert got.tolist() == [float(i) for i in sampler]
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(data, num_replicas=2, rank=2)


# ---------------------------------------------------------------------- buckets and hooks
def test_buckets_take_parameters_in_reverse_order_with_a_small_first_bucket():
    model = nn.Sequential(nn.Linear(600, 600), nn.Linear(600, 600), nn.Linear(600, 10))
    names = {id(p): n for n, p in model.named_parameters()}
    buckets = [[names[id(p)] for p in b.params] for b in assign_buckets(list(model.parameters()), 2 << 20)]
    # 2.bias, 2.weight (24 kB) and 1.bias, 1.weight (1.44 MB) pass 1 MiB; then up to 2 MiB each.
    assert buckets == [["2.bias", "2.weight", "1.bias", "1.weight"], ["0.bias", "0.weight"]]
    mixed = [nn.Parameter(pydl.zeros(3)), nn.Parameter(pydl.zeros(3, dtype=pydl.float64)), nn.Parameter(pydl.zeros(2))]
    assert [[p.dtype.name for p in b.params] for b in assign_buckets(mixed, 1 << 20)] == \
        [["float32", "float32"], ["float64"]]


def test_post_accumulate_grad_hooks_run_when_a_leaf_gradient_is_whole():
    a = pydl.tensor([1.0, 2.0], requires_grad=True)
    b = pydl.tensor([3.0], requires_grad=True)
    seen = []
    a.register_post_accumulate_grad_hook(lambda t: seen.append(("a", t.grad.tolist(), b.grad)))
    handle = b.register_post_accumulate_grad_hook(lambda t: seen.append(("b", t.grad.tolist())))
    # b's gradient is whole after its last use (the first op of backward), a's only at the end.
    loss = ((a * 2).sum() * b).sum() + (a * a).sum()

    def at_end():
        seen.append(("end", a.grad.tolist(), b.grad.tolist()))
    b.register_hook(lambda g: pydl.autograd.function.queue_callback(at_end))
    loss.backward()
    assert seen[0] == ("b", [6.0])
    assert seen[1][:2] == ("a", [8.0, 10.0])
    assert seen[2] == ("end", [8.0, 10.0], [6.0])
    handle.remove()
    seen.clear()
    a.grad = b.grad = None
    (a.sum() * b).sum().backward()
    assert [s[0] for s in seen] == ["a", "end"]
    with pytest.raises(RuntimeError, match="queue_callback: no backward is running"):
        pydl.autograd.function.queue_callback(at_end)
