"""``Replayable``: side effects whose recorded result is returned on replay.

A service that reads the clock, a random source or the network cannot be
replayed as is: replay would see other values. Pass it a [`Replayable`][]
and route such reads through it: live, ``rec(fn, *args)`` calls ``fn`` and the
durable handle journals the result; on replay it returns the journalled result
without calling ``fn``. A plain (non-durable) handle just calls ``fn``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

from ._entries import encode

__all__ = ["Replayable"]

T = TypeVar("T")


class Replayable:
    """Give one to a service as a factory argument; the durable handle binds it."""

    __slots__ = ("_record", "_replaying", "_results")

    def __init__(self) -> None:
        self._record: Callable[[bytes], None] | None = None
        self._replaying = False
        self._results: deque[bytes] = deque()

    def __call__(self, fn: Callable[..., T], *args: Any, type: Any = Any) -> T:
        """``fn(*args)`` live (its result journalled); the journalled result on replay.

        The result must be msgspec-encodable; ``type`` rebuilds it on replay
        (plain data otherwise).
        """
        if self._replaying:
            if not self._results:
                raise LookupError(
                    "replay asked for a replayable result the journal does not hold "
                    "(the service made other side effects than when it ran)"
                )
            recorded: T = msgspec.msgpack.decode(self._results.popleft(), type=type)
            return recorded
        result = fn(*args)
        if self._record is not None:
            self._record(encode(result))
        return result

    # -- driven by the durable handle ----------------------------------------

    def _bind(self, record: Callable[[bytes], None] | None) -> None:
        self._record = record

    def _replay(self, on: bool) -> None:
        self._replaying = on
        if not on:
            self._results.clear()

    def _feed(self, body: bytes) -> None:
        self._results.append(body)
