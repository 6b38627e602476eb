"""The default process group: ``init_process_group`` and the questions about it."""
import datetime
import os
import sys
import time

from pydl.distributed import env
from pydl.distributed.errors import DistError

_BACKENDS = ("mpi", "nccl")
_world = None
_previous_excepthook = None


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       device_id=None):
    """Joins this process to the job. ``backend``: "mpi" (CPU tensors, through mpi4py) or "nccl"
    (CUDA tensors); None picks nccl when a GPU is usable, else mpi. Ranks come from mpiexec, or
    from RANK / WORLD_SIZE / LOCAL_RANK (env://); a process started alone is a world of one.
    ``timeout`` (a timedelta or seconds, 30 minutes by default) bounds every collective's wait.

    From here on, an exception that escapes on any rank ends the whole job (MPI's Abort, or the
    launcher stopping the other ranks) instead of leaving the others blocked in a collective."""
    global _world
    op = "init_process_group"
    if _world is not None:
        raise DistError(f"{op}: the default process group is already initialized (destroy_process_group() first)")
    if init_method not in (None, "env://"):
        raise ValueError(f"{op}: init_method {init_method!r} is not supported; use 'env://' (the environment's "
                         "RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT, or mpiexec's)")
    if store is not None:
        raise ValueError(f"{op}: store is not supported; ranks meet through mpiexec or MASTER_ADDR/MASTER_PORT")
    if backend is None:
        from pydl import cuda
        backend = "nccl" if cuda.is_available() else "mpi"
    backend = str(backend).lower()
    if backend not in _BACKENDS:
        raise ValueError(f"{op}: backend should be 'mpi' or 'nccl', got {backend!r}")
    seconds = _seconds(timeout, op)
    if world_size != -1 or rank != -1:
        _check_explicit(world_size, rank, op)
    if backend == "mpi":
        from pydl.distributed.mpi import ProcessGroupMPI
        group = ProcessGroupMPI(seconds)
        launched = env.from_env(op)
        if launched is not None and launched[1] != group.size:
            group.shutdown()
            raise DistError(f"{op}: WORLD_SIZE is {launched[1]} but MPI sees {group.size} process(es): the mpi backend "
                            "needs its ranks started by mpiexec (python -m pydl.distributed.run --backend mpi ...)")
    else:
        from pydl.distributed.nccl import ProcessGroupNCCL
        group = ProcessGroupNCCL(seconds, device_id)
    if world_size not in (-1, group.size) or rank not in (-1, group.rank):
        group.shutdown()
        raise ValueError(f"{op}: asked for rank {rank} of {world_size}, the launcher made this rank {group.rank} "
                         f"of {group.size}")
    _world = group
    _install_abort_hook()


def _seconds(timeout, op):
    if timeout is None:
        env_value = os.environ.get("PYDL_DIST_TIMEOUT")
        return float(env_value) if env_value else 1800.0
    seconds = timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else float(timeout)
    if not seconds > 0:
        raise ValueError(f"{op}: timeout should be positive, got {timeout!r}")
    return seconds


def _check_explicit(world_size, rank, op):
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"{op}: expected 0 <= rank < world_size, got rank={rank}, world_size={world_size}")


def _install_abort_hook():
    """An uncaught exception prints its traceback, then aborts the whole job."""
    global _previous_excepthook
    _previous_excepthook = sys.excepthook

    def abort_job(exc_type, exc, tb):
        group = _world
        try:
            _previous_excepthook(exc_type, exc, tb)
            if group is not None and group.size > 1:
                print(f"pydl.distributed: rank {group.rank} raised {exc_type.__name__}; aborting the job",
                      file=sys.stderr, flush=True)
                time.sleep(0.25)  # lets mpiexec forward the traceback before it tears the job down
        finally:
            if group is not None and group.size > 1:
                group.abort(1)
    sys.excepthook = abort_job


def _uninstall_abort_hook():
    global _previous_excepthook
    if _previous_excepthook is not None:
        sys.excepthook = _previous_excepthook
        _previous_excepthook = None


def default_group(op):
    if _world is None:
        raise DistError(f"{op}: the default process group has not been initialized; call init_process_group() first")
    return _world


def destroy_process_group(group=None):
    """Leaves the job: frees the communicators and restores the exception hook."""
    global _world
    if _world is None:
        raise DistError("destroy_process_group: the default process group has not been initialized")
    world, _world = _world, None
    _uninstall_abort_hook()
    world.shutdown()


def is_initialized():
    return _world is not None


def is_available():
    """pydl.distributed is always importable; the backends need their extras (is_mpi_available, is_nccl_available)."""
    return True


def is_mpi_available():
    try:
        import mpi4py.MPI  # noqa: F401
    except ImportError:
        return False
    return True


def is_nccl_available():
    from pydl.distributed import nccl_library
    return nccl_library.find() is not None


def get_backend(group=None):
    return default_group("get_backend").backend


def get_rank(group=None):
    return default_group("get_rank").rank


def get_world_size(group=None):
    return default_group("get_world_size").size


def get_local_rank():
    """This process's index among the ranks on its machine."""
    return default_group("get_local_rank").local_rank


def launched_ranks(op):
    """(rank, world_size, local_rank, how): how is "mpiexec", "env" or "single"."""
    if env.under_mpiexec() and env.from_env(op) is None:
        return None, None, None, "mpiexec"
    found = env.from_env(op)
    if found is not None:
        return (*found, "env")
    return 0, 1, 0, "single"
