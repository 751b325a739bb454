"""Statistics per service: requests, errors, restarts, items, latency percentiles.

Cheap enough to leave on: a [`StatsCollector`][] is a ``CallTimer`` hook, so
a handle with only collectors subscribed times each call (two clock reads and
one method call) instead of building events. Latency goes into log buckets
(HDR-like: 8 buckets per power of two, so a percentile is within about 6% of
the truth) of fixed size: memory does not grow with traffic and recording is a
few integer operations. [`statistics`][] returns a frozen snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from nanoservices.core import CallTimer, Event, EventKind, State
from nanoservices.core.seam import Observable, observable

from ._durations import format_duration

if TYPE_CHECKING:
    from rich.table import Table

    from ._types import AnyHandle

__all__ = [
    "LatencyHistogram",
    "Statistics",
    "StatsCollector",
    "format_statistics",
    "measure",
    "render_statistics_table",
    "statistics",
]

_SUB_BITS: Final = 3  # 2**3 = 8 buckets per power of two
_SUB: Final = 1 << _SUB_BITS
_DIRECT: Final = 2 * _SUB  # durations below this many ns get a bucket each
_BUCKETS: Final = 64 * _SUB


def _bounds(index: int) -> tuple[int, int]:
    """The lowest and highest duration (ns) that land in bucket ``index``."""
    if index < _DIRECT:
        return index, index
    shift = (index >> _SUB_BITS) - 1
    mantissa = (index & (_SUB - 1)) + _SUB
    return mantissa << shift, ((mantissa + 1) << shift) - 1


class LatencyHistogram:
    """Durations in fixed log buckets; percentiles within about 6%."""

    __slots__ = ("count", "counts", "max_ns", "min_ns", "total_ns")

    def __init__(self) -> None:
        self.counts = [0] * _BUCKETS
        self.count = 0
        self.total_ns = 0
        self.max_ns = 0
        self.min_ns = 0

    def clear(self) -> None:
        """Forget every duration."""
        self.counts = [0] * _BUCKETS
        self.count = self.total_ns = self.max_ns = self.min_ns = 0

    def record(self, ns: int) -> None:
        """Add one duration (nanoseconds)."""
        shift = ns.bit_length() - (_SUB_BITS + 1)
        index = ns if shift <= 0 else (shift << _SUB_BITS) + (ns >> shift)
        self.counts[index if index < _BUCKETS else _BUCKETS - 1] += 1
        if self.count == 0 or ns < self.min_ns:
            self.min_ns = ns
        if ns > self.max_ns:
            self.max_ns = ns
        self.count += 1
        self.total_ns += ns

    def percentile(self, q: float) -> int | None:
        """The duration below which ``q`` percent of calls fell (None if none)."""
        if self.count == 0:
            return None
        rank = max(1, -(-self.count * q // 100))  # ceil without floats drifting
        seen = 0
        for index, n in enumerate(self.counts):
            seen += n
            if seen >= rank:
                low, high = _bounds(index)
                return min(max((low + high) // 2, self.min_ns), self.max_ns)
        return self.max_ns  # pragma: no cover - counts always add up to count


@dataclass(frozen=True, slots=True)
class Statistics:
    """A snapshot of one service's statistics.

    ``collecting`` is False when no collector was subscribed: then only what
    the handle always keeps is known (state, failures and policy restarts).
    Latencies are nanoseconds, None until a call was timed.
    """

    service: str
    state: State
    collecting: bool
    requests: int
    errors: int
    failures: int
    restarts: int
    streams: int
    items: int
    mean_ns: int | None
    p50_ns: int | None
    p90_ns: int | None
    p99_ns: int | None
    max_ns: int | None
    #: What a handle kind tells beyond these (see [`extra_of`][]): a durable handle's
    #: journal length, replay time and snapshot age. Empty for plain handles.
    extra: Mapping[str, Any] = field(default_factory=dict)


class StatsCollector(CallTimer):
    """Counts one handle's events; [`measure`][] subscribes it, [`stop`][] ends it."""

    __slots__ = (
        "_event_requests",
        "_targets",
        "_timed",
        "errors",
        "items",
        "latency",
        "pending_ns",
        "restarts",
        "streams",
    )

    def __init__(self) -> None:
        self._event_requests = 0  # counted from REQUEST events (events mode)
        self._timed = 0  # calls timed by record_call (timed mode)
        self.errors = 0
        self.restarts = 0
        self.streams = 0
        self.items = 0
        self.latency = LatencyHistogram()
        self.pending_ns: int | None = None  # start of the call in flight (events mode)
        self._targets: list[Observable] = []  # the handles it is subscribed to

    def stop(self) -> None:
        """Stop collecting: the handle's call path is bare again if nothing else listens.

        The counts so far stay readable on this collector.
        """
        targets, self._targets = self._targets, []
        for target in targets:
            target.unsubscribe(self)

    def __enter__(self) -> StatsCollector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def record_call(self, duration_ns: int) -> None:
        # LatencyHistogram.record inlined: this runs on every call.
        self._timed += 1
        latency = self.latency
        shift = duration_ns.bit_length() - (_SUB_BITS + 1)
        index = duration_ns if shift <= 0 else (shift << _SUB_BITS) + (duration_ns >> shift)
        latency.counts[index if index < _BUCKETS else _BUCKETS - 1] += 1
        latency.count += 1
        latency.total_ns += duration_ns
        if duration_ns > latency.max_ns:
            latency.max_ns = duration_ns
        if duration_ns < latency.min_ns or latency.count == 1:
            latency.min_ns = duration_ns

    @property
    def requests(self) -> int:
        """Calls made since collecting started."""
        return self._event_requests + self._timed

    def __call__(self, event: Event) -> None:
        kind = event.kind
        if kind is EventKind.REQUEST:  # events mode: another hook wants events
            self._event_requests += 1
            self.pending_ns = event.time_ns
        elif kind is EventKind.REPLY:
            self.pending_ns = None
            if event.duration_ns is not None:
                self.latency.record(event.duration_ns)
        elif kind is EventKind.ITEM:
            self.items += 1
        elif kind is EventKind.ERROR:
            self.errors += 1
            if self.pending_ns is not None:
                self.latency.record(event.time_ns - self.pending_ns)
                self.pending_ns = None
        elif kind is EventKind.STREAM_OPEN:
            self.streams += 1
        elif kind is EventKind.RESTART:
            self.restarts += 1

    def __repr__(self) -> str:
        return f"<StatsCollector {self.requests} request(s), {self.errors} error(s)>"


def extra_of(handle: object) -> dict[str, Any]:
    """What ``handle`` tells about itself beyond the events, read generically.

    A handle kind that knows more (a durable handle: its journal) implements
    ``observe_extra() -> Mapping[str, object]``; it is looked for on the handle,
    then on the sync handle an async one drives (``to_async``, the HTTP server),
    so this layer needs to know no handle kind.
    """
    for obj in (handle, getattr(getattr(handle, "_engine", None), "handle", None)):
        read = getattr(obj, "observe_extra", None)
        if callable(read):
            return dict(read())
    return {}


def _collector(target: Observable) -> StatsCollector | None:
    for hook in target.hooks:
        if isinstance(hook, StatsCollector):
            return hook
    return None


def measure(handle: AnyHandle) -> StatsCollector:
    """Collect statistics for ``handle`` from now on; ``.stop()`` the result to end.

    Measuring a handle already measured returns the same collector. Read the
    numbers with [`statistics`][] (``with measure(h): ...`` measures a block).
    """
    target = observable(handle)
    collector = _collector(target)
    if collector is None:
        collector = StatsCollector()
        target.subscribe(collector)
        collector._targets.append(target)
    return collector


def statistics(handle: AnyHandle) -> Statistics:
    """A frozen snapshot of ``handle``'s statistics.

    Works on any handle: without [`measure`][] the counts are
    zero and ``collecting`` is False, but state, failures and restarts made by
    the restart policy are always known.
    """
    target = observable(handle)
    collector = _collector(target)
    sup = getattr(target, "supervision", None)
    failures = sup.failures if sup is not None else 0
    policy_restarts = sup.restarts if sup is not None else 0
    state = handle.state
    extra = extra_of(handle)
    if collector is None:
        return Statistics(
            target.name, state, False, 0, 0, failures, policy_restarts, 0, 0, *(None,) * 5, extra
        )
    lat = collector.latency
    return Statistics(
        service=target.name,
        state=state,
        collecting=True,
        requests=collector.requests,
        errors=collector.errors,
        failures=failures,
        restarts=max(collector.restarts, policy_restarts),
        streams=collector.streams,
        items=collector.items,
        mean_ns=lat.total_ns // lat.count if lat.count else None,
        p50_ns=lat.percentile(50),
        p90_ns=lat.percentile(90),
        p99_ns=lat.percentile(99),
        max_ns=lat.max_ns if lat.count else None,
        extra=extra,
    )


_COLUMNS: Final = (
    "service", "state", "requests", "errors", "restarts", "items", "p50", "p90", "p99",
)  # fmt: skip


def _row(stats: Statistics) -> tuple[str, ...]:
    def dur(ns: int | None) -> str:
        return "-" if ns is None else format_duration(ns)

    counts: tuple[str, ...] = (
        (str(stats.requests), str(stats.errors)) if stats.collecting else ("-", "-")
    )
    return (
        stats.service,
        stats.state.value,
        *counts,
        str(stats.restarts),
        str(stats.items) if stats.collecting else "-",
        dur(stats.p50_ns),
        dur(stats.p90_ns),
        dur(stats.p99_ns),
    )


def format_statistics(handles: Iterable[AnyHandle]) -> str:
    """A plain-text table of the statistics of ``handles``, one row each."""
    rows = [_COLUMNS, *(_row(statistics(h)) for h in handles)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = [
        "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    return "\n".join(lines)


def render_statistics_table(
    handles: Iterable[AnyHandle], title: str | None = "nanoservices"
) -> Table:
    """A ``rich.table.Table`` of the statistics of ``handles`` (for the CLI)."""
    from rich.table import Table

    table = Table(title=title)
    for i, column in enumerate(_COLUMNS):
        table.add_column(column, justify="left" if i < 2 else "right", no_wrap=True)
    for handle in handles:
        stats = statistics(handle)
        row = list(_row(stats))
        style = {"failed": "red", "closed": "dim", "streaming": "cyan"}.get(row[1])
        if style is not None:
            row[1] = f"[{style}]{row[1]}[/]"
        table.add_row(*row)
    return table
