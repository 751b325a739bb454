"""``nanoservices demo``: the talk, end to end, offline.

md5 digests, WMO forecasts served from bundled data by a local server the demo
starts and stops, people queries on a freshly seeded SQLite database, a reset
mid-stream, the talk's raw generators hosted unchanged, and the statistics of
every service it ran. A section whose service is missing from this build is
skipped with a note; a section that fails is reported and the demo goes on
(exit status 1 at the end).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule

from ._app import app
from ._demo_context import DemoContext, SectionSkipped
from ._demo_services import forecast_section, md5_section, people_section
from ._demo_talk import talk_section

__all__ = ["demo"]

Section = Callable[[DemoContext], None]

_WIDE = 100

_SECTIONS: tuple[tuple[str, Section], ...] = (
    ("1. md5: a nanoservice in four lines", md5_section),
    ("2. WMO forecasts: one fetch per city, one day per step", forecast_section),
    ("3. people: a query language made of a dict", people_section),
    ("4. the talk's generators, hosted unchanged", talk_section),
)


@app.command()
def demo(
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            metavar="PATH",
            help="SQLite people database (seeded if missing; default: a temp dir).",
        ),
    ] = None,
    people_count: Annotated[
        int, typer.Option("--people", min=1, help="How many people to seed.")
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed for the people.")] = 0,
) -> None:
    """Run the talk's examples end to end, offline (no network)."""
    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        # Off a terminal rich assumes 80 columns: too narrow for the statistics' nine.
        console = Console(width=_WIDE)
    console.print(
        Panel(
            "Generators, coroutines, and nanoservices (PyCon Africa 2020), end to end.\n"
            "Offline: forecasts come from bundled WWIS data on a local server (127.0.0.1).",
            title="nanoservices demo",
            expand=False,
        )
    )
    failed = 0
    with (
        tempfile.TemporaryDirectory(prefix="nanoservices-demo-") as workdir,
        DemoContext(console, Path(workdir), db, people_count, seed) as ctx,
    ):
        for title, section in _SECTIONS:
            console.print(Rule(title, align="left"))
            failed += _run_section(ctx, section)
        console.print(Rule("5. statistics of the services the demo ran", align="left"))
        table = ctx.observer.table(ctx.handles, title="statistics")
        if table is not None:
            console.print(table)
        else:
            console.print(f"[yellow]skipped: {escape(ctx.observer.missing_statistics)}[/]")
    console.print("[bold green]done[/]" if not failed else f"[red]{failed} section(s) failed[/]")
    raise typer.Exit(1 if failed else 0)


def _run_section(ctx: DemoContext, section: Section) -> int:
    """Run one section; 1 if it failed (reported), 0 if it ran or was skipped."""
    try:
        section(ctx)
    except SectionSkipped as exc:
        ctx.console.print(f"[yellow]skipped: {escape(str(exc))}[/]")
    except Exception as exc:  # one broken section must not hide the others
        ctx.console.print(f"[red]this section failed: {type(exc).__name__}: {escape(str(exc))}[/]")
        return 1
    return 0
