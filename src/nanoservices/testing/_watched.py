"""What both starters keep: the handles a test started, where, and what each was left with.

The sync and async starters differ only in how they start and close a handle;
watching, recording events and checking for leftovers are the same and live here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from nanoservices.observe import Recorder, Tracing

from ._checks import leftover, started_where

if TYPE_CHECKING:
    from nanoservices import Handle
    from nanoservices.aio import AsyncHandleProtocol

__all__ = ["LeftoverError", "WatchedHandles"]

H = TypeVar("H", bound="Handle[Any, Any] | AsyncHandleProtocol[Any, Any]")


class LeftoverError(AssertionError):
    """A test left a service FAILED or with an open stream (one line per service).

    Each line names the service, what it was left with and where the test
    started it. Shown under its public name, ``nanoservices.testing.LeftoverError``.
    """

    __module__ = "nanoservices.testing"


class WatchedHandles(Generic[H]):
    """The handles a starter watches, oldest first, with where each was started."""

    __slots__ = ("_handles", "_started_at", "_tracing", "events")

    def __init__(self, events: Recorder | None = None) -> None:
        self.events = events
        self._handles: list[H] = []
        self._tracing = Tracing()
        self._started_at: dict[int, str] = {}  # id(handle) -> where the test started it

    def _keep(self, handle: H) -> None:
        """Watch ``handle``: record its events (if asked) and where the test started it."""
        if self.events is not None:
            try:
                self._tracing.add(handle, self.events)
            except TypeError:  # a remote handle reports no events: check it all the same
                pass
        self._handles.append(handle)
        self._started_at[id(handle)] = started_where()

    def _release(self) -> list[H]:
        """Stop watching every handle; return them newest first, for closing."""
        handles, self._handles = self._handles, []
        self._started_at.clear()
        return handles[::-1]

    @property
    def handles(self) -> tuple[H, ...]:
        """The handles started or watched, oldest first."""
        return tuple(self._handles)

    def leftovers(self) -> list[str]:
        """What each handle was left with (FAILED, an open stream); empty when clean."""
        return [
            f"{problem} (started at {self._started_at.get(id(h), 'an unknown place')})"
            for h in self._handles
            if (problem := leftover(h)) is not None
        ]

    def check(self) -> None:
        """Raise [`LeftoverError`][] if a service was left FAILED or with an open stream."""
        problems = self.leftovers()
        if problems:
            raise LeftoverError("; ".join(problems))
