"""Train LeNet-5 on the bundled MNIST digits (or full MNIST with --data).

    python examples/train_cnn.py [--epochs 15] [--batch-size 32] [--optimizer sgd] [--lr 0.02] [--device cpu]
"""
from common import parse_args, train

from pydl import nn


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def main():
    args = parse_args(__doc__.splitlines()[0], epochs=15, lr=0.02, batch_size=32)
    train(lenet5(), args, "lenet5")


if __name__ == "__main__":
    main()
