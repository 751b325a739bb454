"""The in-memory journal store, and when entries were committed (every store)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from nanoservices.durable import KeyLockedError, MemoryStore, SQLiteStore, durable

from .services import Add, Get, counter, snapshots


def test_a_service_survives_its_handle_in_memory() -> None:
    with MemoryStore() as store:
        with durable(counter, key="k", store=store) as h:
            h.call(Add(2))
            h.call(Add(3))
        with durable(counter, key="k", store=store) as h:
            assert h.call(Get()) == [2, 5]
            assert h.stats.replayed == 2


def test_one_handle_per_key_and_keys_listed_and_deleted() -> None:
    with MemoryStore() as store:
        with durable(counter, key="a", store=store) as h:
            h.call(Add(1))
            with pytest.raises(KeyLockedError):
                durable(counter, key="a", store=store)
        with durable(counter, key="b", store=store, snapshots=snapshots(every=2)) as h:
            for n in range(3):
                h.call(Add(n))
        listed = {info.key: info for info in store.list_keys()}
        assert (listed["a"].entries, listed["a"].last_seq) == (1, 1)
        assert (listed["b"].entries, listed["b"].snapshot_seq, listed["b"].last_seq) == (1, 2, 3)
        assert store.delete("a") == 1
        assert [info.key for info in store.list_keys()] == ["b"]


def test_batched_mode_commits_on_flush() -> None:
    with MemoryStore("batched", batch=100, interval=3600) as store:
        store.append("k", 1, 1, b"\x01", 0)
        assert store._read("k")[3] == []  # collected, not committed
        store.flush()
        assert len(store.entries("k").entries) == 1


def test_an_entry_is_journalled_once() -> None:
    with MemoryStore() as store:
        store.append("k", 1, 1, b"\x01", 0)
        with pytest.raises(ValueError, match="already journalled"):
            store.append("k", 1, 1, b"\x02", 0)


def test_sqlite_files_written_before_entries_were_dated_still_open(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(
            "CREATE TABLE journal (key TEXT NOT NULL, seq INTEGER NOT NULL, "
            "kind INTEGER NOT NULL, body BLOB NOT NULL, digest INTEGER NOT NULL, "
            "crc INTEGER NOT NULL, PRIMARY KEY (key, seq)) WITHOUT ROWID"
        )
        db.commit()
    with SQLiteStore(path) as store:
        store.append("k", 1, 1, b"\x01", 0)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(
            "INSERT INTO journal (key, seq, kind, body, digest, crc) "
            "VALUES ('k', 2, 1, x'02', 0, 0)"
        )
        db.commit()
    with SQLiteStore(path) as store:
        times = store.entry_times("k")
    assert list(times) == [1]  # the undated row is left out
