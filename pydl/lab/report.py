"""The report: Sections of tables, figures and interpretation, written as Markdown (report.md)
with PNG plots beside it, and every number except wall times in results.json."""
import json
import math
import os
from dataclasses import dataclass, field

from pydl.lab import plots


@dataclass
class Table:
    headers: list
    rows: list
    caption: str = ""

    def markdown(self):
        lines = [f"| {' | '.join(self.headers)} |", "|" + "|".join("---" for _ in self.headers) + "|"]
        lines += [f"| {' | '.join(str(c) for c in row)} |" for row in self.rows]
        return ([f"*{self.caption}*", ""] if self.caption else []) + lines


@dataclass
class Section:
    key: str
    title: str
    setup: list                  # bullet lines: model, data, epochs, optimizer
    tables: list = field(default_factory=list)
    figures: list = field(default_factory=list)   # plots.Figure
    notes: list = field(default_factory=list)     # interpretation, derived from the numbers
    data: dict = field(default_factory=dict)      # for results.json
    budget: str = ""
    seconds: float = 0.0


def pct(x):
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.2f}%"


def num(x, digits=4):
    if x is None:
        return "n/a"
    if not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}g}" if abs(x) < 1e-3 or abs(x) >= 1e4 else f"{x:.{digits}f}"


def standard_error(accuracy, n):
    """One standard error of an accuracy measured on n digits, in points."""
    return 100 * math.sqrt(max(accuracy * (1 - accuracy), 0.0) / n)


def _rounded(x):
    """JSON-ready copy with floats to 6 significant digits (results.json stays small)."""
    if isinstance(x, float):
        return float(f"{x:.6g}") if math.isfinite(x) else x
    if isinstance(x, dict):
        return {k: _rounded(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_rounded(v) for v in x]
    return x


def write(out, header, sections, wall_seconds):
    """Writes report.md, results.json and the PNGs into ``out``; returns report.md's path."""
    os.makedirs(out, exist_ok=True)
    can_plot = plots.available()
    lines = [f"# {header['title']}", ""]
    lines += [f"- **{k}**: {v}" for k, v in header["facts"].items()]
    lines += [f"- **wall time**: {wall_seconds:.0f} s in all", ""]
    lines += Table(["experiment", "budget", "wall time"],
                   [[s.title, s.budget, f"{s.seconds:.0f} s"] for s in sections]).markdown() + [""]
    if not can_plot:
        lines += ["> Plots skipped: matplotlib is not installed (`pip install matplotlib`).", ""]
    quick = header.get("settings", {}).get("mode") == "quick"
    if quick:
        lines += ["> A smoke test: `--quick` trains every model for a few epochs on a slice of the data, too little "
                  "for its comparisons to mean anything. The interpretations below only read these numbers; run "
                  "without `--quick` for conclusions.", ""]
    interpretation = ("**Interpretation (of a smoke test's numbers, not meaningful at this budget).** " if quick
                      else "**Interpretation.** ")
    for s in sections:
        lines += [f"## {s.title}", ""] + [f"- {line}" for line in s.setup] + [""]
        for t in s.tables:
            lines += t.markdown() + [""]
        if s.notes:
            lines += [interpretation + " ".join(s.notes), ""]
        for fig in s.figures:
            if can_plot:
                plots.save(fig, os.path.join(out, fig.filename))
                lines += [f"![{fig.caption}]({fig.filename})", "", f"*{fig.caption}*", ""]
    path = os.path.join(out, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(lines).rstrip() + "\n")
    numbers = {"settings": header["settings"], "experiments": {s.key: s.data for s in sections}}
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(_rounded(numbers), f, sort_keys=True, separators=(",", ":"))
    return path
