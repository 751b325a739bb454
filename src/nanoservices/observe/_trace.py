"""Tracing: send a service's events to sinks (logging, a recorder, OpenTelemetry).

A *sink* is any hook (``Callable[[Event], None]``). A sink that keeps state per
handle (an OpenTelemetry tracer pairs each request with its reply) offers
``bind(handle) -> hook`` and gets one hook per handle it traces. Tracing is a
subscription on the handle: off, the handle calls its generator directly and
tracing costs nothing; on, each call builds events (see the benchmark).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    Final,
    ParamSpec,
    Protocol,
    TypeAlias,
    TypeVar,
    runtime_checkable,
)

from nanoservices.core import Event, EventKind, Hook, LocalHandle, ServiceFactory
from nanoservices.core.seam import Observable, observable, short_repr

from ._durations import format_duration
from ._stats import measure

if TYPE_CHECKING:
    from ._types import AnyHandle

__all__ = [
    "BindingSink",
    "LoggingTracer",
    "Recorder",
    "Sink",
    "Tracing",
    "trace",
    "traced",
]

P = ParamSpec("P")
RequestT = TypeVar("RequestT")
ReplyT = TypeVar("ReplyT")


@runtime_checkable
class BindingSink(Protocol):
    """A sink that keeps state per handle: it makes one hook for each handle traced."""

    def bind(self, handle: Observable, /) -> Hook:
        """The hook that receives ``handle``'s events."""
        ...


#: A tracing sink: any event hook, or an object with ``bind(handle) -> hook``.
Sink: TypeAlias = Hook | BindingSink


def _hook_for(sink: Sink, handle: Observable) -> Hook:
    if isinstance(sink, BindingSink):
        return sink.bind(handle)
    if not callable(sink):
        raise TypeError(f"{sink!r} is not a tracing sink (a callable taking an Event)")
    return sink


class Tracing:
    """Sinks subscribed to handles; [`stop`][] (or leaving ``with``) ends it.

    Made by [`trace`][]. Stopping unsubscribes only what this object
    subscribed; a handle with no hook left is back on its bare, untraced path.
    """

    __slots__ = ("_subscriptions",)

    def __init__(self) -> None:
        self._subscriptions: list[tuple[Observable, Hook]] = []

    def add(self, handle: AnyHandle, *sinks: Sink) -> Tracing:
        """Also send ``handle``'s events to ``sinks``."""
        target = observable(handle)
        for sink in sinks:
            hook = _hook_for(sink, target)
            target.subscribe(hook)
            self._subscriptions.append((target, hook))
        return self

    def stop(self) -> None:
        """Unsubscribe every sink this object subscribed."""
        subscriptions, self._subscriptions = self._subscriptions, []
        for target, hook in subscriptions:
            target.unsubscribe(hook)

    @property
    def active(self) -> bool:
        """True until [`stop`][]."""
        return bool(self._subscriptions)

    def __enter__(self) -> Tracing:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Tracing of {len(self._subscriptions)} subscription(s)>"


def trace(handle: AnyHandle, *sinks: Sink) -> Tracing:
    """Send every event of ``handle`` to ``sinks`` until the result is stopped.

    ``trace(h, Recorder())`` keeps tracing; ``with trace(h, rec): ...`` traces
    inside the block only. With no sink, events go to a [`LoggingTracer`][].
    """
    return Tracing().add(handle, *(sinks or (LoggingTracer(),)))


class _ObservedFactory(ServiceFactory[P, RequestT, ReplyT]):
    """A service factory whose every handle starts observed."""

    def __init__(
        self,
        factory: ServiceFactory[P, RequestT, ReplyT],
        sinks: tuple[Sink, ...],
        statistics: bool,
    ) -> None:
        super().__init__(factory.spec)
        self._sinks = sinks
        self._statistics = statistics

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> LocalHandle[RequestT, ReplyT]:
        handle: LocalHandle[RequestT, ReplyT] = LocalHandle(self.spec, args, kwargs)
        if self._statistics:
            measure(handle)
        if self._sinks:
            Tracing().add(handle, *self._sinks)
        return handle

    def __repr__(self) -> str:
        return f"<observed service factory {self.spec.name!r} ({len(self._sinks)} sink(s))>"


def traced(
    factory: ServiceFactory[P, RequestT, ReplyT], *sinks: Sink, statistics: bool = True
) -> ServiceFactory[P, RequestT, ReplyT]:
    """A factory like ``factory`` whose every handle is traced to ``sinks`` and,
    with ``statistics`` (the default), collects statistics from its start.

    ``factory`` itself is unchanged: ``md5 = traced(md5, Recorder())``.
    """
    return _ObservedFactory(factory, sinks, statistics)


# -- sinks ------------------------------------------------------------------------

_NO_VALUE: Final = {EventKind.STREAM_END, EventKind.CLOSE, EventKind.RESTART}


class LoggingTracer:
    """Logs each event through the standard ``logging`` module.

    One line per event: ``md5 reply 'a3f...' (1.2 µs)``, at ``level`` on the
    logger ``nanoservices.trace`` (or ``logger``). Each record also carries
    ``service``, ``event`` and ``duration_ns`` attributes for structured
    handlers. Requests and replies are shown through ``reprlib`` (bounded);
    ``values=False`` leaves them out, for services that handle secrets.
    """

    __slots__ = ("_level", "_logger", "_values")

    def __init__(
        self,
        logger: logging.Logger | str = "nanoservices.trace",
        level: int = logging.DEBUG,
        *,
        values: bool = True,
    ) -> None:
        self._logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        self._level = level
        self._values = values

    def __call__(self, event: Event) -> None:
        logger = self._logger
        if not logger.isEnabledFor(self._level):
            return
        parts = [event.service, event.kind.value]
        if self._values and event.kind not in _NO_VALUE and event.value is not None:
            parts.append(short_repr(event.value))
        if event.error is not None:
            parts.append(f"{type(event.error).__name__}: {event.error}")
        if event.duration_ns is not None:
            parts.append(f"({format_duration(event.duration_ns)})")
        extra = {
            "service": event.service,
            "event": event.kind.value,
            "duration_ns": event.duration_ns,
        }
        logger.log(self._level, "%s", " ".join(parts), extra=extra)

    def __repr__(self) -> str:
        return f"<LoggingTracer to {self._logger.name!r} at {logging.getLevelName(self._level)}>"


class _AnyValue:
    """``Recorder.expect``'s default: any value matches (its repr reads as its name)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ANY_VALUE"


ANY_VALUE: Any = _AnyValue()
"""``Recorder.expect``'s default ``value``: an event of that kind with any value matches."""
_ANY: Any = ANY_VALUE


class Recorder:
    """Keeps every event in a list, for tests and notebooks.

    ``rec.events`` is the list; [`of`][] filters it, [`kinds`][] and
    [`values`][] project it, [`expect`][] asserts on it with a readable
    message. Appending is thread-safe (one ``list.append``).
    """

    __slots__ = ("events",)

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, *kinds: EventKind, service: str | None = None) -> list[Event]:
        """The events of ``kinds`` (all kinds when none given), of ``service`` if given."""
        return [
            e
            for e in self.events
            if (not kinds or e.kind in kinds) and (service is None or e.service == service)
        ]

    def kinds(self, service: str | None = None) -> list[EventKind]:
        """The kind of each event, in order."""
        return [e.kind for e in self.of(service=service)]

    def values(self, *kinds: EventKind, service: str | None = None) -> list[object]:
        """The ``value`` of each event of ``kinds``: requests, replies, items."""
        return [e.value for e in self.of(*kinds, service=service)]

    def errors(self, service: str | None = None) -> list[BaseException]:
        """The errors of ERROR events, in order."""
        return [e.error for e in self.of(EventKind.ERROR, service=service) if e.error is not None]

    def expect(
        self, kind: EventKind, value: object = ANY_VALUE, *, service: str | None = None
    ) -> Event:
        """The first event of ``kind`` (with ``value``, if given); AssertionError if none."""
        for event in self.of(kind, service=service):
            if value is _ANY or event.value == value:
                return event
        wanted = kind.value if value is _ANY else f"{kind.value} {value!r}"
        seen = ", ".join(f"{e.kind.value} {short_repr(e.value)}" for e in self.events) or "none"
        raise AssertionError(f"no {wanted} event was recorded; events: {seen}")

    def clear(self) -> None:
        """Forget every event recorded so far."""
        self.events.clear()

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __repr__(self) -> str:
        return f"<Recorder of {len(self.events)} event(s)>"
