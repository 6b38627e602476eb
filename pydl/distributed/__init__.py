"""``pydl.distributed``: torch.distributed's API for data-parallel training on existing engines:
MPI (mpi4py, ``pip install "pydl[distributed]"``) for CPU tensors and NCCL (``pip install
"pydl[nccl]"``, loaded at run time) for CUDA tensors. Importing it needs neither.

Launch with ``python -m pydl.distributed.run --nproc-per-node N script.py args``."""
from pydl._missing import module_getattr as _module_getattr
from pydl.distributed.collectives import (all_gather, all_gather_into_tensor, all_reduce, barrier, broadcast,
                                          reduce_scatter, reduce_scatter_tensor)
from pydl.distributed.errors import DistBackendError, DistError
from pydl.distributed.group import (destroy_process_group, get_backend, get_local_rank, get_rank, get_world_size,
                                    init_process_group, is_available, is_initialized, is_mpi_available,
                                    is_nccl_available)
from pydl.distributed.reduce_op import ReduceOp
from pydl.distributed.work import Work

__all__ = ["DistBackendError", "DistError", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor", "all_reduce",
           "barrier", "broadcast", "destroy_process_group", "get_backend", "get_local_rank", "get_rank",
           "get_world_size", "init_process_group", "is_available", "is_initialized", "is_mpi_available",
           "is_nccl_available", "reduce_scatter", "reduce_scatter_tensor"]

__getattr__ = _module_getattr(__name__)
