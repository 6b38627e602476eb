"""`python -m pydl.lab --quick` writes the lab report: sections, tables, plots, and numbers that
show what the lab teaches (zero init fails, sigmoid gradients vanish)."""
import importlib.util
import json
import re
import subprocess
import sys

import pytest

HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
SECTIONS = ["1. Depth", "2. Initialization", "3. Regularization", "4. Optimizers and learning rates", "5. CNN vs MLP"]
PLOTS = ["depth.png", "init.png", "regularization_loss.png", "regularization_acc.png", "optimizers.png",
         "cnn_vs_mlp.png"]


def run_lab(cwd, *args, prelude=""):
    """Runs the lab in a subprocess from ``cwd`` (so the installed pydl is imported, not a checkout)."""
    code = f"{prelude}import sys; from pydl.lab.cli import main; sys.exit(main({list(args)!r}))"
    cmd = [sys.executable, "-m", "pydl.lab", *args] if not prelude else [sys.executable, "-c", code]
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=110)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("lab")
    run_lab(tmp_path, "--quick", "--out", str(tmp_path))
    report = (tmp_path / "report.md").read_text()
    results = json.loads((tmp_path / "results.json").read_text())
    return tmp_path, report, results


def sections(report):
    """{title: body} for each '## ' section."""
    parts = re.split(r"^## (.+)$", report, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def tables(text):
    """Each Markdown table as a list of rows (lists of cell strings), header row first."""
    out, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            if not re.fullmatch(r"\|(---\|)+", line):
                current.append([c.strip() for c in line.strip("|").split("|")])
        elif current:
            out.append(current)
            current = []
    return out


def test_header_states_the_setup(lab):
    _, report, results = lab
    for fact in ("command", "mode", "data", "seed", "device", "wall time"):
        assert f"**{fact}**" in report
    assert "quick" in report and "MNIST-5k" in report and "A smoke test" in report
    assert results["settings"]["mode"] == "quick" and results["settings"]["seed"] == 0
    assert set(results["experiments"]) == {"depth", "init", "regularization", "optimizers", "cnn"}


def test_every_section_has_setup_tables_and_interpretation(lab):
    _, report, _ = lab
    found = sections(report)
    for title in SECTIONS:
        body = next((b for t, b in found.items() if t.startswith(title)), None)
        assert body is not None, f"missing section {title}: {list(found)}"
        assert tables(body), f"{title}: no table"
        assert "**Interpretation (of a smoke test's numbers, not meaningful at this budget).**" in body, \
            f"{title}: no interpretation, or one not marked as a smoke test's"
        assert "epochs on" in body, f"{title}: the budget is not stated"


def test_tables_cover_the_experiments(lab):
    _, report, _ = lab
    found = {t.split(":")[0]: tables(b) for t, b in sections(report).items()}
    depth, grads = found["1. Depth"]
    assert [r[0] for r in depth[1:]] == ["0", "1", "2", "3", "4"]
    assert len(grads) == 1 + 8  # sigmoid and ReLU, 1 to 4 hidden layers
    for table in found["2. Initialization"]:
        assert [r[0] for r in table[1:]] == ["zero", "normal", "random", "xavier", "kaiming"]
    methods = " ".join(r[0] for r in found["3. Regularization"][0][1:])
    for m in ("none", "L2", "L1", "dropout p=0.2", "dropout p=0.5", "early stopping", "batch-norm"):
        assert m in methods
    recipes = " ".join(r[0] for r in found["4. Optimizers and learning rates"][0][1:])
    for m in ("too small", "good", "too large", "momentum", "Nesterov", "Adagrad", "Adadelta", "RMSprop", "Adam",
              "step", "exponential"):
        assert m in recipes
    assert [r[0].split(" (")[0] for r in found["5. CNN vs MLP"][0][1:]] == ["LeNet-5", "best MLP"]


@pytest.mark.skipif(not HAVE_MATPLOTLIB, reason="matplotlib is not installed")
def test_plots_are_written_and_linked(lab):
    out, report, _ = lab
    for name in PLOTS:
        png = out / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f"]({name})" in report
    assert "Plots skipped" not in report


def test_zero_init_fails_to_break_symmetry(lab):
    _, _, results = lab
    for act, runs in results["experiments"]["init"].items():
        zero, kaiming = runs["zero"], runs["kaiming"]
        assert zero["final"]["val_acc"] < kaiming["final"]["val_acc"] - 0.2, act
        assert zero["distinct_units"] == 1 and kaiming["distinct_units"] == 100, act


def test_sigmoid_gradients_vanish_more_than_relu(lab):
    _, _, results = lab
    depth = results["experiments"]["depth"]
    sig, relu = depth["sigmoid"]["sigmoid-4-hidden"], depth["relu"]["relu-4-hidden"]
    ratio = {k: r["grad_norms"]["bias"][0] / r["grad_norms"]["bias"][-2] for k, r in (("s", sig), ("r", relu))}
    assert ratio["s"] < 0.1 and ratio["s"] < ratio["r"]


def test_same_seed_same_numbers(lab, tmp_path):
    _, _, results = lab
    run_lab(tmp_path, "--quick", "--only", "init", "--no-progress", "--out", str(tmp_path / "again"))
    again = json.loads((tmp_path / "again" / "results.json").read_text())
    assert again["experiments"]["init"] == results["experiments"]["init"]


def test_report_without_matplotlib(tmp_path):
    block = "import sys; sys.modules['matplotlib'] = None; "  # import matplotlib now raises ImportError
    run_lab(tmp_path, "--quick", "--only", "init", "--no-progress", "--out", str(tmp_path / "r"), prelude=block)
    report = (tmp_path / "r" / "report.md").read_text()
    assert "Plots skipped" in report and "| kaiming |" in report
    assert not list((tmp_path / "r").glob("*.png"))
