"""Experiment 5: LeNet-5 against the best MLP of experiments 1, 2 and 4 (the most accurate on
the validation digits among those trained on the same training digits)."""
from functools import partial

from pydl import optim

from pydl.lab.models import lenet5, mlp
from pydl.lab.plots import Figure, Panel
from pydl.lab.report import Section, Table, num, pct
from pydl.lab.train import RunSpec

KEY = "cnn"
TITLE = "5. CNN vs MLP"
LR, MOMENTUM = 0.01, 0.9
CANDIDATES = ("depth", "init", "optimizers")  # experiments whose MLPs see the same training digits


def epochs(settings):
    return settings.cnn.epochs  # LeNet-5; a fallback MLP (experiments 1, 2, 4 skipped) is off the bar


def _best_mlp(lab, train_size):
    pool = [r for key in CANDIDATES for r in lab.results.get(key, [])
            if not r.diverged and r.spec.train_size == train_size]
    return max(pool, key=lambda r: r.final["val_acc"]) if pool else None


def run(lab):
    b = lab.settings.cnn
    best = _best_mlp(lab, b.train_size)
    if best is None:  # experiments 1, 2 and 4 were not run: a plain 784-100-10 ReLU MLP
        best = lab.train(KEY, RunSpec("mlp-100", partial(mlp, [100], "relu"), partial(optim.SGD, lr=0.1),
                                      b.epochs, b.batch_size, b.train_size), progress=False)
        mlp_line = (f"MLP: experiments 1, 2 and 4 were not run, so a 784-100-10 ReLU MLP (SGD lr 0.1, batch "
                    f"{b.batch_size}, {b.epochs} epochs) was trained on the same digits.")
    else:
        mlp_line = (f"Best MLP: the most accurate MLP of experiments 1, 2 and 4 on the same training and validation "
                    f"digits (`{best.spec.name}`: {best.spec.epochs} epochs, batch {best.spec.batch_size}), "
                    "not retrained.")
    cnn_run = lab.train(KEY, RunSpec("lenet5", lenet5, partial(optim.SGD, lr=LR, momentum=MOMENTUM), b.epochs,
                                     b.batch_size, b.train_size))
    section = Section(KEY, TITLE, [
        "LeNet-5: conv 5×5 (6) → max-pool → conv 5×5 (16) → max-pool → 120 → 84 → 10, ReLU; "
        f"SGD lr {LR}, momentum {MOMENTUM}; {b.describe(lab.data.n_train)}.",
        mlp_line,
    ], budget=b.describe(lab.data.n_train))
    runs = [("LeNet-5", cnn_run), (f"best MLP ({best.spec.name})", best)]
    section.tables.append(Table(
        ["model", "parameters", "epochs", "train acc", "val acc", "val loss", "val errors"],
        [[name, f"{r.params:,}", r.spec.epochs, pct(r.final["train_acc"]), pct(r.final["val_acc"]),
          num(r.final["val_loss"]), round((1 - r.final["val_acc"]) * lab.data.n_val)] for name, r in runs]))
    c, m = cnn_run.final["val_acc"], best.final["val_acc"]
    section.notes = [
        f"LeNet-5 reached {pct(c)} against the best MLP's {pct(m)}: "
        + (f"{100 * (c - m):.2f} points better, {100 * (1 - (1 - c) / (1 - m)):.0f}% fewer validation errors"
           if c > m else f"{100 * (m - c):.2f} points worse in this budget" if c < m else "a tie")
        + f", with {cnn_run.params / best.params:.2g}× the MLP's parameters"
        + (f" and {cnn_run.spec.epochs} epochs to the MLP's {best.spec.epochs}." if cnn_run.spec.epochs !=
           best.spec.epochs else " and the same number of epochs.")
        + " Convolutions share weights across positions and see 2-d neighbourhoods, which an MLP on flattened "
        "pixels must learn from data." * (c > m)]
    section.figures.append(Figure("cnn_vs_mlp.png", "Validation accuracy and loss per epoch.", [
        Panel(f"validation {what}", "epoch", what,
              [(name, r.history["epoch"], r.history[f"val_{key}"]) for name, r in runs], logy=key == "loss")
        for what, key in (("accuracy", "acc"), ("cross-entropy", "loss"))]))
    section.data = {"lenet5": cnn_run.to_json(), "best_mlp": dict(best.to_json(), origin=best.spec.name)}
    return section
