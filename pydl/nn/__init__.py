"""``pydl.nn``: layers, containers, losses and initializers with torch.nn's names."""
from pydl._missing import module_getattr as _module_getattr
from pydl.nn import functional, init  # noqa: F401
from pydl.nn import activation
from pydl.nn.activation import *  # noqa: F401,F403  (ReLU, Tanh, GELU, Softmax, ...)
from pydl.nn.container import ModuleDict, ModuleList, Sequential
from pydl.nn.conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d
from pydl.nn.fold import Fold, Unfold
from pydl.nn.dropout import Dropout
from pydl.nn.embedding import Embedding
from pydl.nn.flatten import Flatten, Unflatten
from pydl.nn.linear import Identity, Linear
from pydl.nn.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from pydl.nn.module import Module, Parameter
from pydl.nn.norm import BatchNorm1d, BatchNorm2d, LayerNorm
from pydl.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from pydl.nn.residual import BasicBlock, Residual
from pydl.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from pydl.nn import models, parallel, utils  # noqa: F401

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "Linear", "Identity", "Conv1d", "Conv2d", "Conv3d",
    "ConvTranspose1d", "ConvTranspose2d", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Embedding", "Fold", "Unfold",
    "Dropout", "Flatten", "Unflatten", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "MaxPool2d", "AvgPool2d",
    "AdaptiveAvgPool2d", "Residual",
    "BasicBlock", "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss", "functional",
    "init", "parallel", "utils",
] + activation.__all__

__getattr__ = _module_getattr("pydl.nn")
