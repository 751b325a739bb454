"""Snapshots on a time trigger (``every_seconds``), on a fake clock: no sleeps."""

from __future__ import annotations

import pytest

from nanoservices.durable import JournalStore, Snapshots, durable
from nanoservices.testing import FakeClock

from .services import Add, Get, counter, restore, take


def _snaps(clock: FakeClock, every: int = 1000) -> Snapshots:
    return Snapshots(take, restore, every=every, state_type=list[int], every_seconds=60,
                     clock=clock)  # fmt: skip


def test_a_snapshot_is_taken_at_the_first_entry_after_the_period(store: JournalStore) -> None:
    clock = FakeClock()
    with durable(counter, key="t", store=store, snapshots=_snaps(clock)) as handle:
        for _ in range(3):
            handle.call(Add(1))
        assert handle.stats.snapshot_seq == 0  # 3 entries, no time passed: none yet
        clock.advance(59)
        handle.call(Add(1))
        assert handle.stats.snapshot_seq == 0
        clock.advance(1)
        handle.call(Add(1))  # 60 s after the open: this entry takes one
        assert handle.stats.snapshot_seq == 5
        assert handle.stats.journal_length == 0
        assert handle.stats.snapshot_age == 0
        clock.advance(30)
        assert handle.stats.snapshot_age == 30
        handle.call(Add(1))
        assert handle.stats.snapshot_seq == 5  # the period starts again at the snapshot
        clock.advance(30)
        handle.call(Add(1))
        assert handle.stats.snapshot_seq == 7
    with durable(counter, key="t", store=store, snapshots=_snaps(clock)) as handle:
        assert handle.stats.replayed == 0
        assert handle.call(Get()) == [7, 7]


def test_the_count_trigger_still_holds_beside_the_time_one(store: JournalStore) -> None:
    clock = FakeClock()
    with durable(counter, key="c", store=store, snapshots=_snaps(clock, every=4)) as handle:
        for _ in range(4):
            handle.call(Add(1))
        assert handle.stats.snapshot_seq == 4  # no time passed: the count took it


def test_a_quiet_stream_defers_the_snapshot_to_its_end(store: JournalStore) -> None:
    from .services import Count

    clock = FakeClock()
    with durable(counter, key="s", store=store, snapshots=_snaps(clock)) as handle:
        stream = handle.stream(Count(3))
        clock.advance(61)
        next(stream)
        assert handle.stats.snapshot_seq == 0  # never inside a stream
        stream.cancel()  # journalled once the stream is over: that entry takes it
        assert handle.stats.snapshot_seq == handle.stats.last_seq == 3


@pytest.mark.parametrize("bad", [0, -1.0, float("nan")])
def test_a_period_is_positive(bad: float) -> None:
    with pytest.raises(ValueError, match="every_seconds"):
        Snapshots(take, restore, every_seconds=bad)
