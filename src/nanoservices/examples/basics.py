"""Small native services used by the tests, the docs, the benchmarks and the demo."""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Iterator
from typing import Any

from nanoservices import Stream, service, stream

__all__ = ["countdown", "counter", "divider", "echo", "md5", "times_five"]


@service
def echo() -> Generator[Any, Any, None]:
    """Replies with the request itself (any object, ``None`` included)."""
    reply = None
    while True:
        reply = yield reply


@service
def times_five() -> Generator[Any, Any, None]:
    """The talk's times-five, in the native protocol: no falsy request ends it."""
    reply = None
    while True:
        request = yield reply
        reply = request * 5


@service
def md5(encoding: str = "utf-8") -> Generator[str | None, str, None]:
    """The talk's md5 service in the native protocol, with a declared request type."""
    reply = None
    while True:
        request = yield reply
        reply = hashlib.md5(request.encode(encoding)).hexdigest()


@service
def counter(start: int = 0) -> Generator[int, int, None]:
    """Adds each request to a running total and replies with the total: state kept."""
    total = start
    while True:
        total += yield total


def _count_down(n: int, closed: list[int]) -> Iterator[int]:
    try:
        yield from range(n, 0, -1)
    finally:
        closed.append(n)


@service
def countdown() -> Generator[Stream[int] | list[int], int, None]:
    """Streams ``n, n-1, ..., 1`` for request ``n``; request ``-1`` replies with the
    list of streams whose source was closed (to observe early exit)."""
    closed: list[int] = []
    request = yield closed
    while True:
        if request == -1:
            request = yield list(closed)
        elif request < 0:
            raise ValueError(f"cannot count down from {request}")
        else:
            request = yield stream(_count_down(request, closed))


@service
def divider(numerator: float = 1.0) -> Generator[float | None, float, None]:
    """Replies ``numerator / request``: a zero request makes the body raise."""
    reply = None
    while True:
        reply = numerator / (yield reply)
