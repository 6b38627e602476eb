"""Train the MLP 784-100-10 data-parallel: each rank reads its share of every batch
(DistributedSampler), DistributedDataParallel averages the gradients during backward.

    pip install ".[distributed]"
    python -m pydl.distributed.run --nproc-per-node 2 examples/train_ddp.py [--epochs 5]

--batch-size is the global batch (split between the ranks), so any number of ranks takes the same
steps. On GPUs (pip install ".[nccl]"): --backend nccl, one GPU per rank.
"""
import argparse
import os

import pydl
import pydl.distributed as dist
from pydl import nn, optim
from pydl.data import DataLoader, DistributedSampler, random_split
from pydl.data.datasets import mnist_5k
from pydl.nn.parallel import DistributedDataParallel as DDP


def evaluate(model, loader, device):
    """(correct, seen) on this rank's share of the validation set."""
    correct = seen = 0
    model.eval()
    with pydl.no_grad():
        for x, y in loader:
            correct += (model(x.to(device)).argmax(dim=1) == y.to(device)).sum().item()
            seen += len(y)
    return correct, seen


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("mpi", "nccl"), default="mpi")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64, help="global batch size")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs")
    args = p.parse_args()

    dist.init_process_group(args.backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    device = f"cuda:{dist.get_local_rank() % pydl.cuda.device_count()}" if args.backend == "nccl" else "cpu"
    if args.batch_size % world:
        raise SystemExit(f"--batch-size {args.batch_size} does not split between {world} ranks")
    pydl.manual_seed(args.seed)
    train_set, val_set = random_split(mnist_5k(), [0.8, 0.2], generator=args.seed)
    sampler = DistributedSampler(train_set, seed=args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size // world, sampler=sampler)
    val_loader = DataLoader(val_set, batch_size=256, sampler=DistributedSampler(val_set, shuffle=False))

    model = DDP(nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10)).to(device))
    opt = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        model.train()
        for x, y in train_loader:
            opt.zero_grad()
            loss_fn(model(x.to(device)), y.to(device)).backward()
            opt.step()
        counts = pydl.tensor(list(evaluate(model, val_loader, device)), device=device)
        dist.all_reduce(counts)
        if rank == 0:
            correct, seen = counts.tolist()
            print(f"epoch {epoch + 1}: validation accuracy {100 * correct / seen:.2f}% ({world} ranks)", flush=True)
    if rank == 0:
        os.makedirs(args.out, exist_ok=True)
        pydl.save(model.module.state_dict(), os.path.join(args.out, "mlp_ddp.safetensors"))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
