"""Train a CNN on the bundled MNIST digits (or full MNIST with --data): LeNet-5 by default, or a
small ResNet of BasicBlocks with --model resnet.

    python examples/train_cnn.py [--model lenet5|resnet] [--epochs 15] [--batch-size 32] [--optimizer sgd]
                                 [--lr 0.02] [--device cpu]
"""
from common import parse_args, train

from pydl.nn.models import lenet5, resnet_small

MODELS = {"lenet5": lenet5, "resnet": resnet_small}


def main():
    args = parse_args(__doc__.splitlines()[0], epochs=15, lr=0.02, batch_size=32,
                      extra=lambda p: p.add_argument("--model", choices=sorted(MODELS), default="lenet5"))
    train(MODELS[args.model](), args, args.model)


if __name__ == "__main__":
    main()
