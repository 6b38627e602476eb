"""Time per training step (forward, loss, backward, optimizer step) of the MLP 784-100-10 and
LeNet-5, in pydl and in PyTorch eager, same models, same batch, same run.

    python bench/train_step.py [--device cpu] [--batch-sizes 64,512] [--repeat 15] [--threads N] [--save]

Median and 90th-percentile step times; speed-up = torch time / pydl time (above 1 pydl is
faster). The MLP at the first batch size is timed again once fitted to that batch (loss < 1e-5),
where denormal floats appear: "time vs init" is that step's time over the step of a model at its
initialization, timed in turns with it. With --save, results in bench/results/<cpu>/train_step.json,
or bench/results/<gpu>/train_step.json for --device cuda. On a GPU every step ends with a
synchronization of the device (for both libraries), so a step's time includes its kernels.

--beside-busy N runs N busy-looping processes meanwhile, as on a shared machine (results in
train_step_busy.json): there a worker thread can wait milliseconds for a core at every parallel
region, unless the library gives way (pydl runs its regions alone while workers arrive late).
"""
import contextlib
import subprocess
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import pydl  # noqa: E402


def mlp(nn):
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))


def lenet5(nn):
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def step_fn(lib, build, x, y, device):
    model = build(lib.nn).to(device)
    opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = lib.nn.CrossEntropyLoss()
    x, y = lib.from_numpy(x).to(device), lib.from_numpy(y).to(device)
    sync = (lambda: lib.cuda.synchronize()) if device != "cpu" else (lambda: None)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        sync()
        return loss
    return step


def fit(step, target=1e-5, max_steps=20000):
    """Steps on the batch until its loss is below target; returns the loss."""
    for i in range(max_steps):
        loss = step()
        if i % 25 == 0 and loss.item() < target:
            break
    return loss.item()


@contextlib.contextmanager
def busy_processes(n):
    """n processes looping in Python while the block runs."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-sizes", default="64,512")
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--threads", type=int)
    p.add_argument("--beside-busy", type=int, default=0, metavar="N", help="N busy processes run meanwhile")
    _common.add_save_option(p)
    args = p.parse_args()
    torch, threads = _common.set_threads(args.threads)
    on_gpu = args.device != "cpu"
    if on_gpu and not pydl.cuda.is_available():
        print(f"train_step: --device {args.device} needs a CUDA GPU ({pydl.cuda.unavailable_reason()})")
        return
    if on_gpu and torch is not None and not torch.cuda.is_available():
        torch = None  # no same-GPU reference
    with busy_processes(args.beside_busy):
        rows = measure(args, torch, threads)
    busy = f", beside {args.beside_busy} busy processes" if args.beside_busy else ""
    _common.print_table(rows, [("op", "model", ""), ("shape", "batch", ""), ("median_us", "pydl us", ".0f"),
                               ("p90_us", "pydl p90", ".0f"), ("reference_median_us", "torch us", ".0f"),
                               ("reference_p90_us", "torch p90", ".0f"), ("speedup", "speed-up vs torch", ".2f"),
                               ("vs_init", "time vs init", ".2f")],
                        title=f"training step, {args.device}, {threads} threads{busy} {_common.SPEEDUP_NOTE}")
    _common.store_results("train_step_busy" if args.beside_busy else "train_step", rows, args.save,
                          device=args.device, extra={"beside_busy_processes": args.beside_busy})


def measure(args, torch, threads):
    rng = np.random.default_rng(0)
    batches = [int(b) for b in args.batch_sizes.split(",")]
    rows = []
    for name, build in (("mlp 784-100-10", mlp), ("lenet5", lenet5)):
        for batch in batches:
            x = rng.random((batch, 1, 28, 28), dtype=np.float32)
            y = rng.integers(0, 10, batch).astype(np.int64)
            fns = {"pydl": step_fn(pydl, build, x, y, args.device)}
            if torch:
                fns["torch"] = step_fn(torch, build, x, y, args.device)
            t = _common.bench(fns, args.repeat, settle_s=0.1)
            rows.append({"op": f"{name} train step", "shape": f"batch {batch}", "dtype": "float32",
                         "device": args.device, "threads": threads, **_common.timing_fields(t, "torch", digits=1)})
            if build is mlp and batch == batches[0]:  # once the batch is fitted: denormals appear
                losses = {k: fit(fn) for k, fn in fns.items()}
                # timed in turns with a model at its initialization, so that the machine's drift over the
                # seconds spent fitting does not count as the fitted step's
                t_fit = _common.bench({**fns, "pydl at init": step_fn(pydl, build, x, y, args.device)}, args.repeat,
                                      settle_s=0.1)
                rows.append({**rows[-1], "op": f"{name} train step, fitted", "loss": losses["pydl"],
                             "reference_loss": losses.get("torch"), **_common.timing_fields(t_fit, "torch", digits=1),
                             "vs_init": round(t_fit["pydl"].median / t_fit["pydl at init"].median, 2)})
    return rows


if __name__ == "__main__":
    main()
