"""The services of ``basics`` written as async generators (tests, docs, the demo).

Each behaves exactly like its sync namesake, so the behaviour suite can run the
same tests over async handles.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from nanoservices import OnFailure, Stream, refuse, remaining
from nanoservices.aio import aservice, astreamed

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


@aservice
async def echo() -> AsyncGenerator[Any, Any]:
    """Replies with the request itself (any object, ``None`` included)."""
    reply = None
    while True:
        reply = yield reply


@aservice
async def times_five() -> AsyncGenerator[Any, Any]:
    """Replies ``request * 5``."""
    reply = None
    while True:
        request = yield reply
        reply = request * 5


@aservice
async def md5(encoding: str = "utf-8") -> AsyncGenerator[str | None, str]:
    """The md5 of each request, with a declared request type."""
    reply = None
    while True:
        request = yield reply
        reply = hashlib.md5(request.encode(encoding)).hexdigest()


@aservice
async def counter(start: int = 0) -> AsyncGenerator[int, int]:
    """Adds each request to a running total and replies with the total."""
    total = start
    while True:
        total += yield total


async def _count_down(n: int, closed: list[int]) -> AsyncIterator[int]:
    try:
        for i in range(n, 0, -1):
            await asyncio.sleep(0)  # a real await point, where cancellation can land
            yield i
    finally:
        closed.append(n)


@aservice
async def countdown() -> AsyncGenerator[Stream[int] | list[int], int]:
    """Streams ``n, ..., 1`` from an async source; ``-1`` replies with the closed sources."""
    closed: list[int] = []
    request = yield closed
    while True:
        if request == -1:
            request = yield list(closed)
        elif request < 0:
            raise ValueError(f"cannot count down from {request}")
        else:
            request = yield astreamed(_count_down(request, closed))


@aservice
async def divider(numerator: float = 1.0) -> AsyncGenerator[float | None, float]:
    """Replies ``numerator / request``: a zero request makes the body raise."""
    reply = None
    while True:
        reply = numerator / (yield reply)


# -- the async twins of basics' contract services (tests/conformance) -------------------------


async def _numbers(n: int, closed: list[int]) -> AsyncIterator[int]:
    try:
        for i in range(n, 0, -1):
            await asyncio.sleep(0)
            yield i
    finally:
        closed.append(n)


@aservice
async def keeper(greeting: str = "hello") -> AsyncGenerator[Any, Any]:
    """The async twin of ``basics.keeper``."""
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
                reply = await request()
            except Exception as exc:
                reply = type(exc).__name__
        elif type(request) is int and request > 0:
            reply = astreamed(_numbers(request, closed))
        else:
            reply = request


# Built by helpers, as in ``basics.relay``: the handle tells them by type.
_as_stream = astreamed


def _refusal(reason: str) -> Any:
    return refuse(reason)


@aservice
async def relay() -> AsyncGenerator[Any, Any]:
    """The async twin of ``basics.relay``."""
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


@aservice(restart=OnFailure(2, per=3600.0))
async def fragile() -> AsyncGenerator[int, int]:
    """The async twin of ``basics.fragile``."""
    total = 0
    while True:
        request = yield total
        if request < 0:
            raise ValueError(f"negative: {request}")
        total += request


@aservice
async def stubborn() -> AsyncGenerator[Any, Any]:
    """The async twin of ``basics.stubborn``."""
    reply = None
    try:
        while True:
            reply = yield reply
    finally:
        raise OSError("disk full")


async def _leaking(n: int) -> AsyncIterator[int]:
    try:
        for i in range(n):
            await asyncio.sleep(0)
            yield i
        raise ValueError(f"no item after {n - 1}")
    finally:
        if n == 99:
            raise OSError("source finally: disk full")


@aservice
async def leaky() -> AsyncGenerator[Any, int]:
    """The async twin of ``basics.leaky``."""
    request = yield None
    while True:
        request = yield astreamed(_leaking(request))


# -- the async twin of ``basics.patient``: a deadline cancels it at its awaits ---------------

STEP = 0.005
MOST = 5.0  # seconds of work at most, whatever a request asks (a fuzzer asks for years)


async def _work_until(seconds: float, notes: list[str]) -> str:
    end = time.monotonic() + min(seconds, MOST)
    try:
        while time.monotonic() < end:
            left = remaining()
            if left is not None and left <= 0:
                notes.append("stopped")
                return "stopped"
            await asyncio.sleep(STEP if left is None else min(STEP, left))
    except asyncio.CancelledError:  # its deadline passed: it handles the cancellation
        notes.append("stopped")
        return "stopped"
    return "done"


async def _ticks(n: int | None, notes: list[str]) -> AsyncIterator[int]:
    try:
        i = 0
        while i < (n if n is not None else MOST / STEP):
            await asyncio.sleep(STEP)
            yield i
            i += 1
    finally:
        notes.append("finally")


@aservice
async def patient() -> AsyncGenerator[Any, Any]:
    """``basics.patient`` as an async service: ``["nap", s]`` does not handle a
    cancellation (a deadline leaves it FAILED); ``["until", s]`` handles it
    (it notes "stopped" and stays READY)."""
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
            await asyncio.sleep(min(arg, MOST))
            reply = "rested"
        elif op == "until":
            reply = await _work_until(arg, notes)
        elif op == "ticks":
            reply = astreamed(_ticks(arg, notes))
        elif op == "note":
            notes.append(arg)
            reply = arg
        else:
            raise ValueError(f"unknown request {op!r}")
