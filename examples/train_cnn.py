"""Train LeNet-5 on the bundled MNIST digits (or full MNIST with --data).

    python examples/train_cnn.py [--epochs 15] [--batch-size 32] [--optimizer sgd] [--lr 0.02] [--device cpu]
"""
from common import parse_args, train

from pydl.nn.models import lenet5


def main():
    args = parse_args(__doc__.splitlines()[0], epochs=15, lr=0.02, batch_size=32)
    train(lenet5(), args, "lenet5")


if __name__ == "__main__":
    main()
