"""``DistributedSampler``: each rank's share of a dataset, as torch.utils.data.DistributedSampler.

The shuffled order is PyTorch's own: ``torch.randperm(n)`` under a generator seeded with
seed + epoch (a Mersenne Twister's 32-bit draws, swapped Fisher-Yates style), so a pydl job and a
PyTorch job with the same seed, epoch and world size read the same indices on each rank."""
import math
import numbers

import numpy as np

from pydl.data.dataloader import Sampler

__all__ = ["DistributedSampler"]


def torch_randperm(n, seed):
    """torch.randperm(n, generator=torch.Generator().manual_seed(seed)) on the CPU, for n < 2**32 / 20."""
    draws = np.random.RandomState(seed & 0xFFFFFFFF).randint(0, 2 ** 32, size=max(n - 1, 0), dtype=np.uint32)
    picks = (draws.astype(np.int64) % np.arange(n, 1, -1, dtype=np.int64)).tolist()
    order = list(range(n))
    for i, z in enumerate(picks):
        j = i + z
        order[i], order[j] = order[j], order[i]
    return order


class DistributedSampler(Sampler):
    """Rank ``rank``'s indices out of ``num_replicas`` (by default, the process group's): the epoch's
    order (shuffled from seed + epoch, the same on every rank; call ``set_epoch`` each epoch),
    padded by repeating its start so that every rank gets ``ceil(n / num_replicas)`` (or, with
    drop_last, cut to ``floor(n / num_replicas)`` each), then every num_replicas-th from ``rank``."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            from pydl import distributed as dist
            if not dist.is_initialized():
                raise RuntimeError("DistributedSampler: num_replicas and rank default to the process group's, and "
                                   "none is initialized (init_process_group() first, or pass both)")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        for name, v in (("num_replicas", num_replicas), ("rank", rank), ("seed", seed)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise TypeError(f"DistributedSampler: {name} should be an int, got {type(v).__name__}")
        if num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas should be positive, got {num_replicas}")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        """Sets the epoch that seeds the next shuffle (the same on every rank)."""
        self.epoch = epoch

    def __len__(self):
        return self.num_samples

    def _order(self):
        n = len(self.dataset)
        indices = torch_randperm(n, self.seed + self.epoch) if self.shuffle else list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[:self.total_size]
        return np.asarray(indices[self.rank:self.total_size:self.num_replicas], dtype=np.int64)

    def __iter__(self):
        return iter(self._order().tolist())
