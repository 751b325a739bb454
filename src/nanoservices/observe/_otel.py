"""Tracing to OpenTelemetry spans (needs ``opentelemetry-api``: the ``otel`` extra).

``opentelemetry`` is imported when an [`OpenTelemetryTracer`][] is made, never
when nanoservices is imported. Each request is a span ``"<service> call"`` from
its REQUEST to its REPLY or ERROR; a streamed reply is a span
``"<service> stream"`` with one span event per item; throw, reset, restart and
close are short spans of their own. Event times come from ``perf_counter_ns``
and are turned into wall-clock nanoseconds, as OpenTelemetry wants.
"""

from __future__ import annotations

import time
from typing import Any, Final

from nanoservices.core import Event, EventKind, Hook
from nanoservices.core.seam import short_repr

__all__ = ["OpenTelemetryTracer"]

# perf_counter_ns -> time_ns; taken once: both clocks run at the same rate.
_WALL_OFFSET: Final = time.time_ns() - time.perf_counter_ns()

_INSTANT: Final = {
    EventKind.THROW: "throw",
    EventKind.RESET: "reset",
    EventKind.RESTART: "restart",
    EventKind.CLOSE: "close",
}


def _wall(perf_ns: int) -> int:
    return perf_ns + _WALL_OFFSET


class OpenTelemetryTracer:
    """A tracing sink that turns service events into OpenTelemetry spans.

    Args:
        tracer_provider: where spans go (default: the global provider).
        values: also record requests, replies and items (bounded ``repr``) as
            span attributes. Off by default: requests may hold secrets.
    """

    __slots__ = ("_tracer", "_unbound", "_values")

    def __init__(self, tracer_provider: Any = None, *, values: bool = False) -> None:
        try:
            from opentelemetry import trace as otel_trace
        except ImportError as exc:  # pragma: no cover - depends on the environment
            from nanoservices.core.seam import missing_extra

            raise missing_extra(
                "OpenTelemetryTracer", "opentelemetry-api", "otel", "opentelemetry"
            ) from exc
        self._tracer = otel_trace.get_tracer("nanoservices", tracer_provider=tracer_provider)
        self._values = values
        self._unbound: dict[str, _SpanHook] = {}

    def bind(self, handle: object) -> Hook:
        """A hook for one handle, pairing its requests with their replies."""
        return _SpanHook(self._tracer, self._values)

    def __call__(self, event: Event) -> None:
        """Used directly as a hook (not through ``trace``): pairs by service name."""
        hook = self._unbound.get(event.service)
        if hook is None:
            hook = self._unbound[event.service] = _SpanHook(self._tracer, self._values)
        hook(event)


class _SpanHook:
    """Open spans of one handle: its call in flight and its open stream."""

    __slots__ = ("_call", "_items", "_stream", "_tracer", "_values")

    def __init__(self, tracer: Any, values: bool) -> None:
        self._tracer = tracer
        self._values = values
        self._call: Any = None
        self._stream: Any = None
        self._items = 0

    def _start(self, name: str, event: Event) -> Any:
        attributes: dict[str, Any] = {"nanoservices.service": event.service}
        if self._values and event.value is not None:
            attributes["nanoservices.request"] = short_repr(event.value)
        return self._tracer.start_span(
            f"{event.service} {name}", start_time=_wall(event.time_ns), attributes=attributes
        )

    def __call__(self, event: Event) -> None:
        kind = event.kind
        at = _wall(event.time_ns)
        if kind is EventKind.REQUEST:
            if self._call is not None:  # refused without a reply (busy): close it
                self._call.end(end_time=at)
            self._call = self._start("call", event)
        elif kind is EventKind.REPLY:
            span, self._call = self._call, None
            if span is not None:
                if self._values:
                    span.set_attribute("nanoservices.reply", short_repr(event.value))
                span.end(end_time=at)
        elif kind is EventKind.STREAM_OPEN:
            self._stream = self._start("stream", event)
            self._items = 0
        elif kind is EventKind.ITEM:
            self._items += 1
            if self._stream is not None:
                attributes = {"nanoservices.item": short_repr(event.value)} if self._values else {}
                self._stream.add_event("item", attributes, timestamp=at)
        elif kind is EventKind.STREAM_END:
            self._end_stream(at, cancelled=False)
        elif kind is EventKind.ERROR:
            self._error(event, at)
        else:
            if kind is EventKind.RESET and self._stream is not None:
                self._end_stream(at, cancelled=True)
                return
            if kind is EventKind.CLOSE:
                self._end_stream(at, cancelled=True)
                if self._call is not None:  # the generator returned on this request
                    self._call.end(end_time=at)
                    self._call = None
            span = self._start(_INSTANT.get(kind, kind.value), event)
            if event.error is not None:
                span.set_attribute("nanoservices.after", f"{type(event.error).__name__}")
            span.end(end_time=at)

    def _end_stream(self, at: int, *, cancelled: bool) -> None:
        span, self._stream = self._stream, None
        if span is not None:
            span.set_attribute("nanoservices.items", self._items)
            span.set_attribute("nanoservices.cancelled", cancelled)
            span.end(end_time=at)

    def _error(self, event: Event, at: int) -> None:
        from opentelemetry.trace import Status, StatusCode

        span = self._call or self._stream
        if span is None:
            span = self._start("error", event)
        self._call = None
        if span is self._stream:
            self._stream = None
            span.set_attribute("nanoservices.items", self._items)
        error = event.error
        if error is not None:
            span.record_exception(error, timestamp=at)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        span.end(end_time=at)
