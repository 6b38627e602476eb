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


def test_lstm_example_learns(tmp_path):
    """The LSTM reading digits row by row, on a two-epoch budget (its default of 20 reached 95.5%)."""
    out = subprocess.run([sys.executable, str(EXAMPLES / "train_lstm.py"), "--epochs", "2", "--no-progress",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    accuracy = float(re.findall(r"validation accuracy ([\d.]+)%", out.stdout)[-1])
    assert accuracy > 50.0 and (tmp_path / "lstm.safetensors").exists()


def test_autoencoder_example_learns(tmp_path):
    out = subprocess.run([sys.executable, str(EXAMPLES / "autoencoder.py"), "--epochs", "2", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    val = [float(v) for v in re.findall(r"val mse ([\d.]+)", out.stdout)]
    assert len(val) == 2 and val[1] < val[0] < 0.12
    assert (tmp_path / "autoencoder.safetensors").exists()
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "no reconstruction grid" in out.stdout
    else:
        assert (tmp_path / "autoencoder_reconstructions.png").exists()


def test_keras_mnist_example_learns(tmp_path):
    """Sequential + compile + fit through pydl.keras, on a two-epoch budget (its default of 10 reached 91.4%)."""
    out = subprocess.run([sys.executable, str(EXAMPLES / "keras_mnist.py"), "--epochs", "2", "--no-progress",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert 'Model: "mlp"' in out.stdout and "Total params: 101,770" in out.stdout
    assert len(re.findall(r"epoch \d: val accuracy", out.stdout)) == 2
    accuracy = float(re.findall(r"test accuracy ([\d.]+)%", out.stdout)[-1])
    assert accuracy > 80.0 and (tmp_path / "keras_mlp.weights.safetensors").exists()
