"""The SQLite journal store: modes, locks, entries as data, torn tails."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from nanoservices.durable import JournalError, KeyLockedError, SQLiteStore, durable
from nanoservices.durable._entries import Kind

from .services import Add, Get, counter


@pytest.fixture
def store(journal_path: Path) -> Iterator[SQLiteStore]:
    """This module tests the SQLite store itself (PostgreSQL: test_store_postgres.py)."""
    opened = SQLiteStore(journal_path)
    yield opened
    opened.close()


def _rows(path: Path, key: str = "k") -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT COUNT(*) FROM journal WHERE key = ?", (key,)).fetchone()[0])


def test_sync_append_is_committed_before_it_returns(journal_path: Path) -> None:
    with SQLiteStore(journal_path, "sync") as store:
        store.append("k", 1, Kind.CALL, b"\x01", 0)
        assert _rows(journal_path) == 1  # another connection sees it at once


def test_batched_commits_a_group_at_batch_size(journal_path: Path) -> None:
    with SQLiteStore(journal_path, "batched", batch=3, interval=3600) as store:
        store.append("k", 1, Kind.CALL, b"\x01", 0)
        store.append("k", 2, Kind.CALL, b"\x02", 0)
        assert _rows(journal_path) == 0  # collected, not yet committed
        store.append("k", 3, Kind.CALL, b"\x03", 0)
        assert _rows(journal_path) == 3
        store.append("k", 4, Kind.CALL, b"\x04", 0)
    assert _rows(journal_path) == 4  # close commits what was collected


def test_batched_flusher_commits_within_the_interval(journal_path: Path) -> None:
    with SQLiteStore(journal_path, "batched", batch=10_000, interval=0.01) as store:
        committed = threading.Event()
        write = store._write

        def observed(rows: list[Any]) -> None:
            write(rows)
            committed.set()

        store._write = observed  # type: ignore[method-assign]
        store.append("k", 1, Kind.CALL, b"\x01", 0)
        assert committed.wait(60), "the flusher never committed"
        assert _rows(journal_path) == 1  # committed by the flusher, with no flush() call


def test_modes_are_checked(journal_path: Path) -> None:
    with pytest.raises(ValueError, match="mode must be"):
        SQLiteStore(journal_path, "fast")  # type: ignore[arg-type]


def test_entries_are_msgpack_data(store: SQLiteStore, journal_path: Path) -> None:
    with durable(counter, key="k", store=store) as handle:
        handle.call(Add(5))
    with contextlib.closing(sqlite3.connect(journal_path)) as db:
        (body,) = db.execute("SELECT body FROM journal WHERE key = 'k'").fetchone()
    assert msgspec.msgpack.decode(body) == {"type": "Add", "n": 5}


def test_a_second_handle_on_a_key_is_refused(store: SQLiteStore, journal_path: Path) -> None:
    with durable(counter, key="k", store=store):
        with pytest.raises(KeyLockedError, match="'k'"):
            durable(counter, key="k", store=store)
        with SQLiteStore(journal_path) as other, pytest.raises(KeyLockedError):
            durable(counter, key="k", store=other)
        with durable(counter, key="other", store=store) as fine:  # other keys are free
            assert fine.call(Add(1)) == 1
    with durable(counter, key="k", store=store) as again:  # released by close
        assert again.call(Get()) == [0, 0]


_HOLD = """
import sys
from nanoservices.durable import SQLiteStore, durable
from tests.durable.services import counter
handle = durable(counter, key="k", store=SQLiteStore(sys.argv[1]))
print("locked", flush=True)
sys.stdin.read()
"""


def test_another_process_is_refused_and_a_killed_holder_frees_the_key(
    journal_path: Path,
) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(journal_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "locked"
            with SQLiteStore(journal_path) as store, pytest.raises(KeyLockedError):
                durable(counter, key="k", store=store)
        finally:
            child.kill()
            child.wait()
    with SQLiteStore(journal_path) as store, durable(counter, key="k", store=store) as handle:
        assert handle.call(Add(2)) == 2


def _corrupt(path: Path, sql: str) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db, db:  # commit, then close
        db.execute(sql)


def test_a_corrupted_tail_is_cut_to_the_last_whole_entry(
    journal_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with SQLiteStore(journal_path) as store, durable(counter, key="k", store=store) as handle:
        for n in (1, 2, 3, 4):
            handle.call(Add(n))
    _corrupt(journal_path, "UPDATE journal SET body = X'81a474797065a3416464a16e05' WHERE seq = 3")
    with (
        caplog.at_level(logging.WARNING, "nanoservices.durable"),
        SQLiteStore(journal_path) as store,
        durable(counter, key="k", store=store) as again,
    ):
        assert again.call(Get()) == [2, 3]  # entries 1 and 2; never half of 3
        assert again.stats.dropped == 2
    assert "recovered up to entry 2" in caplog.text
    assert _rows(journal_path) == 3  # 1, 2 and the Get: the torn tail is gone for good


def test_a_gap_in_the_journal_ends_it(journal_path: Path) -> None:
    with SQLiteStore(journal_path) as store, durable(counter, key="k", store=store) as handle:
        for n in (1, 2, 3):
            handle.call(Add(n))
    _corrupt(journal_path, "DELETE FROM journal WHERE seq = 2")
    with SQLiteStore(journal_path) as store, durable(counter, key="k", store=store) as again:
        assert again.call(Get()) == [1, 1]
        assert again.stats.dropped == 1


def test_keys_and_delete(store: SQLiteStore, caplog: pytest.LogCaptureFixture) -> None:
    with durable(counter, key="a", store=store) as a, durable(counter, key="b", store=store):
        a.call(Add(1))
        a.call(Add(2))
        with pytest.raises(BlockingIOError):
            store.delete("a")  # open: refused
    assert [(k.key, k.entries, k.last_seq) for k in store.list_keys()] == [("a", 2, 2)]
    with caplog.at_level(logging.WARNING, "nanoservices.durable"):
        assert store.delete("a") == 2
    assert "journal of key 'a' deleted (2 entries)" in caplog.text
    assert store.list_keys() == []


@pytest.mark.parametrize("mode", ["sync", "batched"])
def test_a_closed_store_refuses_appends(journal_path: Path, mode: str) -> None:
    store = SQLiteStore(journal_path, mode)  # type: ignore[arg-type]
    handle = durable(counter, key="k", store=store)
    handle.call(Add(1))
    store.close()
    with pytest.raises(JournalError, match="could not journal entry 2"):
        handle.call(Add(2))
    handle.close()
    with SQLiteStore(journal_path) as again, durable(counter, key="k", store=again) as h:
        assert h.call(Get()) == [1, 1]


def test_a_failed_group_commit_keeps_its_entries_and_stops_the_handle(journal_path: Path) -> None:
    store = SQLiteStore(journal_path, "batched", batch=3, interval=3600)
    with durable(counter, key="k", store=store) as handle:
        handle.call(Add(1))
        blocker = sqlite3.connect(journal_path, timeout=0)
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the database
        store._db.execute("PRAGMA busy_timeout = 0")
        handle.call(Add(2))
        with pytest.raises(JournalError, match="could not journal entry 3"):
            handle.call(Add(3))  # fills the group; its commit fails
        blocker.rollback()
        blocker.close()
    store.close()  # the kept entries are committed now
    with SQLiteStore(journal_path) as again, durable(counter, key="k", store=again) as h:
        assert h.call(Get()) == [3, 6]  # nothing the store accepted was dropped
