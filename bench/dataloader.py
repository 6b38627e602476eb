"""DataLoader worker processes feeding a LeNet-5 training step: the bundled digits with a per-sample
random transform (a shift and noise per image, as a torchvision pipeline applies them), batch 64,
timed per batch over epochs of the first --samples digits, with 0 workers (loading in the main
process) and with persistent worker processes (started before the first timed epoch).
speed-up = the 0-worker time / this time (above 1: the workers help).

    python bench/dataloader.py [--workers 0,1,2] [--samples 2560] [--rounds 3] [--save]
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import pydl  # noqa: E402
from pydl.data import DataLoader, Dataset, Subset  # noqa: E402
from pydl.data import transforms as T  # noqa: E402
from pydl.data.datasets import mnist_5k  # noqa: E402
from train_step import lenet5  # noqa: E402


class ShiftedDigits(Dataset):
    """Each digit shifted by up to 2 pixels and noised, one image at a time."""

    def __init__(self, samples):
        self.digits = Subset(mnist_5k(), range(samples))
        self.transform = T.Compose([T.RandomShift(2), T.GaussianNoise(0.1)])

    def __len__(self):
        return len(self.digits)

    def __getitem__(self, i):
        image, label = self.digits[i]
        return self.transform(image), label


def time_epochs(workers, samples, rounds):
    model = lenet5(pydl.nn)
    opt = pydl.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = pydl.nn.CrossEntropyLoss()
    loader = DataLoader(ShiftedDigits(samples), batch_size=64, shuffle=True, generator=0, num_workers=workers,
                        persistent_workers=workers > 0, timeout=120 if workers else 0)
    times = []
    for _ in range(rounds + 1):  # the first epoch starts the workers and warms up
        start = time.perf_counter()
        for x, y in loader:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
        times.append((time.perf_counter() - start) / len(loader))
    if loader._pool is not None:
        loader._pool.close()
    return times[1:]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", default="0,1,2")
    p.add_argument("--samples", type=int, default=2560)
    p.add_argument("--rounds", type=int, default=3)
    _common.add_save_option(p)
    args = p.parse_args()
    rows = []
    for w in [int(v) for v in args.workers.split(",")]:
        t = time_epochs(w, args.samples, args.rounds)
        rows.append({"op": "lenet5 step fed by DataLoader", "workers": w, "threads": pydl.get_num_threads(),
                     "median_ms_per_batch": round(1e3 * float(np.median(t)), 2),
                     "max_ms_per_batch": round(1e3 * max(t), 2)})
    base = next((r["median_ms_per_batch"] for r in rows if r["workers"] == 0), None)
    for r in rows:
        r["speedup"] = round(base / r["median_ms_per_batch"], 2) if base else None
    _common.print_table(rows, [("workers", "workers", "d"), ("median_ms_per_batch", "ms / batch", ".2f"),
                               ("max_ms_per_batch", "max", ".2f"), ("speedup", "speed-up vs 0 workers", ".2f")],
                        title=f"{ShiftedDigits.__doc__} Batch 64, epochs of {args.samples} digits")
    _common.store_results("dataloader", rows, args.save)


if __name__ == "__main__":
    main()
