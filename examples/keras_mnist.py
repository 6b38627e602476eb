"""Keras's beginner MNIST example on pydl.keras: Sequential, compile, fit, evaluate on the bundled digits.

    python examples/keras_mnist.py [--model mlp|cnn] [--epochs 10] [--batch-size 32] [--device cpu]

The MLP (784-128-10 with dropout) reaches about 91% test accuracy (94% on its validation split) in 10
epochs on this small set, under 3 seconds on 2 cores; --model cnn trains two small convolutions
(channels_last, as Keras) instead (about 89% after 2 epochs).
"""
import argparse
import os
import time

import numpy as np

import pydl
from pydl import keras
from pydl.data.datasets import load_mnist_5k
from pydl.keras import layers


def build(kind):
    if kind == "cnn":
        return keras.Sequential([
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(8, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(10),
        ], name="cnn")
    return keras.Sequential([
        keras.Input(shape=(28, 28)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(10),
    ], name="mlp")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs", help="folder for the weights")
    p.add_argument("--no-progress", action="store_true", help="one line per epoch instead of progress bars")
    args = p.parse_args()

    pydl.manual_seed(args.seed)
    images, labels = load_mnist_5k()
    x, y = images.numpy().astype("float32") / 255.0, labels.numpy()
    if args.model == "cnn":
        x = x[..., None]  # (N, 28, 28, 1): channels last
    order = np.random.default_rng(args.seed).permutation(len(x))
    x, y = x[order], y[order]
    x_train, y_train, x_test, y_test = x[:4000], y[:4000], x[4000:], y[4000:]

    model = build(args.model)
    model.to(args.device)
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.summary()
    start = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, validation_split=0.2,
                        verbose=2 if args.no_progress else 1,
                        callbacks=[keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)])
    for epoch, acc in enumerate(history.history["val_accuracy"], 1):
        print(f"epoch {epoch}: val accuracy {acc:.2%}")
    test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"test loss {test_loss:.4f}, test accuracy {test_acc:.2%}, {time.perf_counter() - start:.1f} s")

    probabilities = keras.Sequential([model, layers.Activation("softmax")])
    print("first test digits:", y_test[:8].tolist(), "predicted:",
          probabilities.predict(x_test[:8], verbose=0).argmax(axis=1).tolist())
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"keras_{args.model}.weights.safetensors")
    model.save_weights(path)
    print(f"weights: {path}")


if __name__ == "__main__":
    main()
