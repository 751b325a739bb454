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
    if written.missing:
        # escape: the hint's "[bench]" is not Rich markup
        console.print(f"[yellow]no chart: it needs {escape(written.missing)}[/]")
