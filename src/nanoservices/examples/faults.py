"""Services that misbehave on request, to prove the fault paths (Ray host crashes)."""

from __future__ import annotations

import os
import threading
from collections.abc import Generator, Iterator
from typing import Any

from nanoservices import Stream, service, streamed

__all__ = ["LockedError", "blocker", "crasher", "failing_stream"]


class LockedError(Exception):
    """An error that cannot be pickled (it holds a lock): it cannot cross Ray as is."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.lock = threading.Lock()


@service
def crasher() -> Generator[Any, Any, None]:
    """Counts requests and replies ``(count, pid)``. The request ``"exit"`` ends its
    whole process at once (``os._exit``), as a segfault or an OOM kill would;
    ``"locked"`` raises [`LockedError`][]."""
    count = 0
    reply: Any = None
    while True:
        request = yield reply
        if request == "exit":
            os._exit(1)
        if request == "locked":
            raise LockedError("holding the lock")
        count += 1
        reply = (count, os.getpid())


def _items_then_error(n: int) -> Iterator[int]:
    yield from range(n)
    raise ValueError(f"no item after {n - 1}")


@service
def failing_stream() -> Generator[Stream[int] | None, int, None]:
    """Streams ``0 .. n-1`` for request ``n``, then fails that stream (the service lives on)."""
    request = yield None
    while True:
        request = yield streamed(_items_then_error(request))


@service
def blocker() -> Generator[Any, Any, None]:
    """Replies ``(count, pid)`` like [`crasher`][]; the request ``("block", path)``
    creates the file ``path`` (the caller's sign that the request is running) and
    then waits for ever, as a service stuck on a dead peer would."""
    count = 0
    reply: Any = None
    while True:
        request = yield reply
        if isinstance(request, tuple) and request[0] == "block":
            with open(request[1], "w"):
                pass
            threading.Event().wait()
        count += 1
        reply = (count, os.getpid())
