"""Rates over the last seconds: calls per second, error rate and percentiles per service.

Read from the server's metrics (their totals so far), never kept up per call: each
look takes the totals now and compares them with those of a few seconds ago, as
Prometheus' ``rate()`` and ``histogram_quantile()`` would. A quiet window (no
request in it) has no percentiles.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from nanoservices.http._metrics import BUCKETS, Totals

__all__ = ["Rates", "Window", "quantile"]

#: How far back the rates look, in seconds.
SPAN: Final = 10.0


@dataclass(frozen=True, slots=True)
class Rates:
    """One service's recent traffic: per second, the share answered with an error
    (refused or failed), and the duration percentiles in seconds (None: no request)."""

    per_second: float
    error_rate: float
    p50: float | None
    p90: float | None
    p99: float | None


def quantile(q: float, bounds: Sequence[float], cumulative: Sequence[float]) -> float | None:
    """The ``q`` quantile of a histogram given as cumulative bucket counts (linear
    inside a bucket, as Prometheus' ``histogram_quantile``); None when it is empty."""
    total = cumulative[-1] if cumulative else 0.0
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, count in zip(bounds, cumulative, strict=True):
        if count >= rank:
            if bound == float("inf"):
                return lower  # past the last finite bound: its value is all we know
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, count
    return lower


class Window:
    """The totals of the last [`SPAN`][] seconds, to tell rates from."""

    def __init__(self, read: Callable[[], Mapping[str, Totals]], span: float = SPAN) -> None:
        self._read = read
        self._span = span
        self._seen: deque[tuple[float, Mapping[str, Totals]]] = deque()
        self._seen.append((time.monotonic(), {}))  # the server's start: nothing yet

    def rates(self) -> dict[str, Rates]:
        """Each service's rates since the oldest totals within the span."""
        now = time.monotonic()
        current = self._read()
        while len(self._seen) > 1 and now - self._seen[1][0] >= self._span:
            self._seen.popleft()
        then, before = self._seen[0]
        if now - self._seen[-1][0] >= 0.5:  # a look twice a second at most is kept
            self._seen.append((now, current))
        seconds = max(now - then, 1e-9)
        return {
            name: _rates(totals, before.get(name, Totals()), seconds)
            for name, totals in current.items()
        }


def _rates(now: Totals, then: Totals, seconds: float) -> Rates:
    ok = now.ok - then.ok
    errors = (now.refused - then.refused) + (now.failed - then.failed)
    total = ok + errors
    buckets = [a - b for a, b in zip(now.buckets, then.buckets, strict=True)]
    return Rates(
        per_second=total / seconds,
        error_rate=errors / total if total else 0.0,
        p50=quantile(0.5, BUCKETS, buckets),
        p90=quantile(0.9, BUCKETS, buckets),
        p99=quantile(0.99, BUCKETS, buckets),
    )
