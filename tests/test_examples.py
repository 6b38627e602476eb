"""The README's main job runs and learns."""
import re
import subprocess
import sys
from pathlib import Path

import pydl
from pydl.data.datasets import load_mnist_5k

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_bundled_digits_load():
    images, labels = load_mnist_5k()
    assert tuple(images.shape) == (5000, 28, 28) and images.dtype == pydl.uint8
    assert tuple(labels.shape) == (5000,) and labels.dtype == pydl.int64
    counts = [(labels == k).sum().item() for k in range(10)]
    assert counts == [500] * 10


def test_logistic_regression_learns():
    out = subprocess.run([sys.executable, str(EXAMPLES / "logistic_regression.py"), "--epochs", "2"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    accuracies = [float(a) for a in re.findall(r"val accuracy ([\d.]+)%", out.stdout)]
    assert len(accuracies) == 2
    assert accuracies[-1] > 80.0
