"""Experiment 1, after Nielsen's table: sigmoid MLPs with 0-4 hidden layers of 30 units, the
gradient norm per layer before training (the vanishing gradient), then the same with ReLU."""
from functools import partial

from pydl import optim

from pydl.lab.models import mlp
from pydl.lab.plots import Figure, Panel
from pydl.lab.report import Section, Table, num, pct, standard_error
from pydl.lab.train import RunSpec

KEY = "depth"
TITLE = "1. Depth: is deeper better?"
DEPTHS = (0, 1, 2, 3, 4)
WIDTH = 30
ACTIVATIONS = ("sigmoid", "relu")
NAMES = {"sigmoid": "sigmoid", "relu": "ReLU"}
LR = 0.1


def epochs(settings):
    return len(DEPTHS) * len(ACTIVATIONS) * settings.depth.epochs


def _sgd(params):
    return optim.SGD(params, lr=LR)


def run(lab):
    b = lab.settings.depth
    runs = {act: [lab.train(KEY, RunSpec(f"{act}-{d}-hidden", partial(mlp, [WIDTH] * d, act), _sgd, b.epochs,
                                         b.batch_size, b.train_size, probe_gradients=True))
                  for d in DEPTHS] for act in ACTIVATIONS}
    acc = {act: [r.final["val_acc"] for r in runs[act]] for act in ACTIVATIONS}
    section = Section(KEY, TITLE, [
        f"MLPs 784-[{WIDTH}]×d-10 with d = {', '.join(map(str, DEPTHS))} hidden layers, sigmoid (then ReLU) "
        "hidden units, softmax output with cross-entropy, pydl's default (PyTorch) initialization.",
        f"Plain SGD, learning rate {LR}; {b.describe(lab.data.n_train)}.",
        "Gradient norms, as Nielsen: ‖δˡ‖ = ‖∂C/∂bˡ‖ of each layer (how fast it learns) on the first 1,000 "
        "training digits, before any update; ‖∂C/∂Wˡ‖ is in results.json.",
    ], budget=b.describe(lab.data.n_train))
    section.tables.append(Table(
        ["hidden layers", "parameters"] + [f"{NAMES[act]} val acc" for act in ACTIVATIONS] +
        [f"{NAMES[act]} train acc" for act in ACTIVATIONS],
        [[d, f"{runs['sigmoid'][i].params:,}"] +
         [pct(acc[act][i]) + (" (diverged)" if runs[act][i].diverged else "") for act in ACTIVATIONS] +
         [pct(runs[act][i].final["train_acc"]) for act in ACTIVATIONS] for i, d in enumerate(DEPTHS)],
        "Validation accuracy after training, by depth."))
    layers = max(DEPTHS) + 1
    section.tables.append(Table(
        ["net"] + [f"layer {i + 1}" for i in range(layers)] + ["first / last hidden"],
        [[f"{NAMES[act]}, {d} hidden"] + [num(g, 3) for g in _delta(r)] + [""] * (layers - d - 1) +
         [num(_ratio(r), 3) if d > 1 else "—"]
         for act in ACTIVATIONS for d, r in zip(DEPTHS, runs[act]) if d],
        "Gradient norm ‖δˡ‖ = ‖∂C/∂bˡ‖ per layer at the start of training (layer 1 is next to the input, "
        "the last layer is the output)."))
    section.notes = _interpret(runs, acc, lab.data.n_val)
    deepest = {act: _delta(runs[act][-1]) for act in ACTIVATIONS}
    section.figures.append(Figure("depth.png", "Validation accuracy by depth, and gradient norm per layer "
                                  "before training (log scale).", [
        Panel("validation accuracy", "hidden layers", "accuracy",
              [(NAMES[act], list(DEPTHS), acc[act]) for act in ACTIVATIONS], marker="o"),
        Panel("‖δ‖ per layer, sigmoid nets", "layer", "‖∂C/∂b‖",
              [(f"{d} hidden", list(range(1, d + 2)), _delta(r)) for d, r in zip(DEPTHS, runs["sigmoid"]) if d],
              logy=True, marker="o"),
        Panel(f"‖δ‖ per layer, {max(DEPTHS)} hidden", "layer", "‖∂C/∂b‖",
              [(NAMES[act], list(range(1, layers + 1)), deepest[act]) for act in ACTIVATIONS],
              logy=True, marker="o"),
    ]))
    section.data = {act: {r.spec.name: r.to_json() for r in runs[act]} for act in ACTIVATIONS}
    return section


def _layers(d):
    return f"{d} hidden layer{'' if d == 1 else 's'}"


def _delta(result):
    return result.grad_norms["bias"]


def _ratio(result):
    """First hidden layer's ‖δ‖ over the last hidden layer's."""
    return _delta(result)[0] / _delta(result)[-2]


def _interpret(runs, acc, n_val):
    top = max(max(a) for a in acc.values())
    notes = [f"(On {n_val:,} validation digits one standard error is about {standard_error(top, n_val):.1f} points "
             "at these accuracies: smaller differences are noise.)"]
    for act in ACTIVATIONS:
        a = acc[act]
        best = max(range(len(DEPTHS)), key=lambda i: a[i])
        one = DEPTHS.index(1)
        deeper = [(DEPTHS[i], a[i]) for i in range(one + 1, len(DEPTHS))]
        worse = [d for d, v in deeper if v < a[one]]
        name = NAMES[act]
        if best == len(DEPTHS) - 1:
            verdict = f"deeper was better here: the deepest {name} net ({DEPTHS[best]} hidden layers) was the most " \
                      f"accurate"
        else:
            verdict = f"deeper was not always better: the best {name} net had {_layers(DEPTHS[best])}"
        hidden = [a[i] for i in range(one, len(DEPTHS))]
        close = 100 * (max(hidden) - min(hidden)) < 2 * standard_error(max(hidden), n_val)
        notes.append(f"{name[0].upper() + name[1:]}: {verdict} ({pct(a[best])}). With 1 hidden layer it reached "
                     f"{pct(a[one])}; {len(worse)} of the {len(deeper)} deeper nets did worse than that "
                     f"({'; '.join(f'{_layers(d)}: {pct(v)}' for d, v in deeper)})"
                     + (", but all the nets with hidden layers are within two standard errors of each other."
                        if close else "."))
    sig, relu = (_ratio(runs[act][-1]) for act in ACTIVATIONS)
    d = max(DEPTHS)
    notes.append(f"In the {d}-hidden-layer sigmoid net the first hidden layer's gradient ‖δ¹‖ is {num(sig, 3)}× "
                 f"the last hidden layer's (ReLU: {num(relu, 3)}×): "
                 + ("the gradient shrinks on its way back through the sigmoid layers, so the early layers learn "
                    "slowest (the vanishing gradient), " if sig < 0.5 else
                    "the gradient did not shrink much through the sigmoid layers, ")
                 + ("and ReLU keeps it much larger." if relu > 2 * sig else
                    "and ReLU does not keep it markedly larger here.")
                 + (f" That is why the {d}-hidden-layer sigmoid net barely learned ({pct(acc['sigmoid'][-1])})."
                    if acc["sigmoid"][-1] < 0.5 * max(acc["sigmoid"]) and sig < 0.5 else ""))
    return notes
