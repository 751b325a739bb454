"""Deadlines: how long the caller can wait, as a context value the service can read.

A handle given ``timeout=`` (or a handle-wide default) works out the deadline
(a ``time.monotonic()`` instant) and sets it, for the request's run, in a
context variable: [`remaining`][] inside the service then says how many
seconds are left, so a service that cannot be interrupted (a sync service runs
in its caller's thread) can stop cooperatively. The deadline in force is
passed on: a service that calls another with ``timeout=`` gets the earlier of
the two, as a gRPC server's outgoing calls inherit its incoming deadline.

Transports carry the deadline across: the HTTP server and the Ray host set it
from what the caller sent, so [`remaining`][] works on every kind of handle.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any, TypeVar

from ._errors import DeadlineExceeded, short_repr
from ._stream import ReplyStream

__all__ = [
    "Bounded",
    "TimedStream",
    "abounded",
    "check_timeout",
    "deadline_at",
    "left",
    "remaining",
    "within",
]

ItemT = TypeVar("ItemT")
T = TypeVar("T")

_monotonic = time.monotonic

#: The deadline of the request being served in this context (``time.monotonic()``).
_DEADLINE: ContextVar[float | None] = ContextVar("nanoservices_deadline", default=None)


def remaining() -> float | None:
    """Seconds left before the deadline of the request being served, or None.

    Call it inside a service to stop cooperatively: ``None`` means the caller
    set no deadline; ``0.0`` means it has passed (the caller has given up, or
    will be told so). Works on every kind of handle, on the serving side.
    """
    at = _DEADLINE.get()
    return None if at is None else max(at - _monotonic(), 0.0)


def check_timeout(timeout: float | None) -> float | None:
    """``timeout`` if it is a usable bound in seconds (a number >= 0, or None)."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise TypeError(f"timeout must be a number of seconds or None, got {timeout!r}")
    if math.isnan(timeout) or timeout < 0:
        raise ValueError(f"timeout must be >= 0 seconds or None, got {timeout!r}")
    return float(timeout)


def deadline_at(timeout: float | None) -> float | None:
    """The deadline for a request sent now with ``timeout``: the earlier of
    ``timeout`` from now and the deadline already in force (or None for neither)."""
    outer = _DEADLINE.get()
    if timeout is None:
        return outer
    at = _monotonic() + timeout
    return at if outer is None or at < outer else outer


def left(at: float | None) -> float | None:
    """Seconds from now to ``at`` (at least 0), or None without a deadline."""
    return None if at is None else max(at - _monotonic(), 0.0)


def enter(at: float | None) -> Token[float | None]:
    """Make ``at`` the deadline in force in this context (undo with [`leave`][])."""
    return _DEADLINE.set(at)


def leave(token: Token[float | None]) -> None:
    """Restore the deadline that was in force before [`enter`][]."""
    _DEADLINE.reset(token)


@contextmanager
def within(at: float | None) -> Iterator[None]:
    """The deadline ``at`` in force for the ``with`` block."""
    token = _DEADLINE.set(at)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


class Bounded:
    """A send that runs under a deadline ``seconds`` from each call (a handle-wide
    default): refused with [`DeadlineExceeded`][] when it has already passed,
    else run with [`remaining`][] set for the service."""

    __slots__ = ("inner", "name", "seconds")

    def __init__(self, inner: Any, seconds: float, name: str) -> None:
        self.inner = inner
        self.seconds = seconds
        self.name = name

    def __call__(self, request: object) -> object:
        at = deadline_at(self.seconds)
        assert at is not None
        if _monotonic() >= at:
            raise DeadlineExceeded(self.name, request, self.seconds)
        token = _DEADLINE.set(at)
        try:
            return self.inner(request)
        finally:
            _DEADLINE.reset(token)


class TimedStream(ReplyStream[ItemT]):
    """A local stream under a deadline: checked before each item (past it, the
    stream is cancelled, so the service's ``finally`` runs and it is READY again,
    and the caller gets [`DeadlineExceeded`][]), in force while each item is
    made (the service reads it with [`remaining`][])."""

    __slots__ = ("_at", "_timeout")

    def __init__(
        self, handle: Any, cursor: Any, request: object, at: float, timeout: float | None
    ) -> None:
        super().__init__(handle, cursor, request)
        self._at = at
        self._timeout = timeout

    def __iter__(self) -> TimedStream[ItemT]:
        return self  # item by item: each one is checked

    def __next__(self) -> ItemT:
        if self._handle._stream is self._cursor and _monotonic() >= self._at:
            self.cancel()
            raise DeadlineExceeded(
                self._handle.name,
                self.request,
                self._timeout,
                f"the stream for request {short_repr(self.request)} passed its deadline"
                + ("" if self._timeout is None else f" ({self._timeout:g}s)")
                + " and was cancelled",
            )
        token = _DEADLINE.set(self._at)
        try:
            return super().__next__()
        finally:
            _DEADLINE.reset(token)


async def abounded(
    name: str,
    request: object,
    at: float | None,
    timeout: float | None,
    locked: Callable[..., Awaitable[T]],
    what: str,
    fn: Callable[..., Awaitable[Any]],
    *args: Any,
) -> T:
    """``await locked(what, fn, *args)`` (an async handle's turn and step) under the
    deadline ``at``: refused if it has passed; cancelled when it passes, which the
    caller gets as [`DeadlineExceeded`][] (the task's own cancellation, from
    outside, stays a ``CancelledError``)."""
    import asyncio  # here: ``import nanoservices`` does not load asyncio

    if at is None:
        return await locked(what, fn, *args)
    seconds = at - _monotonic()
    if seconds <= 0:
        raise DeadlineExceeded(name, request, timeout)
    token = _DEADLINE.set(at)
    scope = asyncio.timeout(seconds)
    try:
        async with scope:
            return await locked(what, fn, *args)
    except TimeoutError:
        if not scope.expired():
            raise  # not ours: a DeadlineExceeded from further in, say
        raise DeadlineExceeded(
            name,
            request,
            timeout,
            f"request {short_repr(request)} missed its deadline"
            + ("" if timeout is None else f" ({timeout:g}s)")
            + " and was cancelled",
        ) from None
    finally:
        _DEADLINE.reset(token)
