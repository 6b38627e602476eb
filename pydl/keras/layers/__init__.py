"""pydl.keras.layers: Keras's layers over pydl's kernels."""
from pydl.keras.layers.convolutional import Conv2D
from pydl.keras.layers.core import (Activation, Add, Concatenate, Dense, Dropout, Flatten, LeakyReLU, ReLU, Reshape,
                                    Softmax)
from pydl.keras.layers.input_layer import Input, InputLayer
from pydl.keras.layers.layer import Layer, Variable
from pydl.keras.layers.normalization import BatchNormalization
from pydl.keras.layers.pooling import (AveragePooling2D, AvgPool2D, GlobalAveragePooling2D, GlobalMaxPooling2D,
                                       MaxPool2D, MaxPooling2D)

Convolution2D = Conv2D

__all__ = ["Activation", "Add", "AveragePooling2D", "AvgPool2D", "BatchNormalization", "Concatenate", "Conv2D",
           "Convolution2D", "Dense", "Dropout", "Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Input",
           "InputLayer", "Layer", "LeakyReLU", "MaxPool2D", "MaxPooling2D", "ReLU", "Reshape", "Softmax", "Variable"]
