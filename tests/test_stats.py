"""Statistics: counts, latency percentiles, frozen snapshots, cheap counting path."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nanoservices import ServiceFailedError, State
from nanoservices.observe import (
    LatencyHistogram,
    Recorder,
    StatsCollector,
    format_statistics,
    measure,
    render_statistics_table,
    statistics,
    trace,
    traced,
)

from ._observe_services import Boom, echo


def test_counts_requests_errors_restarts_and_items() -> None:
    h = echo()
    measure(h)
    for i in range(10):
        h(i)
    with pytest.raises(ServiceFailedError):
        h("boom")
    assert list(h.stream(("rows", 4))) == [0, 1, 2, 3]
    stats = statistics(h)
    assert stats.collecting
    assert (stats.requests, stats.errors, stats.restarts) == (12, 1, 1)
    assert (stats.streams, stats.items, stats.failures) == (1, 4, 1)
    assert stats.state is State.READY
    assert stats.p50_ns is not None
    assert stats.p99_ns is not None
    assert stats.max_ns is not None
    assert 0 < stats.p50_ns <= stats.p90_ns <= stats.p99_ns <= stats.max_ns  # type: ignore[operator]


def test_a_failed_stream_counts_as_an_error_not_a_failure() -> None:
    h = echo()
    measure(h)
    with pytest.raises(ServiceFailedError) as info:
        list(h.stream(("rows", 100)))
    assert isinstance(info.value.__cause__, Boom)
    stats = statistics(h)
    assert (stats.errors, stats.failures, stats.items) == (1, 0, 99)


def test_counting_alone_uses_the_timed_path_not_events() -> None:
    h = echo()
    collector = measure(h)
    assert "send_timed" in repr(h._sink.send)
    h(1)
    assert collector.requests == 1


def test_counts_agree_when_a_tracer_also_listens() -> None:
    h = echo()
    measure(h)
    with trace(h, Recorder()):
        h(1)
        with pytest.raises(ServiceFailedError):
            h("boom")
    h(2)
    stats = statistics(h)
    assert (stats.requests, stats.errors) == (3, 1)
    assert stats.max_ns is not None


def test_snapshot_is_frozen_and_does_not_move() -> None:
    h = echo()
    measure(h)
    h(1)
    snap = statistics(h)
    h(2)
    assert snap.requests == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.requests = 5  # type: ignore[misc]


def test_without_a_collector_the_policy_counts_are_still_known() -> None:
    h = echo()
    with pytest.raises(ServiceFailedError):
        h("boom")
    stats = statistics(h)
    assert not stats.collecting
    assert (stats.requests, stats.failures, stats.restarts, stats.p50_ns) == (0, 1, 1, None)


def test_collect_is_idempotent_and_stop_makes_the_path_bare_again() -> None:
    from nanoservices.examples.basics import echo as bare_echo  # neither streams nor refuses

    h = bare_echo()
    assert measure(h) is measure(h)
    assert sum(isinstance(x, StatsCollector) for x in h.hooks) == 1
    measure(h).stop()
    assert h.hooks == ()
    assert h._sink is h.generator


def test_observe_collects_statistics_from_the_start() -> None:
    counted = traced(echo)
    h = counted()
    h(1)
    assert statistics(h).requests == 1


def test_percentiles_of_known_durations() -> None:
    hist = LatencyHistogram()
    for ns in range(1, 1001):
        hist.record(ns * 1000)  # 1 µs .. 1 ms
    for q, expected in ((50, 500_000), (90, 900_000), (99, 990_000)):
        got = hist.percentile(q)
        assert got is not None
        assert abs(got - expected) / expected < 0.07, (q, got)
    assert hist.percentile(100) == 1_000_000


@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=200))
def test_percentiles_are_within_the_bucket_precision(durations: list[int]) -> None:
    hist = LatencyHistogram()
    for ns in durations:
        hist.record(ns)
    ordered = sorted(durations)
    for q in (50, 90, 99):
        rank = max(1, -(-len(ordered) * q // 100))
        truth = ordered[rank - 1]
        got = hist.percentile(q)
        assert got is not None
        assert min(ordered) <= got <= max(ordered)
        assert abs(got - truth) <= truth * 0.07 + 1


def test_memory_is_fixed_whatever_the_traffic() -> None:
    hist = LatencyHistogram()
    size = len(hist.counts)
    rng = random.Random(1)
    for _ in range(10_000):
        hist.record(rng.randrange(10**10))
    assert len(hist.counts) == size
    assert hist.count == 10_000


def test_plain_and_rich_tables() -> None:
    from rich.console import Console

    a = echo()
    measure(a)
    a(1)
    b = echo()
    b.rename("other")
    text = format_statistics([a, b])
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["service", "state", "requests"]
    assert lines[1].split()[:3] == ["echo", "ready", "1"]
    assert lines[2].split()[:3] == ["other", "ready", "-"]
    console = Console(width=120, record=True)
    console.print(render_statistics_table([a, b]))
    assert "other" in console.export_text()
