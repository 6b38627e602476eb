"""Reference models for 1x28x28 digits: LeNet-5 (ReLU, max-pooling) and a small ResNet."""
from pydl.nn.activation import ReLU
from pydl.nn.container import Sequential
from pydl.nn.conv import Conv2d
from pydl.nn.flatten import Flatten
from pydl.nn.linear import Linear
from pydl.nn.norm import BatchNorm2d
from pydl.nn.pooling import AdaptiveAvgPool2d, MaxPool2d
from pydl.nn.residual import BasicBlock


def lenet5(classes=10):
    return Sequential(
        Conv2d(1, 6, 5, padding=2), ReLU(), MaxPool2d(2),
        Conv2d(6, 16, 5), ReLU(), MaxPool2d(2),
        Flatten(),
        Linear(16 * 5 * 5, 120), ReLU(),
        Linear(120, 84), ReLU(),
        Linear(84, classes),
    )


def resnet_small(classes=10, width=16, in_channels=1):
    """A 3x3 stem, three BasicBlocks (width, 2 width stride 2, 4 width stride 2: 28 -> 14 -> 7),
    global average pooling and a linear classifier."""
    return Sequential(
        Conv2d(in_channels, width, 3, padding=1, bias=False), BatchNorm2d(width), ReLU(),
        BasicBlock(width, width),
        BasicBlock(width, 2 * width, stride=2),
        BasicBlock(2 * width, 4 * width, stride=2),
        AdaptiveAvgPool2d(1), Flatten(),
        Linear(4 * width, classes),
    )
