"""Small native services used by the tests, the docs, the benchmarks and the demo."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Generator, Iterator
from typing import Any

from nanoservices import OnFailure, Stream, refuse, remaining, replaying, service, streamed

__all__ = [
    "countdown",
    "counter",
    "divider",
    "echo",
    "fragile",
    "keeper",
    "leaky",
    "md5",
    "patient",
    "relay",
    "stubborn",
    "times_five",
]


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
            request = yield streamed(_count_down(request, closed))


@service
def divider(numerator: float = 1.0) -> Generator[float | None, float, None]:
    """Replies ``numerator / request``: a zero request makes the body raise."""
    reply = None
    while True:
        reply = numerator / (yield reply)


# -- services for the behaviour suite's contract tests (tests/conformance) -------------------


def _numbers(n: int, closed: list[int]) -> Iterator[int]:
    try:
        yield from range(n, 0, -1)
    finally:
        closed.append(n)


@service
def keeper(greeting: str = "hello") -> Generator[Any, Any, None]:
    """Greets with ``greeting``; streams ``n, ..., 1`` for a positive int ``n``;
    ``"odd"`` is refused; ``"boom"`` raises; ``"closed"`` replies with the streams
    whose source was closed; a callable request is called (in-process only); a
    thrown ``KeyError`` is caught and answered ``"caught <key>"``; anything else
    is echoed."""
    closed: list[int] = []
    reply: Any = greeting
    while True:
        try:
            request = yield reply
        except KeyError as exc:  # thrown in at the yield
            reply = f"caught {exc.args[0]}"
            continue
        if request == "closed":
            reply = list(closed)
        elif request == "odd":
            reply = refuse("odd requests are refused")
        elif request == "boom":
            raise ValueError("boom")
        elif callable(request):  # in-process only: lets a test call the handle from inside
            try:
                reply = request()
            except Exception as exc:
                reply = type(exc).__name__
        elif type(request) is int and request > 0:
            reply = streamed(_numbers(request, closed))
        else:
            reply = request


# Built by helpers, so nothing in ``relay``'s own code names ``streamed`` or
# ``refuse``: the handle must tell a streamed reply or a refusal by its type.
_as_stream = streamed


def _refusal(reason: str) -> Any:
    return refuse(reason)


@service
def relay() -> Generator[Any, Any, None]:
    """Streams ``n, ..., 1`` for a positive int ``n`` and refuses ``"odd"``, both
    through helpers; ``"closed"`` replies with the streams whose source was closed;
    anything else is echoed."""
    closed: list[int] = []
    reply: Any = None
    while True:
        request = yield reply
        if request == "closed":
            reply = list(closed)
        elif request == "odd":
            reply = _refusal("odd requests are refused")
        elif type(request) is int and request > 0:
            reply = _as_stream(_numbers(request, closed))
        else:
            reply = request


@service(restart=OnFailure(2, per=3600.0))
def fragile() -> Generator[int, int, None]:
    """A running total that raises on a negative request; restarted twice at most."""
    total = 0
    while True:
        request = yield total
        if request < 0:
            raise ValueError(f"negative: {request}")
        total += request


@service
def stubborn() -> Generator[Any, Any, None]:
    """Echoes; its ``finally`` raises ``OSError("disk full")`` when it is closed."""
    reply = None
    try:
        while True:
            reply = yield reply
    finally:
        raise OSError("disk full")


def _leaking(n: int) -> Iterator[int]:
    try:
        yield from range(n)
        raise ValueError(f"no item after {n - 1}")
    finally:
        if n == 99:
            raise OSError("source finally: disk full")


@service
def leaky() -> Generator[Any, int, None]:
    """Streams ``0 .. n-1`` then fails the stream (the service lives on); for
    ``n == 99`` the source's ``finally`` raises too (closing it early fails)."""
    request = yield None
    while True:
        request = yield streamed(_leaking(request))


# -- a service that takes its time, for the deadline tests and benchmark ----------------------

STEP = 0.005  # seconds per step of ``patient``'s work and per item of its ticks
MOST = 5.0  # seconds of work at most, whatever a request asks (a fuzzer asks for years)


def _work_until(seconds: float, notes: list[str]) -> str:
    end = time.monotonic() + min(seconds, MOST)
    while time.monotonic() < end:
        left = remaining()
        if left is not None and left <= 0:
            notes.append("stopped")
            return "stopped"
        time.sleep(STEP if left is None else min(STEP, left))
    return "done"


def _ticks(n: int | None, notes: list[str]) -> Iterator[int]:
    try:
        i = 0
        while i < (n if n is not None else MOST / STEP):
            time.sleep(STEP)
            yield i
            i += 1
    finally:
        notes.append("finally")


@service
def patient() -> Generator[Any, Any, None]:
    """Takes its time; notes what happened (the deadline tests and benchmark).

    ``["nap", s]`` sleeps ``s`` seconds (5 at most), deaf to any deadline (replies "rested";
    not when [`replaying`][nanoservices.replaying]: a replayed nap is instant);
    ``["until", s]`` works in short steps until its deadline passes (notes and
    replies "stopped") or ``s`` seconds do ("done"); ``["ticks", n]`` streams
    0, 1, ... (``n`` items; ``None``: until 5 s are up), a short step each, noting
    "finally" when the stream's ``finally`` runs; ``["note", x]`` notes ``x``;
    ``"remaining"`` replies with [`remaining`][nanoservices.remaining]; ``"notes"``
    replies with the notes so far and forgets them.
    """
    notes: list[str] = []
    reply: Any = None
    while True:
        request = yield reply
        if request == "notes":
            reply = list(notes)
            notes.clear()
            continue
        if request == "remaining":
            reply = remaining()
            continue
        op, arg = request
        if op == "nap":
            if not replaying():  # a replay rebuilds the state: waiting again is waste
                time.sleep(min(arg, MOST))
            reply = "rested"
        elif op == "until":
            reply = _work_until(arg, notes)
        elif op == "ticks":
            reply = streamed(_ticks(arg, notes))
        elif op == "note":
            notes.append(arg)
            reply = arg
        else:
            raise ValueError(f"unknown request {op!r}")
