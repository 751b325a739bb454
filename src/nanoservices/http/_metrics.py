"""The server's Prometheus metrics, served at ``GET /metrics`` (behind the token).

Everything here is the server's: a local handle's call path gains nothing. What
a request costs is measured around the call and stream endpoints (one clock
read each end, one counter, one histogram); what is open (sessions, streams)
and what ``/stats`` already counts is read when Prometheus scrapes, not kept up
on the way. Journal appends are timed by wrapping the server's stores' append;
a replay is observed once, when a durable session opens, from its statistics.

Labels are few and fixed: ``service`` (a name the operator served, never a
client's text), ``transport`` (``http``) and ``outcome`` (``ok``, ``refused``:
the request was answered 4xx, ``failed``: 5xx). Never a session id, a key or a
request.
"""

from __future__ import annotations

import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
)
from dataclasses import dataclass
from typing import Any, Final

import msgspec
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from nanoservices.aio import AsyncHandle
from nanoservices.observe import statistics

from ._problems import Refused
from ._sessions import SessionTable
from ._stats import Counters

__all__ = ["BUCKETS", "TRANSPORT", "ServerMetrics", "Totals"]

#: The one transport a server measures (a label, so that other transports fit beside it).
TRANSPORT: Final = "http"

Endpoint = Callable[[Request], Awaitable[Response]]

#: Request durations: from a cached reply's 100 µs to a slow stream's minute.
_REQUEST_BUCKETS: Final = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
#: The request duration buckets' upper bounds, the last one infinite.
BUCKETS: Final = (*_REQUEST_BUCKETS, float("inf"))
#: Journal appends: a batched append is microseconds, a synced one a disk flush.
_APPEND_BUCKETS: Final = (
    0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Totals:
    """One service's requests so far: by outcome, and cumulative duration bucket counts
    (one per bound of [`BUCKETS`][])."""

    ok: float = 0.0
    refused: float = 0.0
    failed: float = 0.0
    buckets: tuple[float, ...] = (0.0,) * len(BUCKETS)


def _outcome(status: int) -> str:
    return "ok" if status < 400 else "refused" if status < 500 else "failed"


class _Measured:
    """One service's request series, resolved once (no label lookup per request)."""

    __slots__ = ("duration", "outcomes")

    def __init__(self, requests: Counter, duration: Histogram, service: str) -> None:
        self.outcomes = {
            o: requests.labels(service, TRANSPORT, o) for o in ("ok", "refused", "failed")
        }
        self.duration = duration.labels(service, TRANSPORT)

    def done(self, status: int, started: float) -> None:
        self.duration.observe(time.perf_counter() - started)
        self.outcomes[_outcome(status)].inc()


class _AtScrape(Collector):
    """What is read when Prometheus scrapes: sessions and streams open now, and the
    counts ``/stats`` keeps (sessions opened, stream items)."""

    def __init__(self, sessions: SessionTable, counters: Mapping[str, Counters]) -> None:
        self._sessions = sessions
        self._counters = counters

    def collect(self) -> Iterator[Metric]:
        sessions = GaugeMetricFamily(
            "nanoservices_sessions_open", "Sessions open now.", labels=["service", "transport"]
        )
        streams = GaugeMetricFamily(
            "nanoservices_streams_open",
            "Streamed replies open now.",
            labels=["service", "transport"],
        )
        opened = CounterMetricFamily(
            "nanoservices_sessions_opened", "Sessions opened.", labels=["service", "transport"]
        )
        items = CounterMetricFamily(
            "nanoservices_stream_items", "Items sent on streams.", labels=["service", "transport"]
        )
        open_sessions = dict.fromkeys(self._counters, 0)
        open_streams = dict.fromkeys(self._counters, 0)
        for session in self._sessions.all():
            open_sessions[session.service] += 1
            if session.stream is not None and session.stream.is_open:
                open_streams[session.service] += 1
        for name, counters in self._counters.items():
            labels = [name, TRANSPORT]
            sessions.add_metric(labels, open_sessions[name])
            streams.add_metric(labels, open_streams[name])
            opened.add_metric(labels, counters.opened)
            items.add_metric(labels, counters.items)
        yield from (sessions, streams, opened, items)


class ServerMetrics:
    """A server's metrics, in a registry of its own (two servers in one process never
    mix their series)."""

    def __init__(
        self, services: Iterable[str], sessions: SessionTable, counters: Mapping[str, Counters]
    ) -> None:
        registry = self.registry = CollectorRegistry(auto_describe=True)
        requests = Counter(
            "nanoservices_requests",
            "Calls and streams answered, by outcome (ok, refused: 4xx, failed: 5xx).",
            ["service", "transport", "outcome"],
            registry=registry,
        )
        duration = Histogram(
            "nanoservices_request_duration_seconds",
            "Time to answer a call, or to end a stream (its last item sent).",
            ["service", "transport"],
            buckets=_REQUEST_BUCKETS,
            registry=registry,
        )
        append = Histogram(
            "nanoservices_journal_append_duration_seconds",
            "Time to journal one entry of a durable session (as the store's mode commits it).",
            ["service"],
            buckets=_APPEND_BUCKETS,
            registry=registry,
        )
        replay = Histogram(
            "nanoservices_journal_replay_duration_seconds",
            "Time to bring a durable session's state back when it opens (snapshot and replay).",
            ["service"],
            buckets=_REQUEST_BUCKETS,
            registry=registry,
        )
        appended = Counter(
            "nanoservices_journal_entries_appended",
            "Journal entries written by live requests.",
            ["service"],
            registry=registry,
        )
        replayed = Counter(
            "nanoservices_journal_entries_replayed",
            "Journal entries replayed to reopen durable sessions (not requests: never counted "
            "as such).",
            ["service"],
            registry=registry,
        )
        registry.register(_AtScrape(sessions, counters))
        self._requests = requests
        self._duration = duration
        names = list(services)
        self._measured = {name: _Measured(requests, duration, name) for name in names}
        self._append = {name: (append.labels(name), appended.labels(name)) for name in names}
        self._replay = {name: (replay.labels(name), replayed.labels(name)) for name in names}

    # -- the hooks ------------------------------------------------------------------

    def measured(self, endpoint: Endpoint) -> Endpoint:
        """``endpoint`` (a call or a stream), its answers counted and timed per service;
        a path naming no served service is not measured (its name is a client's text)."""
        by_service = self._measured

        async def run(request: Request) -> Response:
            series = by_service.get(request.path_params.get("name", ""))
            if series is None:
                return await endpoint(request)
            started = time.perf_counter()
            try:
                response = await endpoint(request)
            except Refused as refused:
                series.done(refused.status, started)
                raise
            except BaseException:
                series.done(500, started)
                raise
            if isinstance(response, StreamingResponse):
                response.body_iterator = _watched(response.body_iterator, series, started)
            else:
                series.done(response.status_code, started)
            return response

        return run

    def opened(self, service: str, handle: AsyncHandle[Any, Any]) -> None:
        """A durable session opened: its replay's time and entries (counted apart)."""
        series = self._replay.get(service)
        if series is None:
            return
        extra = statistics(handle).extra
        seconds, entries = series
        seconds.observe(float(extra.get("replay_seconds", 0.0)))
        entries.inc(int(extra.get("replayed", 0)))

    def timing_appends(self, sessions: object) -> Callable[[], None]:
        """Time every journal append of a keyed service's ``sessions``, by the service
        its key belongs to, when they journal (a journal store's ``append``: the server
        knows keyed sessions only by their protocol, so this looks, and leaves any
        other kind alone); returns the undoing, for the server's end (a store the
        operator passed in outlives the server)."""
        store: Any = getattr(sessions, "store", None)
        put: Callable[[str, int, int, bytes, int], None] | None = getattr(store, "append", None)
        if put is None:
            return lambda: None
        by_service = self._append
        clock = time.perf_counter

        def append(key: str, seq: int, kind: int, body: bytes, digest: int) -> None:
            started = clock()
            put(key, seq, kind, body, digest)
            series = by_service.get(key.partition("/")[0])
            if series is not None:
                series[0].observe(clock() - started)
                series[1].inc()

        store.append = append

        def undo() -> None:
            store.append = put

        return undo

    def totals(self) -> dict[str, Totals]:
        """Each served service's requests so far (for the dashboard's rates)."""
        outcomes: dict[str, dict[str, float]] = {name: {} for name in self._measured}
        for family in self._requests.collect():
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels["service"] in outcomes:
                    outcomes[sample.labels["service"]][sample.labels["outcome"]] = sample.value
        buckets: dict[str, list[float]] = {name: [] for name in self._measured}
        for family in self._duration.collect():
            for sample in family.samples:
                if sample.name.endswith("_bucket") and sample.labels["service"] in buckets:
                    buckets[sample.labels["service"]].append(sample.value)
        return {
            name: Totals(
                counts.get("ok", 0.0),
                counts.get("refused", 0.0),
                counts.get("failed", 0.0),
                tuple(buckets[name]) or Totals().buckets,
            )
            for name, counts in outcomes.items()
        }

    def exposition(self) -> Response:
        """The Prometheus text exposition of every series."""
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


async def _watched(
    frames: AsyncIterable[Any], series: _Measured, started: float
) -> AsyncIterator[Any]:
    """A stream's frames, passed on; at its end, its outcome (its end frame, else the
    error frame's status) and its duration. Closing it closes the frames."""
    last: Any = b""
    try:
        async for last in frames:
            yield last
    finally:
        try:
            await _close(frames)
        finally:
            series.done(_frame_status(last), started)


def _frame_status(chunk: Any) -> int:
    """The stream's status by its last frame (the last line of its last chunk): an
    error frame's own; else (its end frame, or an item when the client left) a success."""
    frame = chunk.rstrip(b"\n").rpartition(b"\n")[2] if isinstance(chunk, bytes) else chunk
    if isinstance(frame, bytes) and frame.startswith(b'{"error"'):
        try:
            status = msgspec.json.decode(frame)["error"]["status"]
        except (msgspec.DecodeError, KeyError, TypeError):
            return 500
        return status if isinstance(status, int) else 500
    return 200


async def _close(frames: AsyncIterable[Any]) -> None:
    aclose = getattr(frames, "aclose", None)
    if aclose is not None:
        await aclose()
