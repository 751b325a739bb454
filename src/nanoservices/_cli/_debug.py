"""``nanoservices journal debug``: pdb inside a replayed service, at one step."""

from __future__ import annotations

import pdb

import typer

from nanoservices.durable import History, JournalError, Step

__all__ = ["debug_step"]


def debug_step(hist: History, seq: int) -> Step:
    """Replay ``hist`` to just before step ``seq``, then run it under pdb (reading
    commands from stdin: a terminal or a pipe), stopped in the service's frame."""
    try:
        hist.step(seq, replay=False)  # a step beyond the journal is refused before any replay
        typer.echo(f"{hist.name}, key {hist.key!r}: replayed to step {seq - 1}; pdb stops in the")
        typer.echo(f"service's frame as it takes step {seq} ('c' runs the step to its end)")
        return hist.debug(seq, pdb.Pdb())
    except (IndexError, JournalError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
