"""Event records and the hook plumbing behind tracing and statistics.

Hooks are off by default and free when off: a handle with no hook calls its
generator directly; adding a hook switches the handle to a traced send once,
not a check per call. A hook that raises is removed and logged, so observing a
service can never break it.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from typing import NamedTuple

__all__ = ["CallTimer", "Event", "EventKind", "Hook", "call_timers", "emit", "now_ns"]

logger = logging.getLogger("nanoservices")

now_ns = time.perf_counter_ns


class EventKind(enum.Enum):
    """What happened to a service."""

    REQUEST = "request"
    """A request arrived (``value`` is the request)."""
    REPLY = "reply"
    """The service replied (``value`` is the reply; ``duration_ns`` the call's time)."""
    STREAM_OPEN = "stream_open"
    """A streamed reply was opened."""
    ITEM = "item"
    """A stream yielded an item (``value`` is the item)."""
    STREAM_END = "stream_end"
    """A stream ended (exhausted, closed, or replaced)."""
    ERROR = "error"
    """The body raised (``error`` is the exception, ``value`` the request)."""
    RESET = "reset"
    """The service was reset to a fresh instance."""
    THROW = "throw"
    """An exception was thrown into the service (``value`` is the exception)."""
    RESTART = "restart"
    """The restart policy (or ``restart()``) replaced the instance."""
    CLOSE = "close"
    """The service was closed."""


class Event(NamedTuple):
    """One thing that happened to a service, with its timing.

    ``value`` is the request (REQUEST, ERROR), the exception thrown in (THROW),
    the reply (REPLY), the item (ITEM) or ``None``; ``duration_ns`` is set on
    REPLY (the call's duration).
    A named tuple, not a frozen dataclass: events are made on the traced path,
    and a tuple is three times cheaper to build.
    """

    kind: EventKind
    """What happened."""
    service: str
    """The name of the service it happened to."""
    value: object = None
    """The request, exception thrown in, reply or item, as the kind says; else ``None``."""
    error: BaseException | None = None
    """The exception, on ERROR; else ``None``."""
    duration_ns: int | None = None
    """The call's duration in nanoseconds, on REPLY; else ``None``."""
    time_ns: int = 0
    """When it happened, as ``time.perf_counter_ns()`` (for order and intervals), or 0."""


Hook = Callable[[Event], None]


def emit(hooks: list[Hook], event: Event) -> None:
    """Give ``event`` to every hook; a hook that raises is removed and logged."""
    for hook in tuple(hooks):
        try:
            hook(event)
        except Exception:
            logger.exception("nanoservices: hook %r raised and was removed", hook)
            try:
                hooks.remove(hook)
            except ValueError:
                pass


class CallTimer:
    """A hook that can take each call's duration instead of REQUEST/REPLY events.

    Statistics must be cheap enough to leave on, and building two events per
    call is not (a frozen dataclass costs about a microsecond to make). When
    every hook on a handle is a ``CallTimer``, the handle times its calls and
    calls [`record_call`][] once per call instead of building events; the
    rarer events (ITEM, ERROR, RESTART, CLOSE...) still come through
    ``__call__``. When another hook needs events, a ``CallTimer`` gets them too,
    REQUEST and REPLY included, and must count from them.
    """

    __slots__ = ()

    def record_call(self, duration_ns: int) -> None:
        """One call took ``duration_ns`` (whether it returned or raised)."""

    def __call__(self, event: Event) -> None:
        """One event (every kind when events are on; no REQUEST/REPLY otherwise)."""


def call_timers(hooks: list[Hook]) -> tuple[Callable[[int], None], ...] | None:
    """Which send wrapper a handle with ``hooks`` needs, for every handle kind.

    The ``record_call`` of each hook when every hook is a [`CallTimer`][]
    (the handle only times its calls), or None when some hook needs events
    (the handle builds REQUEST/REPLY events). Handles call this when a hook is
    added or removed, never per call.
    """
    timers = [hook for hook in hooks if isinstance(hook, CallTimer)]
    if len(timers) == len(hooks):
        return tuple(timer.record_call for timer in timers)
    return None
