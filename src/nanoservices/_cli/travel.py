"""``nanoservices journal inspect|step|debug|diverge``: a durable key's history, step by step.

Each replays the key's journal into the service named by ``--service`` (the
service's code runs again; see ``nanoservices.replaying``) and shows its frames:
the ``yield from`` chain with each frame's line and locals, as ``inspect``
shows a live service.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from nanoservices.durable import History, JournalError

from . import _travel
from ._stepper import Stepper
from .journal import DsnOption, ForceOption, SnapshotsOption, StoreOption, _open, journal

__all__ = ["debug", "diverge", "inspect_at", "step"]

ServiceRequired = Annotated[
    str,
    typer.Option("--service", metavar="MODULE:FACTORY", help="The service, to replay the key."),
]
AtOption = Annotated[int, typer.Option("--at", metavar="N", help="The step (entry number).")]
DEFAULT_STORE = Path("nanoservices-journal.sqlite")


@contextmanager
def _replayed(
    key: str, service: str, store: Path, dsn: str | None, snapshots: str | None, force: bool
) -> Iterator[History]:
    """KEY's history in the store, replayed into SERVICE; the store closes on leaving."""
    with (
        _open(store, dsn) as opened,
        _travel.open_history(opened, key, service, snapshots, force) as hist,
    ):
        yield hist


@journal.command("inspect")
def inspect_at(
    key: str,
    service: ServiceRequired,
    at: AtOption,
    store: StoreOption = DEFAULT_STORE,
    dsn: DsnOption = None,
    snapshots: SnapshotsOption = None,
    force: ForceOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="The frames as JSON.")] = False,
) -> None:
    """The service's frames right after step N: its yield-from chain, lines and locals."""
    with _replayed(key, service, store, dsn, snapshots, force) as hist:
        moment = hist.at(at)
        if as_json:
            step = None if moment.step is None else _travel.step_record(moment.step)
            frames = [
                {
                    "function": view.function,
                    "file": view.filename,
                    "line": view.lineno,
                    "source": view.source,
                    "locals": view.locals,
                }
                for view in moment.chain
            ]
            typer.echo(_travel.as_json({"seq": moment.seq, "step": step, "chain": frames}))
            return
        typer.echo(str(moment))


@journal.command()
def step(
    key: str,
    service: ServiceRequired,
    store: StoreOption = DEFAULT_STORE,
    dsn: DsnOption = None,
    snapshots: SnapshotsOption = None,
    force: ForceOption = False,
    at: Annotated[int | None, typer.Option("--at", metavar="N", help="Start at step N.")] = None,
) -> None:
    """Step through KEY's history: next, back, goto N, locals, diff N M, changes NAME,
    where, quit (commands come from the terminal, or a pipe)."""
    with _replayed(key, service, store, dsn, snapshots, force) as hist:
        stepper = Stepper(hist, typer.echo)
        stepper.run(sys.stdin, start=at, interactive=sys.stdin.isatty())


@journal.command()
def debug(
    key: str,
    service: ServiceRequired,
    at: AtOption,
    store: StoreOption = DEFAULT_STORE,
    dsn: DsnOption = None,
    snapshots: SnapshotsOption = None,
    force: ForceOption = False,
) -> None:
    """pdb, stopped inside the service's own frame as it handles step N."""
    from ._debug import debug_step

    with _replayed(key, service, store, dsn, snapshots, force) as hist:
        step = debug_step(hist, at)
    typer.echo(f"step {at}: {step}")


@journal.command()
def diverge(
    key: str,
    service: ServiceRequired,
    edited: Annotated[
        str,
        typer.Option("--with", metavar="MODULE:FACTORY", help="The edited service to compare."),
    ],
    store: StoreOption = DEFAULT_STORE,
    dsn: DsnOption = None,
    snapshots: SnapshotsOption = None,
    force: ForceOption = False,
) -> None:
    """Replay KEY into edited code: the first step it answers differently, with both
    services' frames there (exit status 1), or none (0)."""
    other = _travel.load_factory(edited)
    with _replayed(key, service, store, dsn, snapshots, force) as hist:
        try:
            found = hist.diverge(other)
        except JournalError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
        if found is None:
            typer.echo(f"{edited} answers all {len(hist)} steps as the journal does")
            return
        typer.echo(str(found))
    raise typer.Exit(1)
