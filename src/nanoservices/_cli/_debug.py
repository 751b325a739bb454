"""``nanoservices journal debug``: pdb inside a replayed service, at one step."""

from __future__ import annotations

import pdb
from types import FrameType

import typer

from nanoservices.durable import History, JournalError, Step

__all__ = ["debug_step"]


class _Announced(pdb.Pdb):
    """pdb that says where it stopped as it starts: only once the history replayed
    to the step, so a refused step or service announces nothing."""

    def __init__(self, announcement: str) -> None:
        super().__init__()
        self.announcement = announcement

    def set_trace(self, frame: FrameType | None = None) -> None:
        typer.echo(self.announcement)
        super().set_trace(frame)


def debug_step(hist: History, seq: int) -> Step:
    """Replay ``hist`` to just before step ``seq``, then run it under pdb (reading
    commands from stdin: a terminal or a pipe), stopped in the service's frame."""
    announcement = (
        f"{hist.name}, key {hist.key!r}: replayed to step {seq - 1}; pdb stops in the\n"
        f"service's frame as it takes step {seq} ('c' runs the step to its end)"
    )
    try:
        return hist.debug(seq, _Announced(announcement))
    except (IndexError, JournalError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
