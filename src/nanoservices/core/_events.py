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
    REPLY = "reply"
    STREAM_OPEN = "stream_open"
    ITEM = "item"
    STREAM_END = "stream_end"
    ERROR = "error"
    RESET = "reset"
    THROW = "throw"
    RESTART = "restart"
    CLOSE = "close"


class Event(NamedTuple):
    """One thing that happened to a service, with its timing.

    ``value`` is the request (REQUEST, THROW, ERROR), reply (REPLY), item (ITEM)
    or ``None``; ``duration_ns`` is set on REPLY (the call's duration).
    A named tuple, not a frozen dataclass: events are made on the traced path,
    and a tuple is three times cheaper to build.
    """

    kind: EventKind
    service: str
    value: object = None
    error: BaseException | None = None
    duration_ns: int | None = None
    time_ns: int = 0


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
    calls :meth:`record_call` once per call instead of building events; the
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

    The ``record_call`` of each hook when every hook is a :class:`CallTimer`
    (the handle only times its calls), or None when some hook needs events
    (the handle builds REQUEST/REPLY events). Handles call this when a hook is
    added or removed, never per call.
    """
    if all(isinstance(hook, CallTimer) for hook in hooks):
        return tuple(hook.record_call for hook in hooks)  # type: ignore[attr-defined]
    return None
