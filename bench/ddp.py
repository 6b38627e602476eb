"""Data-parallel training on the MPI backend: how a training step scales from 1 rank to N, and
what pydl's all_reduce costs against a plain mpi4py Allreduce of the same bytes.

    pip install ".[distributed]"
    python bench/ddp.py [--ranks 2] [--batch 512] [--rounds 3] [--save]

Scaling: the MLP 784-100-10 and LeNet-5 step (forward, loss, backward, SGD with momentum) at a fixed
global batch, each rank one thread: 1 process on the whole batch (no DDP) against N ranks of
DistributedDataParallel on batch / N each. efficiency = t(1 rank) / (N * t(N ranks)); 1.0 is
perfect scaling. Also timed: 1 process on batch / N, the compute a rank does, and N such
processes at once without communicating (what sharing the machine costs: memory bandwidth, clock
speed), so that t(N ranks) - t(N processes) is what distribution adds (communication not hidden
behind backward, bucket copies, waiting for the slowest rank); and 1 rank of DDP on batch / N,
whose excess over the plain process is DDP's own bookkeeping (hooks, bucket copies, the
averaging). Runs alternate between the configurations, `--rounds` times each; the median over
rounds of each run's median step time is reported.

Bandwidth: all_reduce (SUM, float32, in place) from 4 KiB to 64 MiB between N ranks, pydl's
against mpi4py's Allreduce(IN_PLACE) on a numpy array, interleaved in the same job. Bus bandwidth
= 2 (N - 1) / N * bytes / time (NCCL's convention: the bytes each rank sends and receives in a
ring). speed-up = mpi4py time / pydl time (above 1: pydl is faster).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import pydl  # noqa: E402
from train_step import lenet5, mlp  # noqa: E402

MODELS = {"mlp 784-100-10": mlp, "lenet5": lenet5}
SIZES = [4 << 10 << 2 * k for k in range(8)]  # 4 KiB .. 64 MiB
RESULT = "RESULT "


# ---------------------------------------------------------------------- the ranks' side
def _train_steps(model_name, batch, steps, use_ddp):
    """Median and p90 step time (s) of `steps` steps on this rank's `batch` samples."""
    import pydl.distributed as dist
    from pydl.nn.parallel import DistributedDataParallel as DDP
    rank = dist.get_rank() if use_ddp else 0
    rng = np.random.default_rng(rank)
    x = pydl.from_numpy(rng.random((batch, 1, 28, 28), dtype=np.float32))
    y = pydl.from_numpy(rng.integers(0, 10, batch).astype(np.int64))
    pydl.manual_seed(0)
    model = MODELS[model_name](pydl.nn)
    if use_ddp:
        model = DDP(model)
    opt = pydl.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = pydl.nn.CrossEntropyLoss()
    times = []
    for i in range(steps + 3):  # 3 warm-up steps
        t0 = time.perf_counter()
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    times = times[3:]
    return float(np.median(times)), float(np.percentile(times, 90))


def _all_reduce_times(rounds):
    """{bytes: (pydl s, mpi4py s)} per all_reduce, the median over rounds of interleaved blocks."""
    import pydl.distributed as dist
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    out = {}
    for nbytes in SIZES:
        n = nbytes // 4
        t = pydl.ones(n)
        a = np.ones(n, dtype=np.float32)
        calls = int(min(500, max(4, 2e8 / nbytes)))
        impls = {"pydl": lambda: dist.all_reduce(t), "mpi4py": lambda: comm.Allreduce(MPI.IN_PLACE, a, op=MPI.SUM)}
        samples = {k: [] for k in impls}
        for _ in range(rounds):
            for name, fn in impls.items():
                fn()
                comm.Barrier()
                t0 = time.perf_counter()
                for _ in range(calls):
                    fn()
                samples[name].append((time.perf_counter() - t0) / calls)
        out[nbytes] = tuple(float(np.median(samples[k])) for k in impls)
    return out


def worker(args):
    pydl.set_num_threads(1)
    if args.worker == "steps" and not args.ddp:
        print(RESULT + json.dumps(_train_steps(args.model, args.batch, args.steps, False)), flush=True)
        return
    import pydl.distributed as dist
    dist.init_process_group("mpi")
    if args.worker == "steps":
        result = _train_steps(args.model, args.batch, args.steps, True)
    else:
        result = _all_reduce_times(args.rounds)
    if dist.get_rank() == 0:
        print(RESULT + json.dumps(result), flush=True)
    dist.destroy_process_group()


# ---------------------------------------------------------------------- the driver's side
def _run(cmd_args, ranks=None, copies=1):
    """The RESULT a worker prints: of rank 0 under mpiexec -n ranks, or, without ranks, of each of
    `copies` independent processes started together (a list when copies > 1)."""
    from pydl.distributed.run import find_mpiexec
    cmd = [sys.executable, os.path.abspath(__file__), *cmd_args]
    if ranks:
        cmd = [find_mpiexec(), "-n", str(ranks), *cmd]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(copies)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        lines = [line for line in out.splitlines() if line.startswith(RESULT)]
        if proc.returncode or not lines:
            raise SystemExit(f"ddp bench: {' '.join(cmd)} failed ({proc.returncode}):\n{out}{err}")
        results.append(json.loads(lines[-1][len(RESULT):]))
    return results if copies > 1 else results[0]


def scaling_rows(ranks, batch, rounds, steps):
    rows = []
    for name in MODELS:
        shard = ["--batch", str(batch // ranks)]
        configs = {"one": (["--batch", str(batch)], None, 1), "shard": (shard, None, 1),
                   "together": (shard, None, ranks), "ddp1": (shard + ["--ddp"], 1, 1),
                   "ranks": (shard + ["--ddp"], ranks, 1)}
        runs = {k: [] for k in configs}
        for _ in range(rounds):
            for k, (extra, n, copies) in configs.items():
                result = _run(["--worker", "steps", "--model", name, "--steps", str(steps), *extra], n, copies)
                runs[k] += result if copies > 1 else [result]
        t = {k: (float(np.median([r[0] for r in v])), float(np.median([r[1] for r in v]))) for k, v in runs.items()}
        single, many = t["one"], t["ranks"]
        rows.append({"model": name, "global_batch": batch, "ranks": ranks, "threads_per_rank": 1,
                     "one_rank_ms": round(single[0] * 1e3, 3), "one_rank_p90_ms": round(single[1] * 1e3, 3),
                     "shard_compute_ms": round(t["shard"][0] * 1e3, 3),
                     "shards_together_ms": round(t["together"][0] * 1e3, 3),
                     "ddp_bookkeeping_ms": round((t["ddp1"][0] - t["shard"][0]) * 1e3, 3),
                     "ranks_ms": round(many[0] * 1e3, 3), "ranks_p90_ms": round(many[1] * 1e3, 3),
                     "added_ms": round((many[0] - t["together"][0]) * 1e3, 3),
                     "gradient_bytes": 4 * sum(p.numel() for p in MODELS[name](pydl.nn).parameters()),
                     "efficiency": round(single[0] / (ranks * many[0]), 3)})
    return rows


def bandwidth_rows(ranks, rounds):
    times = _run(["--worker", "allreduce", "--rounds", str(rounds)], ranks)
    rows = []
    for nbytes, (mine, ref) in sorted((int(k), v) for k, v in times.items()):
        bus = 2 * (ranks - 1) / ranks * nbytes
        rows.append({"bytes": nbytes, "ranks": ranks, "pydl_us": round(mine * 1e6, 2), "mpi4py_us": round(ref * 1e6, 2),
                     "pydl_bus_gbs": round(bus / mine / 1e9, 3), "mpi4py_bus_gbs": round(bus / ref / 1e9, 3),
                     "speedup": round(ref / mine, 3)})
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--batch", type=int, default=512, help="the global batch")
    p.add_argument("--steps", type=int, default=20, help="timed steps per run")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--only", choices=("scaling", "bandwidth"))
    p.add_argument("--worker", choices=("steps", "allreduce"), help=argparse.SUPPRESS)
    p.add_argument("--model", choices=tuple(MODELS), help=argparse.SUPPRESS)
    p.add_argument("--ddp", action="store_true", help=argparse.SUPPRESS)
    _common.add_save_option(p)
    args = p.parse_args()
    if args.worker:
        return worker(args)
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        raise SystemExit("bench/ddp.py needs mpi4py and MPICH: pip install '.[distributed]'")
    if args.batch % args.ranks:
        raise SystemExit(f"--batch {args.batch} does not split between {args.ranks} ranks")
    pydl.set_num_threads(1)
    scaling = [] if args.only == "bandwidth" else scaling_rows(args.ranks, args.batch, args.rounds, args.steps)
    bandwidth = [] if args.only == "scaling" else bandwidth_rows(args.ranks, args.rounds)
    if scaling:
        _common.print_table(scaling, [("model", "model", ""), ("one_rank_ms", "1 rank ms", ".2f"),
                                      ("shard_compute_ms", f"batch/{args.ranks} ms", ".2f"),
                                      ("shards_together_ms", f"{args.ranks} at once ms", ".2f"),
                                      ("ddp_bookkeeping_ms", "DDP own ms", ".2f"),
                                      ("ranks_ms", f"{args.ranks} ranks ms", ".2f"),
                                      ("ranks_p90_ms", "p90 ms", ".2f"), ("added_ms", "added ms", ".2f"),
                                      ("efficiency", "efficiency", ".3f")],
                            title=f"training step, global batch {args.batch}, 1 thread per rank (efficiency = "
                                  f"t(1 rank) / ({args.ranks} t({args.ranks} ranks)))")
    if bandwidth:
        _common.print_table(bandwidth, [("bytes", "bytes", "d"), ("pydl_us", "pydl us", ".1f"),
                                        ("mpi4py_us", "mpi4py us", ".1f"), ("pydl_bus_gbs", "pydl GB/s", ".2f"),
                                        ("mpi4py_bus_gbs", "mpi4py GB/s", ".2f"), ("speedup", "speed-up", ".3f")],
                            title=f"all_reduce SUM float32, {args.ranks} ranks, bus bandwidth "
                                  f"{_common.SPEEDUP_NOTE.replace('pydl', 'pydl vs mpi4py')}")
    from mpi4py import MPI
    _common.store_results("ddp", [*scaling, *bandwidth], args.save,
                          extra={"mpi": MPI.Get_library_version().splitlines()[0].strip()})


if __name__ == "__main__":
    main()
