"""Experiment 3: an over-parameterized MLP on a small slice of the digits, without and with L2
weight decay, L1, dropout (p = 0.2, 0.5), early stopping and batch-norm: train/validation curves."""
from functools import partial

from pydl import optim

from pydl.lab.models import mlp
from pydl.lab.plots import Figure, Panel
from pydl.lab.report import Section, Table, num, pct, standard_error
from pydl.lab.train import RunSpec

KEY = "regularization"
TITLE = "3. Regularization"
LR, MOMENTUM = 0.05, 0.9
L2 = 5e-3
L1 = 2e-5


def _variants(settings):
    w, p = settings.reg_width, settings.patience
    net = partial(mlp, [w, w], "relu")
    sgd = partial(optim.SGD, lr=LR, momentum=MOMENTUM)
    return [
        ("none", dict(build=net, optimizer=sgd)),
        (f"L2 (weight decay {L2:g})", dict(build=net, optimizer=partial(sgd, weight_decay=L2))),
        (f"L1 ({L1:g}·Σ|w|)", dict(build=net, optimizer=sgd, l1=L1)),
        ("dropout p=0.2", dict(build=partial(net, dropout=0.2), optimizer=sgd)),
        ("dropout p=0.5", dict(build=partial(net, dropout=0.5), optimizer=sgd)),
        (f"early stopping (patience {p})", dict(build=net, optimizer=sgd, patience=p)),
        ("batch-norm", dict(build=partial(net, batch_norm=True), optimizer=sgd)),
    ]


def epochs(settings):
    return len(_variants(settings)) * settings.regularization.epochs


def run(lab):
    s, b = lab.settings, lab.settings.regularization
    runs = {name: lab.train(KEY, RunSpec(f"reg-{name}", epochs=b.epochs, batch_size=b.batch_size,
                                         train_size=b.train_size, **kw))
            for name, kw in _variants(s)}
    n = min(b.train_size or lab.data.n_train, lab.data.n_train)
    section = Section(KEY, TITLE, [
        f"Over-parameterized MLP 784-{s.reg_width}-{s.reg_width}-10 (ReLU, "
        f"{runs['none'].params:,} parameters) trained on only {n:,} digits, so that it can memorize them.",
        f"SGD, learning rate {LR}, momentum {MOMENTUM}; {b.describe(lab.data.n_train)}. Train metrics are measured "
        f"in eval mode (no dropout) on the training slice, validation on all {lab.data.n_val:,} validation digits.",
        "Early stopping watches the validation loss and restores the best epoch's weights.",
    ], budget=b.describe(lab.data.n_train))
    section.tables.append(Table(
        ["method", "train acc", "val acc", "gap", "best val acc (epoch)", "final val loss", "min val loss"],
        [[name, pct(r.final["train_acc"]), pct(r.final["val_acc"]),
          f"{100 * (r.final['train_acc'] - r.final['val_acc']):.2f}",
          f"{pct(max(r.history['val_acc'][1:]))} ({_argmax(r.history['val_acc'])})",
          num(r.final["val_loss"]), num(min(r.history["val_loss"]))] for name, r in runs.items()],
        "Final metrics (gap = train − validation accuracy, in points)."))
    section.notes = _interpret(runs, lab.data.n_val)
    epochs_of = {name: r.history["epoch"] for name, r in runs.items()}
    section.figures.append(Figure("regularization_loss.png", "Cross-entropy per epoch on the training slice "
                                  "and on the validation digits (log scale).", [
        Panel(f"{split} loss", "epoch", "cross-entropy",
              [(name, epochs_of[name], r.history[f"{split}_loss"]) for name, r in runs.items()], logy=True)
        for split in ("train", "val")]))
    section.figures.append(Figure("regularization_acc.png", "Accuracy per epoch on the training slice and on "
                                  "the validation digits.", [
        Panel(f"{split} accuracy", "epoch", "accuracy",
              [(name, epochs_of[name], r.history[f"{split}_acc"]) for name, r in runs.items()])
        for split in ("train", "val")]))
    section.data = {name: r.to_json() for name, r in runs.items()}
    return section


def _argmax(values):
    return max(range(1, len(values)), key=lambda i: values[i])


def _interpret(runs, n_val):
    base = runs["none"]
    f, h = base.final, base.history
    lo = min(range(len(h["val_loss"])), key=lambda i: h["val_loss"][i])
    notes = [f"Without regularization the net reached {pct(f['train_acc'])} on its training slice but "
             f"{pct(f['val_acc'])} on validation (a gap of {100 * (f['train_acc'] - f['val_acc']):.1f} points); its "
             f"validation loss bottomed out at {num(h['val_loss'][lo])} in epoch {lo} and "
             + (f"rose to {num(f['val_loss'])} by the end: overfitting." if f["val_loss"] > 1.05 * h["val_loss"][lo]
                else f"ended at {num(f['val_loss'])}: little sign of overfitting in this budget.")]
    others = {k: r for k, r in runs.items() if k != "none"}
    delta = {k: r.final["val_acc"] - f["val_acc"] for k, r in others.items()}
    better = sorted((k for k in delta if delta[k] > 0), key=lambda k: -delta[k])
    worse = [k for k in delta if delta[k] <= 0]
    best = max(others, key=lambda k: others[k].final["val_acc"])
    gap = {k: r.final["train_acc"] - r.final["val_acc"] for k, r in runs.items()}
    narrow = min(gap, key=gap.get)
    notes.append(("Validation accuracy improved over no regularization with " +
                  ", ".join(f"{k} (+{100 * delta[k]:.2f})" for k in better) + "; " if better else
                  "No method beat no regularization on validation accuracy; ")
                 + (f"not with {', '.join(worse)}. " if worse else "")
                 + f"The best was {best} ({pct(others[best].final['val_acc'])}); the smallest train-validation gap "
                 f"was {narrow}'s ({100 * gap[narrow]:.1f} points). One standard error on {n_val:,} validation "
                 f"digits is about {standard_error(f['val_acc'], n_val):.1f} points, so smaller differences are "
                 "noise.")
    low = min(runs, key=lambda k: runs[k].final["val_loss"])
    notes.append(f"The lowest final validation loss was {low}'s ({num(runs[low].final['val_loss'])}, none: "
                 f"{num(f['val_loss'])}).")
    stop = next(r for k, r in others.items() if k.startswith("early"))
    notes.append("Early stopping " + (f"stopped after epoch {stop.stopped_epoch}" if stop.stopped_epoch else
                                       "never triggered") + f" and kept epoch {stop.best_epoch}'s weights.")
    return notes
