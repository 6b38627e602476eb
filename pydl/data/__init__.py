"""Data: datasets, samplers, the DataLoader (``torch.utils.data``'s API), transforms, and the
datasets shipped with pydl (``pydl.data.datasets``)."""
from pydl.data import datasets, transforms
from pydl.data.dataloader import (BatchSampler, DataLoader, RandomSampler, Sampler, SequentialSampler,
                                  SubsetRandomSampler, WeightedRandomSampler, default_collate, default_convert)
from pydl.data.distributed import DistributedSampler
from pydl.data.dataset import (CollatedBatch, ConcatDataset, Dataset, Generator, IterableDataset, Subset,
                               TensorDataset, random_split)
from pydl.data.workers import get_worker_info

__all__ = ["BatchSampler", "CollatedBatch", "ConcatDataset", "DataLoader", "Dataset", "DistributedSampler", "Generator",
           "IterableDataset", "RandomSampler", "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler",
           "TensorDataset", "WeightedRandomSampler", "datasets", "default_collate", "default_convert",
           "get_worker_info", "random_split", "transforms"]
