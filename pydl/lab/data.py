"""The lab's data: a seeded train/validation split of the bundled MNIST-5k (4,000 / 1,000) or of
full MNIST's training set (50,000 / 10,000, as Nielsen), held as device tensors."""
from dataclasses import dataclass

import pydl
from pydl.data import DataLoader, TensorDataset, random_split
from pydl.data.datasets import MNIST, mnist_5k


@dataclass
class LabData:
    source: str
    train_x: pydl.Tensor  # float32 (N, 1, 28, 28) in [0, 1]
    train_y: pydl.Tensor  # int64 (N,)
    val_x: pydl.Tensor
    val_y: pydl.Tensor

    @property
    def n_train(self):
        return self.train_x.shape[0]

    @property
    def n_val(self):
        return self.val_x.shape[0]

    def train_slice(self, size=None):
        """The first ``size`` digits of the (already shuffled) training split: (x, y)."""
        if size is None or size >= self.n_train:
            return self.train_x, self.train_y
        return self.train_x[:size], self.train_y[:size]

    def loader(self, size, batch_size, seed):
        x, y = self.train_slice(size)
        return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, generator=seed)

    def describe(self):
        return f"{self.source}: {self.n_train:,} training and {self.n_val:,} validation digits"


def load(path=None, device="cpu", seed=0):
    """The split for ``seed``: MNIST from ``path`` (IDX folder or .npz), else the bundled digits."""
    if path:
        full, source = MNIST(path, train=True), f"MNIST from {path}"
        n_val = 10_000 if len(full) >= 20_000 else len(full) // 5
    else:
        full, source = mnist_5k(), "bundled MNIST-5k (500 digits per class)"
        n_val = len(full) // 5
    train, val = random_split(full, [len(full) - n_val, n_val], generator=seed)

    def tensors(subset):
        idx = pydl.tensor(subset.indices, dtype=pydl.int64)
        images = full.data.index_select(0, idx).float() / 255.0
        x = images.reshape(images.shape[0], 1, images.shape[1], images.shape[2])
        return x.to(device), full.targets.index_select(0, idx).to(device)

    return LabData(source, *tensors(train), *tensors(val))
