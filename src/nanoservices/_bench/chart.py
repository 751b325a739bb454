"""The speed rows as a bar chart (PNG and SVG), with matplotlib's Agg backend.

One horizontal bar per mechanism on a log scale (the rows span four orders of
magnitude), each labelled with its ns per request and its ratio to a bare
``gen.send``; a dashed line marks the bare send; a legend says what the colours
(baselines, nanoservices call paths, alternatives) and the line stand for.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from .core import BASELINE, BenchResult
from .report import fmt_ns, fmt_ratio

__all__ = ["draw_chart"]

_COLORS = {"baseline": "#4c78a8", "nanoservices": "#54a24b", "alternative": "#e45756"}
#: What each colour stands for, in the chart's legend.
_LEGEND = {
    "baseline": "baselines (bare gen.send, a plain function call)",
    "nanoservices": "nanoservices call paths",
    "alternative": "alternatives (threads, asyncio, processes, actors)",
}


def draw_chart(result: BenchResult, paths: list[Path], dpi: int = 90) -> list[Path]:
    """Draw the chart once and save it to every path (the suffix picks the format)."""
    import matplotlib

    matplotlib.use("Agg")  # no display, and the same output everywhere
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rows = [row for row in result.speed if row.key != "loop"]
    labels = [row.label for row in rows]
    values = [row.median_ns for row in rows]
    fig, ax = plt.subplots(figsize=(8.5, 0.36 * len(rows) + 1.4))
    try:
        positions = range(len(rows))
        ax.barh(positions, values, color=[_COLORS.get(row.group, "grey") for row in rows])
        ax.set_yticks(list(positions), labels)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlim(min(values) / 2, max(values) * 12)
        for position, row in zip(positions, rows, strict=True):
            ax.text(
                row.median_ns * 1.12,
                position,
                f"{fmt_ns(row.median_ns)} ns  ({fmt_ratio(row.ratio)})",
                va="center",
                fontsize=8,
            )
        base = next((row.median_ns for row in rows if row.key == BASELINE), None)
        legend: list[Any] = [
            Patch(color=color, label=_LEGEND[group])
            for group, color in _COLORS.items()
            if any(row.group == group for row in rows)
        ]
        if base is not None:
            legend.append(
                ax.axvline(
                    base, color="black", linestyle="--", linewidth=0.8, label="bare gen.send"
                )
            )
        ax.legend(handles=legend, loc="upper right", fontsize=7, framealpha=0.9)  # short bars
        env = result.environment
        ax.set_xlabel("ns per request (median, log scale); ratio to a bare gen.send")
        ax.set_title(
            f"nanoservices: per-request cost, Python {env['python']} ({result.config.mode} run)",
            fontsize=10,
        )
        ax.grid(axis="x", which="major", alpha=0.3)
        fig.tight_layout()
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix.lower() == ".png":
                _save_small_png(fig, path, dpi)
            else:
                fig.savefig(path, dpi=dpi)
    finally:
        plt.close(fig)
    return paths


def _save_small_png(fig: Any, path: Path, dpi: int) -> None:
    """A PNG with a 64-colour palette: a third of the size, the same to the eye
    (the chart has five flat colours plus anti-aliasing), for committing to docs."""
    from PIL import Image  # Pillow: a dependency of matplotlib

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    buffer.seek(0)
    with Image.open(buffer) as image:
        image.convert("RGB").quantize(colors=64).save(path, optimize=True)
