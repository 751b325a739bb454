"""What a durable flow asks of the service it journals, and the two drivers that run a flow.

A flow (see [`_flow`][] and [`Replay`][nanoservices.durable._replay.Replay]) decides
what is journalled and compares what replay gives; whatever touches the service
it yields as an *effect*, and the driver does it: the sync handle on its local
handle with ``run``, the async engine on itself with ``arun`` (the core's
public drivers, ``run_flow`` and ``arun_flow``). The answer is sent back into
the flow; an error the step raised is thrown into it. This is the core's way
(``core/_steps``): one logic, two 12-line drivers.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, NamedTuple, TypeAlias, TypeVar

from nanoservices.core import arun_flow as arun
from nanoservices.core import run_flow as run

__all__ = [
    "CLOSE",
    "END",
    "QUIET",
    "RESET",
    "RESTART",
    "START",
    "TAKE",
    "Call",
    "CancelStream",
    "Flow",
    "IsOpen",
    "NextItem",
    "OpenStream",
    "Restore",
    "ThrowIn",
    "arun",
    "run",
]


class Call(NamedTuple):
    """Run ``request`` as a call; the answer is the reply."""

    request: object


class OpenStream(NamedTuple):
    """Open ``request``'s streamed reply; the answer is its cursor (the kind's own)."""

    request: object


class NextItem(NamedTuple):
    """The stream's next item; the answer is the item, or [`END`][] when it ended."""

    cursor: Any


class CancelStream(NamedTuple):
    """Stop the stream early (its source closed)."""

    cursor: Any


class IsOpen(NamedTuple):
    """Whether the stream is still open; the answer is a bool."""

    cursor: Any


class ThrowIn(NamedTuple):
    """Raise ``exc`` inside the service; the answer is what it yields next."""

    exc: BaseException | type[BaseException]


class Restore(NamedTuple):
    """Put a snapshot's ``state`` back into the service (``Snapshots.restore``)."""

    state: object


class _Named:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: Start the service: a fresh instance from its factory, primed.
START = _Named("START")
#: Close the service (its ``finally`` blocks run).
CLOSE = _Named("CLOSE")
RESET = _Named("RESET")
RESTART = _Named("RESTART")
#: The service's state for a snapshot (``Snapshots.take``); the answer is the state.
TAKE = _Named("TAKE")
#: Whether the service may be snapshotted now (ready, no stream open); a bool.
QUIET = _Named("QUIET")
#: [`NextItem`][]'s answer once the stream has ended.
END = _Named("END")

Effect: TypeAlias = (
    "Call | OpenStream | NextItem | CancelStream | IsOpen | ThrowIn | Restore | _Named"
)
#: What a flow ends with.
R = TypeVar("R")
#: A flow: yields effects, is sent their answers, returns an ``R``.
Flow: TypeAlias = Generator[Effect, Any, R]
