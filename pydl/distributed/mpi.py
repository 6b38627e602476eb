"""The MPI backend: collectives on CPU tensors through mpi4py (``pip install "pydl[distributed]"``).

Every collective is MPI's non-blocking one (Iallreduce, Ibcast, ...) on a duplicate of
COMM_WORLD, waited for by polling, so that a wait can time out and say which ranks never arrived:
each rank publishes how many collectives it has entered in a one-sided (RMA) window that the
timed-out rank reads.
"""
import os
import time

import numpy as np

from pydl.autograd.grad_mode import no_grad
from pydl.creation import from_numpy
from pydl.distributed.errors import DistBackendError
from pydl.distributed.reduce_op import ReduceOp
from pydl.distributed.work import Work

OPS = ("all_reduce", "broadcast", "all_gather", "all_gather_into_tensor", "reduce_scatter", "reduce_scatter_tensor",
       "barrier")
# A waiting rank polls (MPI progresses a transfer only inside its calls) and yields the core
# between polls, for up to _SPIN_S; later it sleeps between polls, pausing from 20 us up to 1 ms.
_SPIN_S = 0.2


def import_mpi(op):
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError(f"{op}: the MPI backend needs mpi4py and an MPI library: pip install \"pydl[distributed]\" "
                           f"({e})") from e
    return MPI


class MPIWork(Work):
    def __init__(self, group, request, op, seq, finish=None, keep=()):
        self._group, self._request, self._op, self._seq = group, request, op, seq
        self._finish, self._keep, self._done = finish, keep, False

    def _complete(self):
        self._done = True
        if self._finish is not None:
            with no_grad():
                self._finish()
        self._finish = self._keep = None

    def is_completed(self):
        if not self._done and self._request.Test():
            self._complete()
        return self._done

    def wait(self, timeout=None):
        if not self._done:
            self._group.wait_request(self._request, self._op, self._seq, timeout)
            self._complete()
        return True


class ProcessGroupMPI:
    backend = "mpi"
    device = "cpu"  # where the tensors it reduces live

    def __init__(self, timeout):
        MPI = import_mpi("init_process_group(backend='mpi')")
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD.Dup()
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self._node = self.comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank = self._node.Get_rank()
        self.timeout = timeout
        self._seq = 0
        # [collectives entered, code of the last one] of every rank on this machine, by global rank.
        self._win = MPI.Win.Allocate_shared(16, 8, comm=self._node)
        self._neighbours = {}
        for local, world_rank in enumerate(self._node.allgather(self.rank)):
            memory, _ = self._win.Shared_query(local)
            self._neighbours[world_rank] = np.frombuffer(memory, dtype=np.int64, count=2)
        self._mine = self._neighbours[self.rank]
        self._mine[:] = 0
        self._node.Barrier()
        self._ops = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
                     ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}

    # ------------------------------------------------------------------ bookkeeping
    def _enter(self, op):
        self._seq += 1
        self._mine[0], self._mine[1] = self._seq, OPS.index(op)
        return self._seq

    def wait_request(self, request, op, seq, timeout=None):
        if request.Test():
            return
        limit = self.timeout if timeout is None else _seconds(timeout)
        start = time.monotonic()
        spin_until, deadline, pause = start + min(_SPIN_S, limit), start + limit, 2e-5
        while not request.Test():
            now = time.monotonic()
            if now < spin_until:
                os.sched_yield()
                continue
            if now > deadline:
                raise DistBackendError(self._timeout_message(op, seq, limit))
            time.sleep(pause)
            pause = min(2 * pause, 1e-3)

    def _timeout_message(self, op, seq, limit):
        late, unknown = [], []
        for r in range(self.size):
            seen = self._neighbours.get(r)
            if seen is None:
                unknown.append(str(r))
            elif seen[0] < seq:
                where = f"collective #{seen[0]} ({OPS[seen[1]]})" if seen[0] else "no collective yet"
                late.append(f"rank {r} (at {where})")
        who = "did not arrive: " + ", ".join(late) if late else "every rank on this machine entered it"
        if unknown:
            who += f"; ranks on other machines ({', '.join(unknown)}) cannot be asked"
        return f"{op}: collective #{seq} timed out after {limit:g} s on rank {self.rank}; {who}"

    def _mpi_op(self, op, tensor, name):
        if tensor.dtype.name == "bool":
            return self.MPI.LAND if op in (ReduceOp.MIN, ReduceOp.PRODUCT) else self.MPI.LOR
        if op is ReduceOp.AVG and not tensor.dtype.is_floating_point:
            raise TypeError(f"{name}: ReduceOp.AVG needs a floating tensor on the mpi backend, got {tensor.dtype.name}")
        return self._ops[op]

    # ------------------------------------------------------------------ collectives
    def all_reduce(self, tensor, op):
        mpi_op = self._mpi_op(op, tensor, "all_reduce")
        buf, write_back = _buffer(tensor, "all_reduce")
        seq = self._enter("all_reduce")
        req = self.comm.Iallreduce(self.MPI.IN_PLACE, buf, mpi_op)
        return MPIWork(self, req, "all_reduce", seq, _finisher(tensor, buf, write_back, op, self.size), keep=(buf,))

    def broadcast(self, tensor, src):
        buf, write_back = _buffer(tensor, "broadcast")
        seq = self._enter("broadcast")
        req = self.comm.Ibcast(buf, root=src)
        return MPIWork(self, req, "broadcast", seq, _finisher(tensor, buf, write_back), keep=(buf,))

    def all_gather_into_tensor(self, output, input, op_name="all_gather_into_tensor"):
        send = _host(input, op_name)
        recv, write_back = _buffer(output, op_name)
        seq = self._enter(op_name)
        req = self.comm.Iallgather(send, recv)
        return MPIWork(self, req, op_name, seq, _finisher(output, recv, write_back), keep=(send, recv))

    def all_gather(self, tensor_list, tensor):
        send = _host(tensor, "all_gather")
        recv = np.empty((self.size,) + send.shape, dtype=send.dtype)
        seq = self._enter("all_gather")
        req = self.comm.Iallgather(send, recv)

        def finish():
            for t, part in zip(tensor_list, recv):
                t.copy_(from_numpy(part))
        return MPIWork(self, req, "all_gather", seq, finish, keep=(send, recv))

    def reduce_scatter_tensor(self, output, input, op, op_name="reduce_scatter_tensor"):
        mpi_op = self._mpi_op(op, output, op_name)
        send = _host(input, op_name)
        recv, write_back = _buffer(output, op_name)
        seq = self._enter(op_name)
        req = self.comm.Ireduce_scatter_block(send, recv, mpi_op)
        return MPIWork(self, req, op_name, seq, _finisher(output, recv, write_back, op, self.size), keep=(send, recv))

    def reduce_scatter(self, output, input_list, op):
        mpi_op = self._mpi_op(op, output, "reduce_scatter")
        send = np.concatenate([_host(t, "reduce_scatter").reshape(-1) for t in input_list])
        recv, write_back = _buffer(output, "reduce_scatter")
        seq = self._enter("reduce_scatter")
        req = self.comm.Ireduce_scatter_block(send, recv, mpi_op)
        return MPIWork(self, req, "reduce_scatter", seq, _finisher(output, recv, write_back, op, self.size),
                       keep=(send, recv))

    def barrier(self):
        seq = self._enter("barrier")
        return MPIWork(self, self.comm.Ibarrier(), "barrier", seq)

    # ------------------------------------------------------------------ lifetime
    def abort(self, code=1):
        self.MPI.COMM_WORLD.Abort(code)

    def shutdown(self):
        self._mine = self._neighbours = None
        self._win.Free()
        self._node.Free()
        self.comm.Free()


def _seconds(timeout):
    return timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)


def _check_cpu(tensor, op):
    if tensor.device.type != "cpu":
        raise ValueError(f"{op}: the mpi backend takes CPU tensors, got one on {tensor.device} "
                         "(init_process_group(backend='nccl') reduces CUDA tensors)")
    if tensor.dtype.name in ("float16", "bfloat16"):
        raise TypeError(f"{op}: the mpi backend takes float32, float64 and integer or bool tensors, "
                        f"got {tensor.dtype.name} (MPI has no half type; convert with .float())")


def _host(tensor, op):
    """A C-contiguous numpy array holding the tensor's values (the tensor's own memory when it can)."""
    _check_cpu(tensor, op)
    t = tensor.detach()
    return (t if t.is_contiguous() else t.contiguous()).numpy()


def _buffer(tensor, op):
    """(numpy buffer the result lands in, whether it must be copied back into the tensor)."""
    _check_cpu(tensor, op)
    t = tensor.detach()
    if t.is_contiguous():
        return t.numpy(), False
    return t.contiguous().numpy(), True


def _finisher(tensor, buf, copied, op=None, size=1):
    """What completes a collective once MPI is done: the copy back and AVG's division."""
    if not copied and op is not ReduceOp.AVG:
        return None

    def finish():
        t = tensor.detach()
        if copied:
            t.copy_(from_numpy(buf).view(tuple(tensor.shape)))
        if op is ReduceOp.AVG:
            if size & (size - 1):
                t.div_(size)
            else:  # the same bits, at twice the speed
                t.mul_(1.0 / size)
    return finish
