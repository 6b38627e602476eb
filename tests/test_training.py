"""Training end to end: the MLP recipe against PyTorch from identical weights and batches,
EarlyStopping's semantics, the example scripts (run as a user would) and LeNet-5's accuracy bar."""
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import pydl
from pydl import nn
from pydl.data import random_split
from pydl.data.datasets import mnist_5k
from pydl.utils import EarlyStopping, accuracy

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _np(t):
    return t.detach().cpu().numpy()


def _split_arrays(seed=0):
    """The examples' split of the bundled digits (random_split 80/20 with seed 0) as float32 arrays:
    (x_train (4000, 784), y_train, x_val (1000, 784), y_val)."""
    full = mnist_5k()
    train_set, val_set = random_split(full, [0.8, 0.2], generator=seed)
    images = full.data.numpy().reshape(len(full), 784).astype(np.float32) / np.float32(255)
    labels = full.targets.numpy()
    tr, va = np.asarray(train_set.indices), np.asarray(val_set.indices)
    assert len(tr) == 4000 and len(va) == 1000 and not set(tr.tolist()) & set(va.tolist())
    return images[tr], labels[tr], images[va], labels[va]


# ---------------------------------------------------------------------- (a) the recipe bar
def test_mlp_recipe_matches_torch_accuracy():
    """MLP 784-100-10, SGD(lr=0.05, momentum=0.9), batch 64, 20 epochs on 4,000 digits: pydl and torch
    start from the same weights and see the same batches; validation accuracies within 0.5 points."""
    torch = pytest.importorskip("torch")
    x_tr, y_tr, x_va, y_va = _split_arrays()

    pydl.manual_seed(0)
    pm = nn.Sequential(nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))
    tm = torch.nn.Sequential(torch.nn.Linear(784, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10))
    tm.load_state_dict({k: torch.tensor(_np(v).copy()) for k, v in pm.state_dict().items()})
    p_opt = pydl.optim.SGD(pm.parameters(), lr=0.05, momentum=0.9)
    t_opt = torch.optim.SGD(tm.parameters(), lr=0.05, momentum=0.9)
    p_loss, t_loss = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    px_va, tx_va = pydl.tensor(x_va), torch.tensor(x_va)

    def val_acc():
        with pydl.no_grad():
            p_logits = pm(px_va)
        with torch.no_grad():
            t_logits = tm(tx_va)
        return accuracy(p_logits, pydl.tensor(y_va)), (t_logits.argmax(1).numpy() == y_va).mean(), p_logits, t_logits

    _, _, p0, t0 = val_acc()  # the same starting point
    np.testing.assert_allclose(_np(p0), t0.numpy(), rtol=1e-5, atol=1e-5)

    rng = np.random.default_rng(0)
    first_losses = []
    for epoch in range(20):
        perm = rng.permutation(len(x_tr))
        for start in range(0, len(perm), 64):
            idx = perm[start:start + 64]
            xb, yb = x_tr[idx], y_tr[idx]
            lp = p_loss(pm(pydl.tensor(xb)), pydl.tensor(yb))
            p_opt.zero_grad()
            lp.backward()
            p_opt.step()
            lt = t_loss(tm(torch.tensor(xb)), torch.tensor(yb))
            t_opt.zero_grad()
            lt.backward()
            t_opt.step()
            if epoch == 0 and start < 64 * 3:
                first_losses.append((lp.item(), lt.item()))
    # the first steps agree closely (same weights, same batches, same update rule)
    for lp, lt in first_losses:
        assert abs(lp - lt) < 1e-4, first_losses
    p_acc, t_acc, _, _ = val_acc()
    print(f"validation accuracy: pydl {p_acc:.2%}, torch {t_acc:.2%}")
    assert t_acc > 0.90, t_acc  # the recipe itself learns
    assert abs(p_acc - t_acc) <= 0.005, (p_acc, t_acc)


# ---------------------------------------------------------------------- (b) EarlyStopping
def _run(stopper, values, model=None):
    """The epoch (0-based) at which step() first says stop, or None."""
    for epoch, v in enumerate(values):
        if stopper.step(v, model):
            return epoch
    return None


def test_early_stopping_patience_counts_epochs_without_improvement():
    s = EarlyStopping(patience=3)
    assert _run(s, [1.0, 0.8, 0.9, 0.85, 0.81, 0.1]) == 4  # three epochs after the best (0.8)
    assert (s.best, s.best_epoch, s.bad_epochs, s.stopped) == (0.8, 1, 3, True)

    s = EarlyStopping(patience=3)  # an improvement resets the count
    assert _run(s, [1.0, 1.1, 1.2, 0.9, 1.0, 1.0, 1.0, 0.1]) == 6
    assert s.best_epoch == 3

    s = EarlyStopping(patience=2)  # an equal value is no improvement
    assert _run(s, [1.0, 1.0, 1.0]) == 2

    s = EarlyStopping(patience=3)  # never stops while improving
    assert _run(s, [5, 4, 3, 2, 1]) is None and not s.stopped and s.bad_epochs == 0

    s = EarlyStopping(patience=0)  # patience 0: the first epoch without improvement stops
    assert _run(s, [1.0, 0.5, 0.6]) == 2


def test_early_stopping_min_delta_and_mode():
    s = EarlyStopping(patience=2, min_delta=0.1)
    assert _run(s, [1.0, 0.95, 0.92, 0.5]) == 2  # 0.05 and 0.08 are within min_delta: no improvement
    assert s.best == 1.0 and s.best_epoch == 0

    s = EarlyStopping(patience=2, min_delta=0.1)
    assert _run(s, [1.0, 0.85, 0.8, 0.74, 0.7, 0.7]) == 5  # 0.85 improves by > 0.1; 0.74 vs 0.85 too
    assert s.best == 0.74 and s.best_epoch == 3

    s = EarlyStopping(patience=2, mode="max", min_delta=0.01)  # e.g. on accuracy
    assert _run(s, [0.5, 0.7, 0.705, 0.69, 0.9]) == 3
    assert s.best == 0.7 and s.best_epoch == 1

    for bad in (dict(patience=-1), dict(min_delta=-0.1), dict(mode="lowest")):
        with pytest.raises(ValueError):
            EarlyStopping(**bad)


def _bn_model():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def _fill(model, value):
    with pydl.no_grad():
        for p in model.parameters():
            p.fill_(value)


def test_early_stopping_restores_best_weights():
    pydl.manual_seed(0)
    model = _bn_model()
    s = EarlyStopping(patience=2)
    _fill(model, 0.0)
    assert not s.step(1.0, model)
    _fill(model, 1.0)
    model.train()
    model(pydl.randn(8, 3) + 3)  # moves the batch-norm running stats: buffers are part of the best state
    best = {k: _np(v).copy() for k, v in model.state_dict().items()}
    assert not s.step(0.5, model)  # the best epoch
    _fill(model, 2.0)  # in place: the snapshot must not follow the live tensors
    model(pydl.randn(8, 3) - 3)
    assert not s.step(0.7, model)
    _fill(model, 3.0)
    assert s.step(0.8, model)  # stop: weights of epoch 1 restored
    assert s.best_epoch == 1
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(_np(v), best[k], err_msg=k)

    # without restore_best_weights the last weights stay
    model2 = _bn_model()
    s = EarlyStopping(patience=1, restore_best_weights=False)
    _fill(model2, 1.0)
    s.step(0.5, model2)
    _fill(model2, 4.0)
    assert s.step(0.9, model2)
    assert all((_np(p) == 4.0).all() for p in model2.parameters())


def test_early_stopping_state_round_trip():
    s = EarlyStopping(patience=3)
    _run(s, [1.0, 0.8, 0.9])
    resumed = EarlyStopping(patience=3)
    resumed.load_state_dict(s.state_dict())
    assert resumed.state_dict() == s.state_dict() == {"best": 0.8, "best_epoch": 1, "bad_epochs": 1, "epoch": 2}
    assert not resumed.step(0.85) and resumed.step(0.85)  # continues the count: 2, then 3 bad epochs


# ---------------------------------------------------------------------- (c) the example scripts
def _run_example(script, tmp_path, *args, timeout=300):
    start = time.perf_counter()
    out = subprocess.run([sys.executable, str(EXAMPLES / script), "--no-progress", "--out", str(tmp_path), *args],
                         cwd=tmp_path, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stdout + out.stderr
    print(out.stdout, f"({time.perf_counter() - start:.1f} s)")
    epochs = re.findall(r"^epoch +(\d+) .*val loss [\d.]+ acc ([\d.]+)%", out.stdout, re.M)
    final = re.findall(r"^validation accuracy ([\d.]+)%", out.stdout, re.M)
    assert len(final) == 1, out.stdout
    return [float(a) for _, a in epochs], float(final[0]) / 100, out.stdout


def _val_accuracy(model, seed=0):
    _, _, x_va, y_va = _split_arrays(seed)
    model.eval()
    with pydl.no_grad():
        return accuracy(model(pydl.tensor(x_va.reshape(-1, 1, 28, 28))), pydl.tensor(y_va))


def _check_checkpoint(path, model, printed_acc, epochs):
    assert path.is_file()
    ckpt = pydl.load(path)
    assert set(ckpt) >= {"model", "optimizer", "epoch"} and ckpt["epoch"] == epochs
    before = _val_accuracy(model)
    model.load_state_dict(ckpt["model"])  # strict: every key present, every shape right
    after = _val_accuracy(model)
    assert after == pytest.approx(printed_acc, abs=1e-4)  # the saved weights are the reported ones
    assert after > before + 0.3  # and they are trained, not the fresh initialization


def test_train_mlp_example(tmp_path):
    per_epoch, final, _ = _run_example("train_mlp.py", tmp_path, "--epochs", "2")
    assert len(per_epoch) == 2
    assert final > 0.80, final
    pydl.manual_seed(1)
    fresh = nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))
    _check_checkpoint(tmp_path / "mlp.safetensors", fresh, final, 2)


def _lenet5():
    from pydl.nn.models import lenet5

    return lenet5()


def test_train_cnn_example(tmp_path):
    # Two epochs, not one: one epoch of this recipe (SGD lr 0.05, momentum 0.9, batch 64) ends anywhere
    # between 23% and 79% over seeds 0-7 (LeNet sits on the 2.30 loss plateau for a while; PyTorch, from the
    # same weights and batches, ends its first epoch at the same accuracy); the second reaches 89-94%.
    per_epoch, final, _ = _run_example("train_cnn.py", tmp_path, "--epochs", "2")
    assert len(per_epoch) == 2
    assert final > 0.80, final
    pydl.manual_seed(1)
    _check_checkpoint(tmp_path / "lenet5.safetensors", _lenet5(), final, 2)


# ---------------------------------------------------------------------- (d) LeNet-5's bar
def test_lenet5_default_recipe_reaches_96_5_percent(tmp_path):
    """examples/train_cnn.py with its defaults on the bundled digits' held-out 1,000, on average over
    seeds 0 and 1: one seed's figure moves by tenths of a percent with the GEMM's summation order (seeds
    0-3 gave 96.4-97.9%). About 3 s per seed on an idle 2-core CPU."""
    finals = []
    for seed in (0, 1):
        (tmp_path / str(seed)).mkdir()
        _, final, stdout = _run_example("train_cnn.py", tmp_path / str(seed), "--seed", str(seed), timeout=600)
        assert final >= 0.955, stdout
        finals.append(final)
    assert sum(finals) / 2 >= 0.965, finals
