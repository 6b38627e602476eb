"""``pydl.nn.parallel``: DistributedDataParallel (data-parallel training over pydl.distributed)."""
from pydl.nn.parallel.distributed import DistributedDataParallel

DDP = DistributedDataParallel

__all__ = ["DistributedDataParallel"]
