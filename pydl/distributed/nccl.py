"""The NCCL backend: collectives on CUDA tensors through libnccl.so.2, loaded at run time into
pydl._C (``pip install "pydl[nccl]"``; csrc/nccl.h).

Each collective runs on a communication stream that first waits (through an event) for what
pydl's compute stream has queued; ``Work.wait()`` makes the compute stream wait for the
collective in turn, so nothing waits on the host and a tensor in flight is never handed to a new
owner by the caching allocator (pydl allocates on the compute stream, which is ordered after the
collective once it was waited for; a Work dropped unwaited does the same when it goes).

Timeouts: the host waits, with the process group's timeout, only at ``barrier()`` and
``Work.wait(timeout=...)``; there a collective that does not finish aborts the communicator and
raises naming the op. (NCCL cannot say which ranks did not arrive.)
"""
import os

from pydl import _C
from pydl.autograd.grad_mode import no_grad
from pydl.creation import empty, zeros
from pydl.distributed import env, nccl_library
from pydl.distributed.errors import DistBackendError
from pydl.distributed.reduce_op import ReduceOp
from pydl.distributed.work import Work

_NCCL_OPS = {ReduceOp.SUM: 0, ReduceOp.PRODUCT: 1, ReduceOp.MAX: 2, ReduceOp.MIN: 3, ReduceOp.AVG: 4}
_BOOL_OPS = {ReduceOp.SUM: 2, ReduceOp.MAX: 2, ReduceOp.PRODUCT: 3, ReduceOp.MIN: 3}  # or, and


def exchange_unique_id(rank, how):
    """The 128-byte id that every rank hands to ncclCommInitRank. Under mpiexec: rank 0's, sent to the
    others by MPI. Otherwise NCCL's own bootstrap at NCCL_COMM_ID (MASTER_ADDR:MASTER_PORT when
    unset): every rank then computes the same id from that address, and rank 0 listens there."""
    nccl_library.load("init_process_group(backend='nccl')")
    if how == "mpiexec":
        from pydl.distributed.mpi import import_mpi

        comm = import_mpi("init_process_group(backend='nccl') under mpiexec").COMM_WORLD
        buf = bytearray(_C.nccl_unique_id() if comm.Get_rank() == 0 else bytes(128))
        comm.Bcast(buf, root=0)
        return bytes(buf)
    if how == "env" and "NCCL_COMM_ID" not in os.environ:
        os.environ["NCCL_COMM_ID"] = env.master_address("init_process_group(backend='nccl')")
    return _C.nccl_unique_id()


class NCCLWork(Work):
    def __init__(self, work, group, op, finish=None):
        self._work, self._group, self._op, self._finish = work, group, op, finish

    def wait(self, timeout=None):
        if timeout is not None and self._work is not None:
            self._group.synchronize(self._work, self._op, timeout)
        if self._work is not None:
            self._work.wait()
            self._work = None
            if self._finish is not None:
                with no_grad():
                    self._finish()
                self._finish = None
        return True

    def is_completed(self):
        return self._work is None or self._work.is_completed()


class ProcessGroupNCCL:
    backend = "nccl"

    def __init__(self, timeout, device_id=None):
        from pydl import cuda
        from pydl.distributed.group import launched_ranks

        op = "init_process_group(backend='nccl')"
        major, minor, patch = nccl_library.load(op)
        if not cuda.is_available():
            raise RuntimeError(f"{op}: NCCL {major}.{minor}.{patch} reduces CUDA tensors, and CUDA is unavailable "
                               f"here: {cuda.unavailable_reason()} (backend='mpi' reduces CPU tensors)")
        rank, size, local_rank, how = launched_ranks(op)
        self._mpi = None
        if how == "mpiexec":
            from pydl.distributed.mpi import import_mpi

            MPI = import_mpi(op)
            self._mpi = MPI.COMM_WORLD
            rank, size = self._mpi.Get_rank(), self._mpi.Get_size()
            node = self._mpi.Split_type(MPI.COMM_TYPE_SHARED, key=rank)
            local_rank = node.Get_rank()
            node.Free()
        index = cuda._index(device_id) if device_id is not None else local_rank % cuda.device_count()
        self.rank, self.size, self.local_rank, self.timeout = rank, size, local_rank, timeout
        self.device = f"cuda:{index}"
        self.version = (major, minor, patch)
        self._comm = _C.NcclComm(exchange_unique_id(rank, how), size, rank, index)

    # ------------------------------------------------------------------ helpers
    def _buffer(self, tensor, op):
        if str(tensor.device) != self.device:
            raise ValueError(f"{op}: the nccl backend of this rank reduces tensors on {self.device}, got one on "
                             f"{tensor.device}")
        t = tensor.detach()
        return (t, False) if t.is_contiguous() else (t.contiguous(), True)

    def _op(self, op, tensor, name):
        if tensor.dtype.name == "bool":
            if op is ReduceOp.AVG:
                raise TypeError(f"{name}: ReduceOp.AVG needs a numeric tensor, got bool")
            return _BOOL_OPS[op]
        return _NCCL_OPS[op]

    def synchronize(self, work, op, timeout):
        seconds = timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)
        try:
            work.synchronize(seconds)
        except RuntimeError as e:
            raise DistBackendError(f"{op} on rank {self.rank}: {e}") from e

    @staticmethod
    def _copy_back(tensor, buf, copied):
        return (lambda: tensor.detach().copy_(buf.view(tuple(tensor.shape)))) if copied else None

    # ------------------------------------------------------------------ collectives
    def all_reduce(self, tensor, op):
        buf, copied = self._buffer(tensor, "all_reduce")
        work = self._comm.all_reduce(buf._a, self._op(op, tensor, "all_reduce"))
        return NCCLWork(work, self, "all_reduce", self._copy_back(tensor, buf, copied))

    def broadcast(self, tensor, src):
        buf, copied = self._buffer(tensor, "broadcast")
        return NCCLWork(self._comm.broadcast(buf._a, src), self, "broadcast", self._copy_back(tensor, buf, copied))

    def all_gather_into_tensor(self, output, input):
        send, _ = self._buffer(input, "all_gather_into_tensor")
        recv, copied = self._buffer(output, "all_gather_into_tensor")
        work = self._comm.all_gather(send._a, recv._a)
        return NCCLWork(work, self, "all_gather_into_tensor", self._copy_back(output, recv, copied))

    def all_gather(self, tensor_list, tensor):
        send, _ = self._buffer(tensor, "all_gather")
        recv = empty(self.size, *tensor.shape, dtype=tensor.dtype, device=self.device)

        def finish():
            for t, part in zip(tensor_list, recv.unbind(0)):
                t.detach().copy_(part)
        return NCCLWork(self._comm.all_gather(send._a, recv._a), self, "all_gather", finish)

    def reduce_scatter_tensor(self, output, input, op):
        send, _ = self._buffer(input, "reduce_scatter_tensor")
        recv, copied = self._buffer(output, "reduce_scatter_tensor")
        work = self._comm.reduce_scatter(send._a, recv._a, self._op(op, output, "reduce_scatter_tensor"))
        return NCCLWork(work, self, "reduce_scatter_tensor", self._copy_back(output, recv, copied))

    def reduce_scatter(self, output, input_list, op):
        from pydl.ops.shape import cat

        for t in input_list:
            self._buffer(t, "reduce_scatter")
        send = cat([t.detach().reshape(-1) for t in input_list])
        recv, copied = self._buffer(output, "reduce_scatter")
        work = self._comm.reduce_scatter(send._a, recv._a, self._op(op, output, "reduce_scatter"))
        return NCCLWork(work, self, "reduce_scatter", self._copy_back(output, recv, copied))

    def barrier(self):
        work = NCCLWork(self._comm.all_reduce(zeros(1, device=self.device)._a, 0), self, "barrier")
        work.wait(timeout=self.timeout)
        return work

    # ------------------------------------------------------------------ lifetime
    def abort(self, code=1):
        self._comm.abort()
        if self._mpi is not None:
            self._mpi.Abort(code)
        os._exit(code)  # started by the launcher, which then stops the other ranks

    def shutdown(self):
        self._comm.destroy()
