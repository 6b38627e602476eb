"""``pydl.lab``: the course lab on MNIST, reproduced with pydl.

    python -m pydl.lab --out lab-report [--quick] [--data MNIST_DIR] [--device cpu|cuda] [--seed 0]

Five experiments (depth, initialization, regularization, optimizers and learning rates, CNN vs
MLP), each a module of ``pydl.lab.experiments``, write one Markdown report with tables, PNG
plots (when matplotlib is installed) and a written interpretation derived from the numbers,
plus ``results.json`` with every number of the report except wall times.
"""
from pydl.lab.cli import main

__all__ = ["main"]
