"""Where this process sits in the job, read from the launcher's environment.

``python -m pydl.distributed.run`` and torchrun set RANK, WORLD_SIZE, LOCAL_RANK (and MASTER_ADDR,
MASTER_PORT); MPICH's and Open MPI's mpiexec set their own variables, which name an MPI job.
"""
import os

_MPI_RANK_VARS = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "MPI_LOCALRANKID")


def under_mpiexec():
    """Whether mpiexec started this process (MPI then knows the ranks)."""
    return any(v in os.environ for v in _MPI_RANK_VARS)


def _int(name, op):
    text = os.environ[name]
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{op}: the environment variable {name} should be an integer, got {text!r}") from None


def from_env(op="init_process_group"):
    """(rank, world_size, local_rank) from RANK/WORLD_SIZE/LOCAL_RANK, or None when they are unset."""
    if "RANK" not in os.environ and "WORLD_SIZE" not in os.environ:
        return None
    missing = [v for v in ("RANK", "WORLD_SIZE") if v not in os.environ]
    if missing:
        raise ValueError(f"{op}: RANK and WORLD_SIZE go together; {', '.join(missing)} is not set")
    rank, world = _int("RANK", op), _int("WORLD_SIZE", op)
    local = _int("LOCAL_RANK", op) if "LOCAL_RANK" in os.environ else rank
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"{op}: expected 0 <= RANK < WORLD_SIZE, got RANK={rank}, WORLD_SIZE={world}")
    return rank, world, local


def master_address(op="init_process_group"):
    """MASTER_ADDR:MASTER_PORT, as NCCL_COMM_ID spells an address."""
    missing = [v for v in ("MASTER_ADDR", "MASTER_PORT") if v not in os.environ]
    if missing:
        raise ValueError(f"{op}: with RANK and WORLD_SIZE set and no mpiexec, the ranks meet at "
                         f"MASTER_ADDR:MASTER_PORT (or NCCL_COMM_ID); {' and '.join(missing)} not set")
    return f"{os.environ['MASTER_ADDR']}:{_int('MASTER_PORT', op)}"
