"""A durable service in statistics and inspection: journal length, replay, snapshot age."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nanoservices.aio import AsyncHandle, SyncEngine
from nanoservices.durable import SQLiteStore, durable
from nanoservices.examples.basics import counter as plain_counter
from nanoservices.observe import inspect_service, measure, statistics

from .services import Add, counter, snapshots


def test_statistics_tell_the_journal_and_the_replay(journal_path: Path) -> None:
    with SQLiteStore(journal_path) as store:
        with durable(counter, key="k", store=store) as handle:
            for n in range(5):
                handle.call(Add(n))
            extra = statistics(handle).extra
            assert extra["journal_length"] == 5
            assert extra["replayed"] == 0
            assert extra["snapshot_age"] is None  # no snapshot yet
        with durable(counter, key="k", store=store, snapshots=snapshots(every=3)) as handle:
            collector = measure(handle)
            handle.call(Add(1))  # entry 6: the snapshot at 6
            stats = statistics(handle)
            collector.stop()
            assert stats.requests == 2  # the service's events: the call, and the snapshot's Get
            assert stats.extra["replayed"] == 5
            assert isinstance(stats.extra["replay_seconds"], float)
            assert stats.extra["snapshot_seq"] == 6
            assert stats.extra["journal_length"] == 0
            assert stats.extra["snapshot_age"] is not None


def test_inspection_shows_them_and_plain_handles_have_none(journal_path: Path) -> None:
    with durable(counter, key="k", store=str(journal_path)) as handle:
        handle.call(Add(2))
        text = str(inspect_service(handle))
        assert "journal_length=1" in text
        assert "key=k" in text
        assert inspect_service(handle).tree() is not None
    with plain_counter() as plain:
        assert statistics(plain).extra == {}
        assert "journal_length" not in str(inspect_service(plain))


def test_an_async_handle_over_a_durable_one_tells_them_too(journal_path: Path) -> None:
    with durable(counter, key="k", store=str(journal_path)) as handle:
        handle.call(Add(2))
        front: AsyncHandle[Any, Any] = AsyncHandle(SyncEngine(handle, False))  # type: ignore[arg-type]
        assert statistics(front).extra["journal_length"] == 1
