"""``nanoservices bench``: run the benchmark suite.

Runs every row with a progress bar, prints the ratio tables, the targets and a
terminal chart, and writes ``bench.json``, ``bench.txt``, ``bench.png`` and
``bench.svg`` to ``--out``. ``--quick`` takes seconds; the full run under a
couple of minutes (it also holds a million live services).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ._app import app

__all__ = ["bench"]


@app.command()
def bench(
    quick: Annotated[
        bool, typer.Option("--quick", help="Fewer rounds and instances: seconds, not minutes.")
    ] = False,
    out: Annotated[
        Path, typer.Option("--out", help="Directory for bench.json, .txt, .png and .svg.")
    ] = Path("bench-results"),
    time_travel: Annotated[
        bool,
        typer.Option(
            "--time-travel",
            help="Also time moving through a durable service's history (at(n) in a "
            "100,000-step journal; a few seconds more).",
        ),
    ] = False,
) -> None:
    """Measure what a request and an idle service cost, against the alternatives."""
    from nanoservices._bench import FULL, QUICK
    from nanoservices._bench.output import write_outputs
    from nanoservices._bench.report import print_report
    from nanoservices._bench.runner import run_with_progress

    console = Console()
    result = run_with_progress(QUICK if quick else FULL, console)
    print_report(result, console)
    written = write_outputs(result, out)
    for path in (written.json, written.text, *written.charts):
        console.print(f"wrote {path}")
    if time_travel:
        _time_travel(quick, out, console)
    if written.missing:
        # escape: the hint's "[bench]" is not Rich markup
        console.print(f"[yellow]no chart: it needs {escape(written.missing)}[/]")


def _time_travel(quick: bool, out: Path, console: Console) -> None:
    """The time travel rows: printed, and written to ``time-travel.json``."""
    import json

    from nanoservices._bench._travel import GOAL_MS, measure_time_travel, render

    with console.status("time travel: writing and reading a long journal"):
        figures = measure_time_travel(20_000, samples=50) if quick else measure_time_travel()
    console.print(render(figures))
    verdict = "[green]met[/]" if figures.at_median_ms <= GOAL_MS else "[red]missed[/]"
    console.print(f"  goal at(n) median <= {GOAL_MS:g} ms: {verdict}")
    path = out / "time-travel.json"
    path.write_text(json.dumps(figures.as_dict(), indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {path}")
