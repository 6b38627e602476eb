"""Experiment 2: zero, N(0, 1), N(0, 1/n), Xavier and Kaiming initialization of a 3-hidden-layer
ReLU MLP and a tanh one: loss curves, final accuracy, and whether the hidden units stay identical."""
import numpy as np

from pydl import optim

from pydl.lab.models import INIT_SCHEMES, distinct_units, initialize, linear_layers, mlp
from pydl.lab.plots import Figure, Panel
from pydl.lab.report import Section, Table, num, pct
from pydl.lab.train import RunSpec

KEY = "init"
TITLE = "2. Initialization"
WIDTH = 100
ACTIVATIONS = ("relu", "tanh")
NAMES = {"relu": "ReLU", "tanh": "tanh"}
LR = 0.05


def epochs(settings):
    return len(INIT_SCHEMES) * len(ACTIVATIONS) * settings.init.epochs


def _builder(scheme, activation):
    return lambda: initialize(mlp([WIDTH] * 3, activation), scheme, activation)


def _sgd(params):
    return optim.SGD(params, lr=LR)


def run(lab):
    b = lab.settings.init
    runs = {act: {s: lab.train(KEY, RunSpec(f"init-{s}-{act}", _builder(s, act), _sgd, b.epochs, b.batch_size,
                                            b.train_size)) for s in INIT_SCHEMES} for act in ACTIVATIONS}
    section = Section(KEY, TITLE, [
        f"MLP 784-{WIDTH}-{WIDTH}-{WIDTH}-10, ReLU or tanh, every weight matrix drawn by the scheme and every "
        "bias 0: " + "; ".join(f"{k} = {v}" for k, v in INIT_SCHEMES.items()) + ".",
        f"Plain SGD, learning rate {LR}, cross-entropy; {b.describe(lab.data.n_train)}.",
        "Distinct units: how many of the first hidden layer's weight rows differ after training "
        f"({WIDTH} means symmetry was broken, 1 means every unit computes the same thing).",
    ], budget=b.describe(lab.data.n_train))
    for act in ACTIVATIONS:
        section.tables.append(Table(
            ["init", "initial val loss", "final train loss", "train acc", "val acc", "distinct units"],
            [[s, num(r.history["val_loss"][0]), num(r.final["train_loss"]), pct(r.final["train_acc"]),
              pct(r.final["val_acc"]) + (" (diverged)" if r.diverged else ""),
              "n/a (not finite)" if _units(r) is None else _units(r)] for s, r in runs[act].items()],
            f"{NAMES[act]} MLP"))
    section.notes = _interpret(runs)
    section.figures.append(Figure("init.png", "Training loss (cross-entropy on the training digits, log scale) "
                                  "per epoch for each initialization; epoch 0 is before training.", [
        Panel(f"{NAMES[act]} MLP", "epoch", "training loss",
              [(s, r.history["epoch"], r.history["train_loss"]) for s, r in runs[act].items()], logy=True)
        for act in ACTIVATIONS]))
    section.data = {act: {s: dict(r.to_json(), distinct_units=_units(r))
                          for s, r in runs[act].items()} for act in ACTIVATIONS}
    return section


def _units(result):
    """Distinct first-layer units, or None when the weights are no longer finite."""
    w = linear_layers(result.model)[0].weight.detach().cpu().numpy()
    return distinct_units(linear_layers(result.model)[0]) if np.isfinite(w).all() else None


def _interpret(runs):
    notes = []
    for act in ACTIVATIONS:
        r = runs[act]
        acc = {s: x.final["val_acc"] for s, x in r.items()}
        best = max(acc, key=acc.get)
        zero_units = _units(r["zero"])
        sym = ("zero init never broke the symmetry: all hidden units stayed identical"
               if zero_units == 1 else f"zero init left {zero_units} distinct units in layer 1")
        cmp = "worse" if acc["zero"] < acc["kaiming"] else "not worse"
        normal = r["normal"]
        notes.append(
            f"{NAMES[act]}: {sym}, and it reached {pct(acc['zero'])}, {cmp} than Kaiming ({pct(acc['kaiming'])}). "
            f"N(0, 1) started at a validation loss of {num(normal.history['val_loss'][0], 3)} (Kaiming: "
            f"{num(r['kaiming'].history['val_loss'][0], 3)})"
            + (" and diverged" if normal.diverged else f" and ended at {pct(acc['normal'])}")
            + f". The best scheme was {best} ({pct(acc[best])}).")
    return notes
