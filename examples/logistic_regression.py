"""Softmax regression on the bundled MNIST digits, written with pydl's autograd alone.

    python examples/logistic_regression.py [--epochs 10] [--lr 0.5] [--batch-size 100]

A stable cross-entropy from primitives (log-sum-exp), minibatch SGD, and the
validation accuracy per epoch (about 88-90% after 10 epochs on this small set).
"""
import argparse
import time

import pydl
from pydl.data.datasets import load_mnist_5k


def cross_entropy(logits, labels):
    top = logits.max(dim=1, keepdim=True).values.detach()
    log_sum_exp = (logits - top).exp().sum(dim=1, keepdim=True).log() + top
    picked = logits[pydl.arange(logits.shape[0]), labels]
    return (log_sum_exp.squeeze(1) - picked).mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    pydl.manual_seed(args.seed)
    images, labels = load_mnist_5k()
    x = images.reshape(-1, 28 * 28).float() / 255.0
    order = pydl.randperm(x.shape[0])
    x, labels = x[order], labels[order]
    x_train, y_train, x_val, y_val = x[:4000], labels[:4000], x[4000:], labels[4000:]

    w = (pydl.randn(784, 10) * 0.01).requires_grad_()
    b = pydl.zeros(10, requires_grad=True)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        perm = pydl.randperm(x_train.shape[0])
        total = 0.0
        for i in range(0, x_train.shape[0], args.batch_size):
            idx = perm[i:i + args.batch_size]
            loss = cross_entropy(x_train[idx] @ w + b, y_train[idx])
            w.grad = b.grad = None
            loss.backward()
            with pydl.no_grad():
                w -= args.lr * w.grad
                b -= args.lr * b.grad
            total += loss.item() * idx.shape[0]
        with pydl.no_grad():
            accuracy = ((x_val @ w + b).argmax(dim=1) == y_val).float().mean().item()
        print(f"epoch {epoch:2d}  train loss {total / x_train.shape[0]:.4f}  val accuracy {accuracy:.2%}")
    print(f"done in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
