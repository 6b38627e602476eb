"""PNG line plots for the report (matplotlib, optional): a Figure is one row of Panels, each
panel a set of labelled (x, y) series."""
import io
import math
from dataclasses import dataclass, field

DPI = 80


@dataclass
class Panel:
    title: str
    xlabel: str
    ylabel: str
    series: list = field(default_factory=list)  # [(label, xs, ys)]
    logy: bool = False
    marker: str = ""


@dataclass
class Figure:
    filename: str
    caption: str
    panels: list


def available():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def save(figure, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    n = len(figure.panels)
    fig, axes = plt.subplots(1, n, figsize=(4.6 * n, 3.4), squeeze=False)
    for ax, panel in zip(axes[0], figure.panels):
        for label, xs, ys in panel.series:
            ys = [y if y is not None and math.isfinite(y) else float("nan") for y in ys]
            lone = sum(not math.isnan(y) for y in ys) < 2  # a run that diverged at once: show its one point
            ax.plot(xs, ys, label=label, marker=panel.marker or ("o" if lone else None), linewidth=1.4, markersize=4)
        if panel.logy:
            ax.set_yscale("log")
        ax.set(title=panel.title, xlabel=panel.xlabel, ylabel=panel.ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs, steps, layers
        ax.grid(alpha=0.3)
        if len(panel.series) > 1:
            ax.legend(fontsize=7, ncol=2 if len(panel.series) > 5 else 1)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    _write_small_png(buffer, path)


def _write_small_png(buffer, path):
    """A 64-colour palette PNG: a third of the size of matplotlib's RGBA, same look for line plots."""
    try:
        from PIL import Image  # a matplotlib dependency
    except ImportError:
        with open(path, "wb") as f:
            f.write(buffer.getvalue())
        return
    buffer.seek(0)
    with Image.open(buffer) as image:
        image.convert("RGB").quantize(colors=64, dither=Image.Dither.NONE).save(path, optimize=True)
