"""Writing a run to disk: JSON (all numbers), text (the tables), PNG and SVG
(the chart)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from nanoservices.core.seam import install_hint

from .report import render_text
from .results import BenchResult

__all__ = ["Written", "write_json", "write_outputs"]


@dataclass(frozen=True, slots=True)
class Written:
    """The files one run wrote."""

    json: Path
    text: Path
    charts: list[Path]
    missing: str | None = None  # what to install for the files not written


def write_json(result: BenchResult, path: Path) -> Path:
    """Every number of the run, with its configuration and environment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    env = result.environment
    # Which Python measured it, first: ratios differ between versions.
    data = {"python": env["python"], "implementation": env["implementation"], **result.to_json()}
    data["targets"] = [
        {**target, "passed": t.passed, "verdict": t.verdict}
        for target, t in zip(data["targets"], result.targets, strict=True)
    ]
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def write_outputs(result: BenchResult, out: Path, stem: str = "bench") -> Written:
    """``bench.json``, ``bench.txt``, ``bench.png`` and ``bench.svg`` in ``out``.

    The chart needs matplotlib (the ``bench`` extra); without it the table and
    the JSON are still written and ``Written.missing`` says what to install.
    """
    out.mkdir(parents=True, exist_ok=True)
    json_path = write_json(result, out / f"{stem}.json")
    text_path = out / f"{stem}.txt"
    text_path.write_text(render_text(result), encoding="utf-8")
    from .chart import draw_chart

    try:
        charts = draw_chart(result, [out / f"{stem}.png", out / f"{stem}.svg"])
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("matplotlib"):
            raise
        return Written(json_path, text_path, [], f"matplotlib: {install_hint('bench')}")
    return Written(json_path, text_path, charts)
