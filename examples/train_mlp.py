"""Train an MLP 784-100-10 (ReLU) on the bundled MNIST digits (or full MNIST with --data).

    python examples/train_mlp.py [--epochs 20] [--optimizer sgd] [--lr 0.05] [--device cpu]
"""
from common import parse_args, train

from pydl import nn


def main():
    args = parse_args(__doc__.splitlines()[0], epochs=20, lr=0.05)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))
    train(model, args, "mlp")


if __name__ == "__main__":
    main()
