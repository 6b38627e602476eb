"""The lab's experiments, in report order. Each module has KEY, TITLE, ``epochs(settings)`` (its
share of the progress bar) and ``run(lab) -> report.Section``."""
from pydl.lab.experiments import cnn, depth, init_schemes, optimizers, regularization

EXPERIMENTS = {m.KEY: m for m in (depth, init_schemes, regularization, optimizers, cnn)}

__all__ = ["EXPERIMENTS"]
