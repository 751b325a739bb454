"""Running the suite with a rich progress bar (the CLI's and the script's way)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from .core import run_suite
from .results import BenchConfig, BenchResult

__all__ = ["run_with_progress"]


def run_with_progress(config: BenchConfig, console: Console | None = None) -> BenchResult:
    """``run_suite`` with a progress bar on ``console`` (transient: gone when done)."""
    console = console or Console()
    with Progress(
        TextColumn("[bold]bench[/] {task.description:<40}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def progress(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        return run_suite(config, progress)
