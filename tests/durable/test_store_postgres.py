"""The PostgreSQL journal store: entries as data, advisory locks across sessions and
processes, a corrupted tail, and a journal that survives ``pg_ctl restart``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from pgcluster import PostgresCluster

from nanoservices.durable import JournalError, KeyLockedError, durable

from .conftest import open_store
from .services import Add, Get, counter

pytestmark = pytest.mark.postgres
psycopg = pytest.importorskip("psycopg")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dsn(pg_cluster: PostgresCluster) -> str:
    import uuid

    return pg_cluster.create_database(f"p{uuid.uuid4().hex[:12]}")


def test_entries_are_msgpack_data(dsn: str) -> None:
    with open_store(dsn) as store, durable(counter, key="k", store=store) as handle:
        handle.call(Add(5))
    with psycopg.connect(dsn) as db:
        row = db.execute("SELECT body FROM nanoservices_journal WHERE key = 'k'").fetchone()
    assert row is not None
    assert msgspec.msgpack.decode(row[0]) == {"type": "Add", "n": 5}


def test_two_sessions_never_hold_one_key(dsn: str) -> None:
    with open_store(dsn) as one, open_store(dsn) as two:
        with durable(counter, key="k", store=one):
            with pytest.raises(KeyLockedError):
                durable(counter, key="k", store=one)  # the same session
            with pytest.raises(KeyLockedError):
                durable(counter, key="k", store=two)  # another session
        with durable(counter, key="k", store=two) as handle:
            assert handle.call(Add(1)) == 1


_HOLD = """
import sys
from nanoservices.durable import durable
from nanoservices.durable.postgres import PostgresStore
from tests.durable.services import counter
handle = durable(counter, key="k", store=PostgresStore(sys.argv[1]))
print("locked", flush=True)
sys.stdin.read()
"""


def test_a_killed_holder_frees_the_key(dsn: str) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", _HOLD, dsn],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "locked"
            with open_store(dsn) as store, pytest.raises(KeyLockedError):
                durable(counter, key="k", store=store)
        finally:
            child.kill()
            child.wait()
    # The server frees a dead session's locks when it notices the closed socket,
    # a moment after the kill: the store waits for the lock (up to ``lock_wait``)
    # rather than refuse a key whose holder is already dead.
    with open_store(dsn) as store, durable(counter, key="k", store=store) as handle:
        assert handle.call(Add(2)) == 2


def test_a_live_holder_is_refused_after_the_lock_wait(dsn: str) -> None:
    with open_store(dsn) as one, open_store(dsn, lock_wait=0.2) as two:
        with durable(counter, key="k", store=one), pytest.raises(KeyLockedError):
            durable(counter, key="k", store=two)
        with durable(counter, key="k", store=two) as handle:  # free again: no wait
            assert handle.call(Add(1)) == 1


def test_the_lock_wait_is_checked(dsn: str) -> None:
    with pytest.raises(ValueError, match="lock_wait"):
        open_store(dsn, lock_wait=-1)


def test_a_corrupted_tail_is_cut(dsn: str) -> None:
    with open_store(dsn) as store, durable(counter, key="k", store=store) as handle:
        for n in (1, 2, 3):
            handle.call(Add(n))
    with psycopg.connect(dsn) as db:
        db.execute("UPDATE nanoservices_journal SET crc = crc + 1 WHERE seq = 3")
    with open_store(dsn) as store, durable(counter, key="k", store=store) as again:
        assert again.call(Get()) == [2, 3]
        assert again.stats.dropped == 1


def test_the_journal_survives_a_server_restart(dsn: str, pg_cluster: PostgresCluster) -> None:
    store = open_store(dsn)
    handle = durable(counter, key="k", store=store)
    handle.call(Add(4))
    handle.call(Add(5))
    pg_cluster.restart()  # cuts the store's connection
    with pytest.raises(JournalError, match="could not journal entry 3"):
        handle.call(Add(6))  # ran, but not journalled: the handle stops here
    with pytest.raises(JournalError, match="stopped: could not journal entry 3"):
        handle.call(Add(7))
    handle.close()
    store.close()
    with open_store(dsn) as again, durable(counter, key="k", store=again) as reopened:
        assert reopened.call(Get()) == [2, 9]  # the unjournalled Add(6) was never acknowledged
