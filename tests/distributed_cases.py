"""The ranks' side of tests/test_distributed.py, started by mpiexec:

    mpiexec -n N python tests/distributed_cases.py OUT_DIR [case ...]

Runs each case (all of them by default) on every rank, in order, and writes OUT_DIR/rank<r>.json:
{case: "ok" or the traceback}. A case raising on one rank only would leave the others in a
collective, so every check here runs after the case's collectives; the process group's timeout
ends a run that hangs anyway. The cases "raise_on_rank1" and "late_rank" end the job on purpose.
"""
import json
import os
import sys
import time
import traceback

import numpy as np

import pydl
import pydl.distributed as dist
from pydl import nn, optim
from pydl.data import DistributedSampler
from pydl.nn.parallel import DistributedDataParallel as DDP

CASES = {}


class Skip(Exception):
    """A case that cannot run here (its outcome reads "skip: <why>")."""


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def rank_data(rank, shape, dtype, salt=0):
    """What rank `rank` contributes: any rank can compute any other rank's (the numpy reference)."""
    rng = np.random.default_rng([rank, salt])
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    return rng.integers(-5, 6, size=shape).astype(dtype)


def allclose_ranks(x, atol=0.0):
    """x (a numpy array) on every rank equals rank 0's."""
    t = pydl.from_numpy(np.ascontiguousarray(x))
    gathered = [pydl.zeros_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, t)
    return all(np.allclose(g.numpy(), gathered[0].numpy(), rtol=0, atol=atol) for g in gathered)


# ---------------------------------------------------------------------- collectives against numpy
@case
def all_reduce_ops(rank, size):
    reducers = {dist.ReduceOp.SUM: np.sum, dist.ReduceOp.PRODUCT: np.prod, dist.ReduceOp.MIN: np.min,
                dist.ReduceOp.MAX: np.max, dist.ReduceOp.AVG: np.mean}
    for dtype in (np.float32, np.float64, np.int64):
        for op, ref in reducers.items():
            if op is dist.ReduceOp.AVG and dtype is np.int64:
                continue
            t = pydl.from_numpy(rank_data(rank, (3, 5), dtype))
            dist.all_reduce(t, op=op)
            expected = ref(np.stack([rank_data(r, (3, 5), dtype) for r in range(size)]), axis=0)
            rtol = 1e-6 if dtype is np.float32 else 1e-12
            np.testing.assert_allclose(t.numpy(), expected, rtol=rtol, atol=0, err_msg=f"{op} {dtype}")


@case
def all_reduce_async_and_strided(rank, size):
    base = pydl.from_numpy(rank_data(rank, (4, 6), np.float64, 1))
    view = base[:, ::2].T  # not contiguous: reduced through a copy, written back
    work = dist.all_reduce(view, op=dist.ReduceOp.SUM, async_op=True)
    assert isinstance(work, dist.Work)
    assert work.wait() is True and work.is_completed()
    full = sum(rank_data(r, (4, 6), np.float64, 1) for r in range(size))
    mine = rank_data(rank, (4, 6), np.float64, 1)
    np.testing.assert_allclose(base.numpy()[:, ::2], full[:, ::2], rtol=1e-12)
    np.testing.assert_array_equal(base.numpy()[:, 1::2], mine[:, 1::2])  # the rest untouched
    flags = pydl.tensor([rank == 0, True])
    dist.all_reduce(flags, op=dist.ReduceOp.MIN)
    assert flags.tolist() == [size == 1, True]


@case
def broadcast_from_last(rank, size):
    src = size - 1
    t = pydl.from_numpy(rank_data(rank, (7,), np.float32, 2))
    assert dist.broadcast(t, src=src) is None
    np.testing.assert_array_equal(t.numpy(), rank_data(src, (7,), np.float32, 2))


@case
def all_gather_both_forms(rank, size):
    mine = pydl.from_numpy(rank_data(rank, (2, 3), np.int64, 3))
    out = [pydl.zeros(2, 3, dtype=pydl.int64) for _ in range(size)]
    dist.all_gather(out, mine)
    for r in range(size):
        np.testing.assert_array_equal(out[r].numpy(), rank_data(r, (2, 3), np.int64, 3))
    flat = pydl.zeros(size * 2, 3, dtype=pydl.int64)
    dist.all_gather_into_tensor(flat, mine)
    expected = np.concatenate([rank_data(r, (2, 3), np.int64, 3) for r in range(size)])
    np.testing.assert_array_equal(flat.numpy(), expected)


@case
def reduce_scatter_both_forms(rank, size):
    chunks = [rank_data(rank, (4,), np.float64, 10 + c) for c in range(size)]
    out = pydl.zeros(4, dtype=pydl.float64)
    dist.reduce_scatter(out, [pydl.from_numpy(c) for c in chunks], op=dist.ReduceOp.MAX)
    expected = np.max([rank_data(r, (4,), np.float64, 10 + rank) for r in range(size)], axis=0)
    np.testing.assert_array_equal(out.numpy(), expected)
    out2 = pydl.zeros(4, dtype=pydl.float64)
    dist.reduce_scatter_tensor(out2, pydl.from_numpy(np.concatenate(chunks)), op=dist.ReduceOp.AVG)
    expected = np.mean([rank_data(r, (4,), np.float64, 10 + rank) for r in range(size)], axis=0)
    np.testing.assert_allclose(out2.numpy(), expected, rtol=1e-12)


@case
def barrier_and_queries(rank, size):
    dist.barrier()
    assert dist.is_initialized() and dist.get_backend() == "mpi"
    assert dist.get_rank() == rank and dist.get_world_size() == size
    assert 0 <= dist.get_local_rank() < size
    local = pydl.tensor([dist.get_local_rank()])
    everyone = [pydl.tensor([0]) for _ in range(size)]
    dist.all_gather(everyone, local)
    assert sorted(int(t.item()) for t in everyone) == list(range(size))  # one machine here


@case
def argument_errors(rank, size):
    t = pydl.zeros(3)
    for call, text in [(lambda: dist.broadcast(t, src=size), "src should be a rank"),
                       (lambda: dist.all_reduce(t, op="sum"), "ReduceOp"),
                       (lambda: dist.all_gather([t], t) if size > 1 else dist.all_gather([], t), "world_size="),
                       (lambda: dist.all_reduce(pydl.zeros(2, dtype=pydl.int64), op=dist.ReduceOp.AVG), "floating")]:
        try:
            call()
        except (ValueError, TypeError) as e:
            assert text in str(e), str(e)
        else:
            raise AssertionError(f"no error for {text}")


# ---------------------------------------------------------------------- DistributedDataParallel
def mlp(dtype, hidden=16, seed=0):
    pydl.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, hidden), nn.Tanh(), nn.Linear(hidden, 3)).to(dtype)


def flat_params(model):
    return np.concatenate([p.detach().numpy().reshape(-1) for p in model.parameters()])


@case
def ddp_broadcasts_rank0_parameters(rank, size):
    model = mlp(pydl.float64, seed=100 + rank)  # different on every rank before DDP
    ddp = DDP(model)
    reference = flat_params(mlp(pydl.float64, seed=100))
    np.testing.assert_array_equal(flat_params(model), reference)
    assert allclose_ranks(flat_params(ddp.module))


def full_batch(step, dtype, n):
    rng = np.random.default_rng([7, step])
    return rng.standard_normal((n, 6)).astype(dtype), rng.integers(0, 3, size=n)


def train_and_compare(rank, size, dtype, bucket_cap_mb, rtol, atol):
    n = 12  # the global batch: 2 or 3 shards of equal size
    ref_model = mlp(dtype, seed=1)
    model = DDP(mlp(dtype, seed=1 + rank), bucket_cap_mb=bucket_cap_mb)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ref_opt = optim.SGD(ref_model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for step in range(20):
        x, y = full_batch(step, np.float64 if dtype is pydl.float64 else np.float32, n)
        shard = slice(rank * n // size, (rank + 1) * n // size)
        opt.zero_grad()
        loss_fn(model(pydl.from_numpy(x[shard])), pydl.from_numpy(y[shard])).backward()
        opt.step()
        ref_opt.zero_grad()
        loss_fn(ref_model(pydl.from_numpy(x)), pydl.from_numpy(y)).backward()
        ref_opt.step()
    np.testing.assert_allclose(flat_params(model.module), flat_params(ref_model), rtol=rtol, atol=atol)
    assert allclose_ranks(flat_params(model.module))
    return model


@case
def ddp_matches_full_batch_float64(rank, size):
    model = train_and_compare(rank, size, pydl.float64, 25, rtol=1e-12, atol=1e-13)
    assert len(model.reducer.buckets) == 1
    # Buckets of ~100 bytes: several all-reduces in flight during each backward.
    model = train_and_compare(rank, size, pydl.float64, 1e-4, rtol=1e-12, atol=1e-13)
    assert len(model.reducer.buckets) >= 3


@case
def ddp_matches_full_batch_float32(rank, size):
    train_and_compare(rank, size, pydl.float32, 1e-4, rtol=1e-4, atol=2e-5)


@case
def ddp_bucket_order(rank, size):
    model = nn.Sequential(nn.Linear(600, 600), nn.Linear(600, 2))  # 1.44 MB, then 4.8 kB
    ddp = DDP(model, bucket_cap_mb=25)
    names = {id(p): n for n, p in model.named_parameters()}
    buckets = [[names[id(p)] for p in b.params] for b in ddp.reducer.buckets]
    # Reverse order; the first bucket closes once it passes 1 MiB.
    assert buckets == [["1.bias", "1.weight", "0.bias", "0.weight"]], buckets
    model = nn.Sequential(nn.Linear(600, 600), nn.Linear(600, 600))
    sizes = [len(b.params) for b in DDP(model, bucket_cap_mb=25).reducer.buckets]
    assert sizes == [2, 2], sizes  # 1.bias and 1.weight pass 1 MiB; 0.bias and 0.weight fit in 25 MB


@case
def ddp_buckets_start_during_backward(rank, size):
    pydl.manual_seed(6)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))
    started_before_first_layer = []
    # Runs before DDP's own hook on the first layer's weight, the last gradient backward produces.
    model[0].weight.register_post_accumulate_grad_hook(lambda p: started_before_first_layer.append(ddp.reducer._next))
    ddp = DDP(model, bucket_cap_mb=1e-5)  # one parameter a bucket: 4.bias, 4.weight, 2.bias, ..., 0.weight
    assert len(ddp.reducer.buckets) == 6
    ddp(pydl.randn(4, 6)).sum().backward()
    # The buckets of layers 4 and 2 were in flight before backward reached layer 0.
    assert len(started_before_first_layer) == 1 and started_before_first_layer[0] >= 4, started_before_first_layer
    assert ddp.reducer._next == 0 and not ddp.reducer.armed  # all waited for when backward returned
    assert allclose_ranks(np.concatenate([p.grad.numpy().reshape(-1) for p in model.parameters()]))


@case
def ddp_batchnorm_buffers_in_sync(rank, size):
    pydl.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2))
    ddp = DDP(model)
    opt = optim.SGD(ddp.parameters(), lr=0.05)
    rng = np.random.default_rng(rank)
    for _ in range(3):
        opt.zero_grad()
        ddp(pydl.from_numpy(rng.standard_normal((8, 4)) * (rank + 1)).float()).sum().backward()
        opt.step()
    bn = model[1]
    rank0_stats = np.concatenate([bn.running_mean.numpy(), bn.running_var.numpy()])
    dist.broadcast(pydl.from_numpy(rank0_stats), 0)  # (rank 0's own values, for the check below)
    differs_before = not allclose_ranks(bn.running_mean.numpy())
    ddp.eval()
    with pydl.no_grad():
        ddp(pydl.from_numpy(rng.standard_normal((2, 4))).float())  # a forward broadcasts rank 0's buffers first
    assert size == 1 or differs_before  # each rank updated its statistics from its own data
    np.testing.assert_array_equal(np.concatenate([bn.running_mean.numpy(), bn.running_var.numpy()]), rank0_stats)
    assert int(bn.num_batches_tracked.item()) == 3
    assert allclose_ranks(flat_params(model))


@case
def ddp_no_sync_accumulates(rank, size):
    model = mlp(pydl.float64, seed=5)
    ddp = DDP(model)
    micro = [rank_data(rank, (4, 6), np.float64, 20 + k) for k in range(3)]

    def grads_of(batches, m):
        m.zero_grad()
        for b in batches:
            m(pydl.from_numpy(b)).pow(2).sum().backward()
        return np.concatenate([p.grad.numpy().reshape(-1) for p in m.parameters()])

    with ddp.no_sync():
        for b in micro[:2]:
            ddp(pydl.from_numpy(b)).pow(2).sum().backward()
    local = np.concatenate([p.grad.numpy().reshape(-1) for p in model.parameters()])
    reference = mlp(pydl.float64, seed=5)
    np.testing.assert_allclose(local, grads_of(micro[:2], reference), rtol=1e-12)  # not reduced
    ddp(pydl.from_numpy(micro[2])).pow(2).sum().backward()  # reduces all three micro-batches' sum
    synced = np.concatenate([p.grad.numpy().reshape(-1) for p in model.parameters()])
    expected = np.mean([grads_of([rank_data(r, (4, 6), np.float64, 20 + k) for k in range(3)], reference)
                        for r in range(size)], axis=0)
    np.testing.assert_allclose(synced, expected, rtol=1e-10, atol=1e-12)


@case
def ddp_unused_parameter_counts_zero(rank, size):
    pydl.manual_seed(4)
    model = nn.ModuleDict({"used": nn.Linear(3, 2), "unused": nn.Linear(3, 2)})

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, x):
            return self.m["used"](x) if rank == 0 else self.m["used"](x) + self.m["unused"](x)

    ddp = DDP(Net(), bucket_cap_mb=1e-5)
    ddp(pydl.ones(2, 3)).sum().backward()
    g = model["unused"].weight.grad.numpy()
    np.testing.assert_allclose(g, np.full((2, 3), 2.0 * (size - 1) / size), rtol=1e-6)


@case
def ddp_shape_mismatch_raises_everywhere(rank, size):
    if size == 1:
        return
    model = mlp(pydl.float32, hidden=16 if rank == 0 else 17)
    try:
        DDP(model)
    except ValueError as e:
        assert "'0.weight' has shape (17, 6) float32 on rank 1, shape (16, 6) float32 on rank 0" in str(e), str(e)
    else:
        raise AssertionError("DDP accepted models of different shapes")


# ---------------------------------------------------------------------- the sampler
@case
def sampler_shards_cover_the_dataset(rank, size):
    for n, drop_last in [(10, False), (10, True), (12, False), (3, False)]:
        sampler = DistributedSampler(range(n), shuffle=True, seed=11, drop_last=drop_last)
        sampler.set_epoch(2)
        mine = pydl.tensor(list(sampler))
        everyone = [pydl.zeros(len(sampler), dtype=pydl.int64) for _ in range(size)]
        dist.all_gather(everyone, mine)
        indices = np.concatenate([t.numpy() for t in everyone])
        assert len(indices) == len(sampler) * size
        if drop_last:
            assert len(set(indices.tolist())) == len(indices) == n - n % size
        else:
            assert set(indices.tolist()) == set(range(n))
            assert len(indices) - len(set(indices.tolist())) == (-n) % size  # only the padding repeats


# ---------------------------------------------------------------------- NCCL without a GPU
@case
def nccl_unique_id_exchange(rank, size):
    from pydl.distributed import nccl, nccl_library

    if nccl_library.find() is None:
        raise Skip("needs NCCL: pip install \"pydl[nccl]\"")
    exchanged = nccl.exchange_unique_id(rank, "mpiexec")
    assert len(exchanged) == 128
    mine = pydl.from_numpy(np.frombuffer(exchanged, dtype=np.uint8).copy())
    assert allclose_ranks(mine.numpy().astype(np.int64))


# ---------------------------------------------------------------------- ending the job
@case
def raise_on_rank1(rank, size):
    if rank == 1:
        raise RuntimeError("rank 1 fails on purpose")
    dist.all_reduce(pydl.zeros(3))  # never completes: rank 1 is gone
    time.sleep(60)


@case
def late_rank(rank, size):
    if rank == 1:
        time.sleep(60)
    dist.all_reduce(pydl.zeros(3))


def main():
    out_dir, names = sys.argv[1], sys.argv[2:] or [n for n in CASES if n not in ("raise_on_rank1", "late_rank")]
    timeout = float(os.environ.get("PYDL_CASES_TIMEOUT", "20"))
    dist.init_process_group("mpi", timeout=timeout)
    rank, size = dist.get_rank(), dist.get_world_size()
    results = {}
    for name in names:
        started = time.perf_counter()
        try:
            CASES[name](rank, size)
            results[name] = "ok"
        except Skip as e:
            results[name] = f"skip: {e}"
        except (AssertionError, ValueError, TypeError):
            results[name] = traceback.format_exc()
        results[name + ":seconds"] = round(time.perf_counter() - started, 3)
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump(results, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
