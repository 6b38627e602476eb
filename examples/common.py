"""What the training examples share: arguments, data, the epoch loop, checkpoint and plot."""
import argparse
import os
import time

from tqdm import tqdm

import pydl
from pydl import nn, optim
from pydl.data import DataLoader, random_split
from pydl.data.datasets import MNIST, mnist_5k
from pydl.utils import EarlyStopping

OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop,
              "adagrad": optim.Adagrad, "adadelta": optim.Adadelta}


def parse_args(description, epochs, lr, batch_size=64, extra=None, optimizer="sgd"):
    """The shared options; `extra(parser)` adds a script's own."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default=optimizer)
    p.add_argument("--momentum", type=float, default=0.9, help="for sgd and rmsprop")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", help="full MNIST: a folder with the IDX files, or an .npz (default: the bundled 5,000 digits)")
    p.add_argument("--patience", type=int, default=5, help="early stopping on the validation loss")
    p.add_argument("--out", default="runs", help="folder for the checkpoint and the curve plot")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    if extra is not None:
        extra(p)
    args = p.parse_args()
    pydl.manual_seed(args.seed)  # before the caller builds its model, so --seed also sets the initial weights
    return args


def load_data(args):
    """(train, validation) datasets: a seeded 80/20 split of the bundled digits, or of MNIST's training set."""
    full = MNIST(args.data, train=True) if args.data else mnist_5k()
    return random_split(full, [0.8, 0.2], generator=args.seed)


def make_optimizer(args, params):
    kwargs = {"lr": args.lr}
    if args.optimizer in ("sgd", "rmsprop"):
        kwargs["momentum"] = args.momentum
    return OPTIMIZERS[args.optimizer](params, **kwargs)


def run_epoch(model, loader, loss_fn, device, optimizer=None, progress=None):
    """One pass; trains when an optimizer is given. Returns (mean loss, accuracy).

    The sums stay on the model's device and are read once at the end (and every 20 batches
    for the progress bar): on a GPU each read waits for the queued work to finish."""
    model.train(optimizer is not None)
    total_loss = total_correct = None
    count = 0
    with pydl.set_grad_enabled(optimizer is not None):
        for step, (x, y) in enumerate(loader, 1):
            x, y = x.to(device), y.to(device)
            logits = model(x)
            loss = loss_fn(logits, y)
            if optimizer is not None:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            n = y.shape[0]
            with pydl.no_grad():
                batch_loss = loss.detach() * n
                batch_correct = (logits.argmax(dim=-1) == y).sum()
                total_loss = batch_loss if total_loss is None else total_loss + batch_loss
                total_correct = batch_correct if total_correct is None else total_correct + batch_correct
            count += n
            if progress is not None:
                progress.update(1)
                if step % 20 == 0:
                    progress.set_postfix(loss=f"{total_loss.item() / count:.4f}")
    return total_loss.item() / count, total_correct.item() / count


def train(model, args, name):
    """Trains with early stopping on the validation loss; saves the best weights and the curves."""
    train_set, val_set = load_data(args)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=args.seed)
    val_loader = DataLoader(val_set, batch_size=512)
    model.to(args.device)
    optimizer = make_optimizer(args, model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    stopper = EarlyStopping(patience=args.patience)
    history = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}
    print(f"{name}: {sum(p.numel() for p in model.parameters()):,} parameters, {len(train_set)} training and "
          f"{len(val_set)} validation digits, {args.optimizer} lr={args.lr}, batch {args.batch_size}, {args.device}")
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        with tqdm(total=len(train_loader), desc=f"epoch {epoch:2d}", leave=False, disable=args.no_progress) as bar:
            train_loss, train_acc = run_epoch(model, train_loader, loss_fn, args.device, optimizer, bar)
        val_loss, val_acc = run_epoch(model, val_loader, loss_fn, args.device)
        for key, value in zip(history, (train_loss, val_loss, train_acc, val_acc)):
            history[key].append(value)
        print(f"epoch {epoch:2d}  train loss {train_loss:.4f} acc {train_acc:.2%}  "
              f"val loss {val_loss:.4f} acc {val_acc:.2%}")
        if stopper.step(val_loss, model):
            print(f"early stop: no better validation loss for {args.patience} epochs; "
                  f"best weights from epoch {stopper.best_epoch + 1} restored")
            break
    else:
        if stopper.best_state is not None and stopper.best_epoch != stopper.epoch:
            model.load_state_dict(stopper.best_state)  # the best epoch's weights, as an early stop would
            print(f"best weights (validation loss) from epoch {stopper.best_epoch + 1} restored")
    _, best_acc = run_epoch(model, val_loader, loss_fn, args.device)
    print(f"validation accuracy {best_acc:.2%}, {time.perf_counter() - start:.1f} s")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{name}.safetensors")
    pydl.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, path)
    print(f"checkpoint: {path}")
    plot_curves(history, os.path.join(args.out, f"{name}_curves.png"))
    return best_acc


def plot_curves(history, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no plot: matplotlib is not installed (pip install 'pydl[plot]')")
        return
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = range(1, len(history["train_loss"]) + 1)
    for split in ("train", "val"):
        ax_loss.plot(epochs, history[f"{split}_loss"], label=split)
        ax_acc.plot(epochs, history[f"{split}_acc"], label=split)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    ax_loss.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"curves: {path}")
