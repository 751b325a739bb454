"""The speed rows as a bar chart (PNG and SVG), with matplotlib's Agg backend.

One horizontal bar per mechanism on a log scale (the rows span four orders of
magnitude), cheapest first, each labelled with its ns per request and its ratio
to a bare ``gen.send``; a dashed line marks the bare send; a legend under the
plot says what the colours (baselines, nanoservices call paths, alternatives)
and the line stand for. The background is transparent and the text a mid grey,
so the same SVG reads on a light and on a dark page.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from .core import BASELINE
from .report import fmt_ns, fmt_ratio
from .results import BenchResult

__all__ = ["draw_chart"]

_COLORS = {"baseline": "#4c78a8", "nanoservices": "#54a24b", "alternative": "#e45756"}
#: What each colour stands for, in the chart's legend.
_LEGEND = {
    "baseline": "baselines (bare gen.send, a plain function call)",
    "nanoservices": "nanoservices call paths",
    "alternative": "alternatives (threads, asyncio, processes, actors)",
}
#: Text, axes and the baseline line: a grey with contrast on white and on a dark page.
_INK = "#808080"
#: Bars reaching past this fraction of the (log) axis carry their label inside.
_INSIDE = 0.55


def draw_chart(result: BenchResult, paths: list[Path], dpi: int = 90) -> list[Path]:
    """Draw the chart once and save it to every path (the suffix picks the format)."""
    import matplotlib

    matplotlib.use("Agg")  # no display, and the same output everywhere
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rows = sorted((row for row in result.speed if row.key != "loop"), key=lambda row: row.median_ns)
    labels = [row.label for row in rows]
    values = [row.median_ns for row in rows]
    style: dict[str, Any] = {
        "text.color": _INK,
        "axes.labelcolor": _INK,
        "axes.edgecolor": _INK,
        "xtick.color": _INK,
        "ytick.color": _INK,
        "font.size": 10,
        "svg.fonttype": "none",  # text stays text: sharp, searchable, the page's font
    }
    with plt.rc_context(style):  # type: ignore[arg-type]  # keys checked by matplotlib
        fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(rows) + 2.0))
    try:
        positions = range(len(rows))
        ax.barh(positions, values, color=[_COLORS.get(row.group, "grey") for row in rows])
        ax.set_yticks(list(positions), labels, fontsize=10, color=_INK)
        ax.invert_yaxis()
        ax.set_xscale("log")
        low, high = min(values) / 2, max(values) * 1.25
        ax.set_xlim(low, high)
        span = math.log10(high / low)
        for position, row in zip(positions, rows, strict=True):
            text = f"{fmt_ns(row.median_ns)} ns  ({fmt_ratio(row.ratio)})"
            if math.log10(row.median_ns / low) / span > _INSIDE:  # long bar: label inside
                ax.text(
                    row.median_ns / 1.08,
                    position,
                    text,
                    va="center",
                    ha="right",
                    fontsize=10,
                    color="white",
                )
            else:
                ax.text(row.median_ns * 1.12, position, text, va="center", fontsize=10, color=_INK)
        base = next((row.median_ns for row in rows if row.key == BASELINE), None)
        legend: list[Any] = [
            Patch(color=color, label=_LEGEND[group])
            for group, color in _COLORS.items()
            if any(row.group == group for row in rows)
        ]
        if base is not None:
            legend.append(
                ax.axvline(base, color=_INK, linestyle="--", linewidth=1.0, label="bare gen.send")
            )
        fig.legend(
            handles=legend,
            loc="lower center",
            ncol=2,
            fontsize=9,
            frameon=False,
            labelcolor=_INK,
        )
        env = result.environment
        ax.set_xlabel("ns per request (median, log scale); ratio to a bare gen.send", color=_INK)
        ax.set_title(
            f"nanoservices: per-request cost, Python {env['python']} ({result.config.mode} run)",
            fontsize=11,
            color=_INK,
        )
        ax.tick_params(colors=_INK, which="both")
        ax.grid(axis="x", which="major", alpha=0.3, color=_INK)
        ax.set_facecolor("none")
        fig.patch.set_alpha(0.0)
        ax.set_axisbelow(True)
        fig.tight_layout(rect=(0, 0.1, 1, 1))  # room for the legend underneath
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix.lower() == ".png":
                _save_small_png(fig, path, dpi)
            else:
                fig.savefig(path, dpi=dpi, transparent=True)
    finally:
        plt.close(fig)
    return paths


def _save_small_png(fig: Any, path: Path, dpi: int) -> None:
    """A PNG with a 64-colour palette: a third of the size, the same to the eye
    (the chart has five flat colours plus anti-aliasing), for committing to docs."""
    from PIL import Image  # Pillow: a dependency of matplotlib

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")  # a bitmap: opaque
    buffer.seek(0)
    with Image.open(buffer) as image:
        image.convert("RGB").quantize(colors=64).save(path, optimize=True)
