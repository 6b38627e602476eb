"""A convolutional autoencoder on the bundled MNIST digits: the encoder squeezes each digit through
strided convolutions into a 32-number code, the decoder rebuilds it with transposed convolutions;
trained on the pixels' mean squared error. Saves a grid of digits over their reconstructions (PNG,
with matplotlib) and the weights.

    python examples/autoencoder.py [--epochs 10] [--lr 0.002] [--device cpu] [--out runs]
"""
import argparse
import os
import time

import pydl
from pydl import nn, optim
from pydl.data import DataLoader, random_split
from pydl.data.datasets import mnist_5k


def autoencoder(code=32):
    encoder = nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),   # 16 x 14 x 14
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),  # 32 x 7 x 7
        nn.Flatten(), nn.Linear(32 * 7 * 7, code))
    decoder = nn.Sequential(
        nn.Linear(code, 32 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (32, 7, 7)),
        nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1), nn.ReLU(),  # 16 x 14 x 14
        nn.ConvTranspose2d(16, 1, 4, stride=2, padding=1), nn.Sigmoid())  # 1 x 28 x 28
    return nn.Sequential(encoder, decoder)


def mean_loss(model, loader, device, optimizer=None):
    model.train(optimizer is not None)
    total, count = 0.0, 0
    with pydl.set_grad_enabled(optimizer is not None):
        for x, _ in loader:
            x = x.to(device)
            loss = nn.functional.mse_loss(model(x), x)
            if optimizer is not None:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            total += loss.item() * x.shape[0]
            count += x.shape[0]
    return total / count


def save_grid(model, images, path):
    """The digits (top row) over their reconstructions (bottom row)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no reconstruction grid: matplotlib is not installed (pip install 'pydl[plot]')")
        return
    with pydl.no_grad():
        rebuilt = model.eval()(images).cpu().numpy()
    originals = images.cpu().numpy()
    n = originals.shape[0]
    fig, axes = plt.subplots(2, n, figsize=(n, 2.2))
    for i in range(n):
        for row, source in enumerate((originals, rebuilt)):
            axes[row, i].imshow(source[i, 0], cmap="gray", vmin=0, vmax=1)
            axes[row, i].axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    print(f"reconstructions: {path}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.002)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs")
    args = p.parse_args()
    pydl.manual_seed(args.seed)
    train_set, val_set = random_split(mnist_5k(), [0.8, 0.2], generator=args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=args.seed)
    val_loader = DataLoader(val_set, batch_size=500)
    model = autoencoder().to(args.device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        train_loss = mean_loss(model, train_loader, args.device, optimizer)
        val_loss = mean_loss(model, val_loader, args.device)
        print(f"epoch {epoch:2d}  train mse {train_loss:.5f}  val mse {val_loss:.5f}")
    print(f"{time.perf_counter() - start:.1f} s")
    os.makedirs(args.out, exist_ok=True)
    pydl.save(model.state_dict(), os.path.join(args.out, "autoencoder.safetensors"))
    images = pydl.stack([val_set[i][0] for i in range(10)]).to(args.device)
    save_grid(model, images, os.path.join(args.out, "autoencoder_reconstructions.png"))


if __name__ == "__main__":
    main()
