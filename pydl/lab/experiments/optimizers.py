"""Experiment 4: SGD at a too-small, a good and a too-large learning rate; SGD with momentum,
Nesterov, Adagrad, Adadelta, RMSprop, Adam; step and exponential learning-rate decay."""
import math
from functools import partial

from pydl import optim
from pydl.optim import lr_scheduler

from pydl.lab.models import mlp
from pydl.lab.plots import Figure, Panel
from pydl.lab.report import Section, Table, num, pct
from pydl.lab.train import RunSpec

KEY = "optimizers"
TITLE = "4. Optimizers and learning rates"
HIDDEN = 100
SMALL, GOOD, LARGE = 0.002, 0.1, 5.0
DECAY_LR = 0.3
LOSS_TARGET = 0.5  # "steps to reach": first logged training loss below this


def _recipes(epochs):
    step = max(1, epochs // 3)
    return [  # (group, name, lr, optimizer factory, scheduler factory)
        ("lr", f"SGD lr={SMALL:g} (too small)", SMALL, partial(optim.SGD, lr=SMALL), None),
        ("lr", f"SGD lr={GOOD:g} (good)", GOOD, partial(optim.SGD, lr=GOOD), None),
        ("lr", f"SGD lr={LARGE:g} (too large)", LARGE, partial(optim.SGD, lr=LARGE), None),
        ("opt", "SGD+momentum 0.9", 0.01, partial(optim.SGD, lr=0.01, momentum=0.9), None),
        ("opt", "Nesterov 0.9", 0.01, partial(optim.SGD, lr=0.01, momentum=0.9, nesterov=True), None),
        ("opt", "Adagrad", 0.01, partial(optim.Adagrad, lr=0.01), None),
        ("opt", "Adadelta", 1.0, partial(optim.Adadelta, lr=1.0), None),
        ("opt", "RMSprop", 0.001, partial(optim.RMSprop, lr=0.001), None),
        ("opt", "Adam", 0.001, partial(optim.Adam, lr=0.001), None),
        ("decay", f"SGD lr={DECAY_LR:g}, constant", DECAY_LR, partial(optim.SGD, lr=DECAY_LR), None),
        ("decay", f"SGD lr={DECAY_LR:g}, step ×0.3 every {step}", DECAY_LR, partial(optim.SGD, lr=DECAY_LR),
         partial(lr_scheduler.StepLR, step_size=step, gamma=0.3)),
        ("decay", f"SGD lr={DECAY_LR:g}, exponential ×0.8", DECAY_LR, partial(optim.SGD, lr=DECAY_LR),
         partial(lr_scheduler.ExponentialLR, gamma=0.8)),
    ]


def epochs(settings):
    return len(_recipes(settings.optimizers.epochs)) * settings.optimizers.epochs


def run(lab):
    b = lab.settings.optimizers
    n = min(b.train_size or lab.data.n_train, lab.data.n_train)
    log_every = max(1, math.ceil(n / b.batch_size) // 6)
    recipes = _recipes(b.epochs)
    runs = [(group, lab.train(KEY, RunSpec(f"opt-{name}", partial(mlp, [HIDDEN], "relu"), make, b.epochs,
                                           b.batch_size, b.train_size, scheduler=sched, log_every=log_every)), lr)
            for group, name, lr, make, sched in recipes]
    section = Section(KEY, TITLE, [
        f"MLP 784-{HIDDEN}-10 (ReLU, default initialization), cross-entropy; {b.describe(lab.data.n_train)}.",
        "Each run starts from its own seeded initialization; LR schedules step once per epoch.",
        f"Training loss is logged as the mean over every {log_every} steps; \"steps to {LOSS_TARGET}\" is the first "
        f"logged point below {LOSS_TARGET}.",
    ], budget=b.describe(lab.data.n_train))
    rows = []
    for group, r, lr in runs:
        rows.append([r.spec.name[4:], f"{lr:g}", num(r.history["train_loss"][1] if len(r.history["train_loss"]) > 1
                                                     else float("nan")),
                     num(r.final["train_loss"]), pct(r.final["val_acc"]), _steps_to(r), _verdict(r)])
    section.tables.append(Table(["recipe", "lr", "train loss after epoch 1", "final train loss", "val acc",
                                 f"steps to {LOSS_TARGET}", "verdict"], rows,
                                f"\"diverged\": the loss became non-finite or ended no lower than it started; "
                                f"\"slow\": the final training loss is still above {LOSS_TARGET}; else "
                                "\"converged\"."))
    section.notes = _interpret(runs)
    section.figures.append(Figure("optimizers.png", "Training loss (log scale) against steps.", [
        Panel(title, "step", "training loss",
              [(r.spec.name[4:], [s for s, _ in r.steps], [v for _, v in r.steps]) for g, r, _ in runs if g == group],
              logy=True)
        for group, title in (("lr", "SGD learning rates"), ("opt", "optimizers"), ("decay", "learning-rate decay"))]))
    section.data = {r.spec.name[4:]: dict(r.to_json(), verdict=_verdict(r)) for _, r, _ in runs}
    return section


def _steps_to(r):
    return next((str(s) for s, v in r.steps if v < LOSS_TARGET), "not reached")


def _verdict(r):
    if r.diverged or not math.isfinite(r.final["train_loss"]) or r.final["train_loss"] >= r.history["train_loss"][0]:
        return "diverged"
    return "slow" if r.final["train_loss"] >= LOSS_TARGET else "converged"


def _interpret(runs):
    lrs = [r for g, r, _ in runs if g == "lr"]
    small, good, large = lrs
    verdicts = [_verdict(r) for r in lrs]
    notes = [f"SGD: lr={SMALL:g} ended at a training loss of {num(small.final['train_loss'])} ({verdicts[0]}), "
             f"lr={GOOD:g} at {num(good.final['train_loss'])} ({verdicts[1]}), lr={LARGE:g} "
             + (f"produced a non-finite loss ({verdicts[2]})" if large.diverged else
                f"at {num(large.final['train_loss'])} ({verdicts[2]})") + "."]
    opts = [r for g, r, _ in runs if g == "opt"]
    best = max(opts, key=lambda r: r.final["val_acc"])
    reached = [(int(_steps_to(r)), r.spec.name[4:]) for r in opts if _steps_to(r) != "not reached"]
    first = [name for steps, name in reached if reached and steps == min(reached)[0]]
    notes.append(f"Among the momentum and adaptive methods the best validation accuracy was {best.spec.name[4:]}'s "
                 f"({pct(best.final['val_acc'])}; plain SGD lr={GOOD:g}: {pct(good.final['val_acc'])})"
                 + (f"; {' and '.join(first)} got below a training loss of {LOSS_TARGET} first ({min(reached)[0]} "
                    f"steps; SGD lr={GOOD:g}: {_steps_to(good)})." if reached else
                    f"; none got below a loss of {LOSS_TARGET} in this budget."))
    const, step, expo = (r for g, r, _ in runs if g == "decay")
    for r in (step, expo):
        d = r.final["val_acc"] - const.final["val_acc"]
        notes.append(f"{r.spec.name[4:]}: {pct(r.final['val_acc'])}, {abs(100 * d):.2f} points "
                     f"{'above' if d > 0 else 'below' if d < 0 else 'level with'} the constant rate.")
    return notes
