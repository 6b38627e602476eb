"""Reference models: LeNet-5 (ReLU, max-pooling) for 1x28x28 digits."""
from pydl.nn.activation import ReLU
from pydl.nn.container import Sequential
from pydl.nn.conv import Conv2d
from pydl.nn.flatten import Flatten
from pydl.nn.linear import Linear
from pydl.nn.pooling import MaxPool2d


def lenet5(classes=10):
    return Sequential(
        Conv2d(1, 6, 5, padding=2), ReLU(), MaxPool2d(2),
        Conv2d(6, 16, 5), ReLU(), MaxPool2d(2),
        Flatten(),
        Linear(16 * 5 * 5, 120), ReLU(),
        Linear(120, 84), ReLU(),
        Linear(84, classes),
    )
