"""One training run of the lab: a declarative RunSpec in, a RunResult (curves and final metrics)
out. Every run reseeds pydl from (lab seed, run name), so its numbers do not depend on which
other runs came before it."""
import math
import time
import zlib
from dataclasses import dataclass, field
from typing import Callable, Optional

import pydl
from pydl.nn import functional as F
from pydl.utils import EarlyStopping

from pydl.lab.models import count_parameters, linear_layers

EVAL_BATCH = 1000
TRAIN_EVAL_MAX = 5000  # training metrics are measured on at most this many training digits


@dataclass
class RunSpec:
    name: str
    build: Callable            # () -> Module, called right after seeding
    optimizer: Callable        # parameters -> Optimizer
    epochs: int
    batch_size: int = 64
    train_size: Optional[int] = None
    scheduler: Optional[Callable] = None  # optimizer -> LR scheduler, stepped once per epoch
    l1: float = 0.0                       # L1 penalty on weight matrices, added to the loss
    patience: Optional[int] = None        # early stopping on the validation loss
    probe_gradients: bool = False         # per-layer weight-gradient norms before training
    log_every: int = 0                    # training-loss points every N steps (0: none)


@dataclass
class RunResult:
    spec: RunSpec
    params: int
    history: dict                  # per epoch (0 = before training): train/val loss and accuracy, lr
    steps: list = field(default_factory=list)       # [(step, mean training loss since the last point)]
    grad_norms: dict = field(default_factory=dict)  # "weight"/"bias": per Linear layer, input side first
    diverged: bool = False
    best_epoch: Optional[int] = None
    stopped_epoch: Optional[int] = None
    final: dict = field(default_factory=dict)       # train/val loss and accuracy of the returned model
    model: object = None
    seconds: float = 0.0

    def to_json(self):
        s = self.spec
        return {"name": s.name, "epochs": s.epochs, "batch_size": s.batch_size, "train_size": s.train_size,
                "params": self.params, "diverged": self.diverged, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "final": self.final, "history": self.history,
                "steps": self.steps, "grad_norms": self.grad_norms}


def seed_for(seed, name):
    return (seed * 1_000_003 + zlib.crc32(name.encode())) % (2 ** 31)


def evaluate(model, x, y):
    """(mean cross-entropy, accuracy) of ``model`` in eval mode on tensors x, y."""
    model.eval()
    total, correct, n = 0.0, 0, x.shape[0]
    with pydl.no_grad():
        for i in range(0, n, EVAL_BATCH):
            logits = model(x[i:i + EVAL_BATCH])
            target = y[i:i + EVAL_BATCH]
            total += F.cross_entropy(logits, target, reduction="sum").item()
            correct += int((logits.argmax(dim=-1) == target).sum().item())
    return total / n, correct / n


def gradient_norms(model, x, y):
    """Norms of dC/dW and dC/db (= Nielsen's delta, the layer's speed of learning) for each
    Linear layer on one batch, before any update."""
    model.train()
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    layers = linear_layers(model)
    norms = {kind: [float(getattr(layer, kind).grad.square().sum().sqrt().item()) for layer in layers]
             for kind in ("weight", "bias")}
    model.zero_grad()
    return norms


def _l1_penalty(model, strength):
    return strength * sum(p.abs().sum() for p in model.parameters() if p.dim() >= 2)


def fit(spec, data, device, seed, progress=None):
    """Trains ``spec`` on ``data`` (a LabData) and returns its RunResult."""
    start = time.perf_counter()
    run_seed = seed_for(seed, spec.name)
    pydl.manual_seed(run_seed)
    model = spec.build().to(device)
    optimizer = spec.optimizer(model.parameters())
    scheduler = spec.scheduler(optimizer) if spec.scheduler else None
    stopper = EarlyStopping(patience=spec.patience) if spec.patience else None
    train_x, train_y = data.train_slice(spec.train_size)
    eval_x, eval_y = train_x[:TRAIN_EVAL_MAX], train_y[:TRAIN_EVAL_MAX]
    loader = data.loader(spec.train_size, spec.batch_size, run_seed)
    result = RunResult(spec, count_parameters(model), {k: [] for k in
                       ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr")})
    if spec.probe_gradients:
        result.grad_norms = gradient_norms(model, train_x[:EVAL_BATCH], train_y[:EVAL_BATCH])

    def record(epoch):
        h = result.history
        h["epoch"].append(epoch)
        for split, (x, y) in (("train", (eval_x, eval_y)), ("val", (data.val_x, data.val_y))):
            loss, acc = evaluate(model, x, y)
            h[f"{split}_loss"].append(loss)
            h[f"{split}_acc"].append(acc)
        h["lr"].append(optimizer.param_groups[0]["lr"])
        return h["val_loss"][-1]

    record(0)
    step, window = 0, []
    for epoch in range(1, spec.epochs + 1):
        model.train()
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            if spec.l1:
                loss = loss + _l1_penalty(model, spec.l1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            value = loss.item()
            step += 1
            window.append(value)
            if not math.isfinite(value):
                result.diverged = True
                break
            if spec.log_every and step % spec.log_every == 0:
                result.steps.append((step, sum(window) / len(window)))
                window = []
        if scheduler is not None:
            scheduler.step()
        val_loss = record(epoch)
        if progress is not None:
            progress.update(1)
        if result.diverged:
            break
        if stopper is not None and stopper.step(val_loss, model):
            result.stopped_epoch = epoch
            break
    if window and spec.log_every:
        result.steps.append((step, sum(window) / len(window)))
    if progress is not None:
        progress.update(spec.epochs - epoch)  # epochs skipped by divergence or early stopping
    if stopper is not None:
        result.best_epoch = stopper.best_epoch + 1  # the stopper counts from 0 = epoch 1
        if result.stopped_epoch is None and stopper.best_state is not None:
            model.load_state_dict(stopper.best_state)
    result.final = dict(zip(("train_loss", "train_acc"), evaluate(model, eval_x, eval_y)))
    result.final.update(zip(("val_loss", "val_acc"), evaluate(model, data.val_x, data.val_y)))
    result.model = model
    result.seconds = time.perf_counter() - start
    return result
