"""The lab's models: MLPs (any depth, activation, dropout, batch-norm), the weight
initialization schemes compared in experiment 2, and LeNet-5."""
import math

from pydl import nn
from pydl.nn import init
from pydl.nn.models import lenet5  # noqa: F401  (the lab's CNN)

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}


def mlp(hidden, activation="relu", dropout=0.0, batch_norm=False, inputs=784, classes=10):
    """Flatten, then per hidden width: Linear [BatchNorm1d] activation [Dropout]; a Linear to the
    class logits (the softmax lives in the cross-entropy loss)."""
    layers, width = [nn.Flatten()], inputs
    for h in hidden:
        layers.append(nn.Linear(width, h))
        if batch_norm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(ACTIVATIONS[activation]())
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, classes))
    return nn.Sequential(*layers)


def linear_layers(model):
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


INIT_SCHEMES = {
    "zero": "all weights 0",
    "normal": "N(0, 1)",
    "random": "N(0, 1/n_in)",
    "xavier": "Xavier normal, N(0, 2/(n_in+n_out))",
    "kaiming": "Kaiming normal, N(0, gain²/n_in), gain for the activation",
}


def initialize(model, scheme, activation):
    """Re-initializes every Linear weight with ``scheme``; biases start at 0."""
    for layer in linear_layers(model):
        w, fan_in = layer.weight, layer.weight.shape[1]
        if scheme == "zero":
            init.zeros_(w)
        elif scheme == "normal":
            init.normal_(w, 0.0, 1.0)
        elif scheme == "random":
            init.normal_(w, 0.0, 1.0 / math.sqrt(fan_in))
        elif scheme == "xavier":
            init.xavier_normal_(w)
        elif scheme == "kaiming":
            init.kaiming_normal_(w, nonlinearity=activation)
        else:
            raise ValueError(f"initialize: unknown scheme '{scheme}' (expected one of {sorted(INIT_SCHEMES)})")
        init.zeros_(layer.bias)
    return model


def distinct_units(layer, decimals=6):
    """How many different weight rows (hidden units) a Linear layer has: 1 when symmetric."""
    rows = layer.weight.detach().cpu().numpy().round(decimals)
    return len({r.tobytes() for r in rows})
