"""``python -m pydl.lab``: arguments, then the experiments in order, then the report."""
import argparse
import platform
import sys
import time

import numpy as np

import pydl
from pydl.lab import data as lab_data
from pydl.lab import report
from pydl.lab.config import DEFAULT, QUICK
from pydl.lab.experiments import EXPERIMENTS
from pydl.lab.runner import Lab


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m pydl.lab", description="The course lab on MNIST: depth, "
                                "initialization, regularization, optimizers, CNN vs MLP; writes a Markdown report.")
    p.add_argument("--out", default="lab-report", help="folder for report.md, results.json and the plots")
    p.add_argument("--data", help="full MNIST: a folder with the IDX files, or an .npz (default: the bundled "
                   "5,000 digits); full MNIST trains on 50,000 digits, about 12 times the default run's work")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a small budget per experiment (under 2 minutes)")
    p.add_argument("--only", help=f"comma-separated subset of {','.join(EXPERIMENTS)}")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for pydl's kernels (default 1: the lab's "
                   "nets are small, one thread is as fast, immune to other load, and gives the same numbers on any "
                   "core count)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    keys = list(EXPERIMENTS) if not args.only else [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = [k for k in keys if k not in EXPERIMENTS]
    if unknown:
        p.error(f"--only: unknown experiment(s) {unknown}; choose from {list(EXPERIMENTS)}")
    args.keys = keys
    if args.device.startswith("cuda") and not pydl.cuda.is_available():
        p.error(f"--device {args.device}: CUDA is not available (pydl built without CUDA, or no GPU)")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.threads < 1:
        raise SystemExit(f"--threads must be at least 1, got {args.threads}")
    pydl.set_num_threads(args.threads)
    settings = QUICK if args.quick else DEFAULT
    start = time.perf_counter()
    data = lab_data.load(args.data, args.device, args.seed)
    modules = [EXPERIMENTS[k] for k in args.keys]
    lab = Lab(settings, data, args.device, args.seed, sum(m.epochs(settings) for m in modules),
              progress=not args.no_progress)
    sections = []
    try:
        for module in modules:
            sections.append(lab.run(module))
    finally:
        lab.close()
    wall = time.perf_counter() - start
    command = "python -m pydl.lab " + " ".join(sys.argv[1:] if argv is None else argv)
    header = {
        "title": "pydl lab: depth, initialization, regularization and optimizers on MNIST",
        "facts": {
            "command": f"`{command.strip()}`",
            "mode": f"{settings.mode} (budgets per experiment in the table below; "
                    + ("`--quick` cuts epochs and data for a smoke test)" if args.quick else
                       "sized to finish in under 15 minutes on 2 CPU cores)"),
            "data": data.describe() + f", split with seed {args.seed}; pixels scaled to [0, 1]",
            "seed": f"{args.seed} (every run reseeds from the seed and its name: the same seed gives the same "
                    "numbers on the same device and thread count; only wall times vary)",
            "device": f"{args.device}, {pydl.get_num_threads()} CPU thread(s) for pydl's kernels",
            "software": f"pydl {pydl.__version__}, Python {platform.python_version()}, numpy {np.__version__}",
        },
        "settings": {"mode": settings.mode, "seed": args.seed, "device": args.device, "data": data.describe(),
                     "threads": pydl.get_num_threads(), "experiments": args.keys},
    }
    path = report.write(args.out, header, sections, wall)
    print(f"report: {path} ({wall:.0f} s)")
    return 0
