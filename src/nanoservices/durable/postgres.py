"""A journal store in PostgreSQL (psycopg 3), for services on servers.

The same tables as the SQLite store (``nanoservices_journal``,
``nanoservices_snapshots``), created if missing. A key is locked with a
session-level advisory lock on the store's connection: PostgreSQL drops it
when the connection goes, so a killed process never leaves a key locked. It
drops it when the server notices the closed socket, a moment after the kill,
so a key that is held is waited for, up to ``lock_wait`` seconds (the server
wakes the waiter as the lock is freed), before it is refused: a process
restarted after a crash gets its keys back instead of a ``KeyLockedError``.
Commits follow the server's ``synchronous_commit``.

Needs the ``postgres`` extra: ``pip install '.[postgres]'`` in a clone.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from ._entries import Row
from ._store import JournalStore, KeyInfo, Mode

try:
    import psycopg
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
    raise ModuleNotFoundError(  # the install hint's wording (core's install_hint)
        "the PostgreSQL journal store needs psycopg, from the 'postgres' extra: "
        "pip install '.[postgres]' in your clone of nanoservices (it is not on PyPI)",
        name=exc.name,
    ) from exc

__all__ = ["PostgresStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nanoservices_journal (
    key text NOT NULL, seq bigint NOT NULL, kind smallint NOT NULL,
    body bytea NOT NULL, digest bigint NOT NULL, crc bigint NOT NULL,
    -- when the entry was committed (the column is added to tables made before)
    at double precision DEFAULT extract(epoch from now()),
    PRIMARY KEY (key, seq)
);
CREATE TABLE IF NOT EXISTS nanoservices_factories (
    key text PRIMARY KEY, factory text NOT NULL, fingerprint text NOT NULL
);
CREATE TABLE IF NOT EXISTS nanoservices_snapshots (
    key text PRIMARY KEY, seq bigint NOT NULL, body bytea NOT NULL,
    crc bigint NOT NULL, taken double precision NOT NULL
);
"""

#: Tables made before entries were dated gain the column (old rows stay undated); a
#: no-op, taking no table lock, when the column is there.
_DATED = """
DO $$ BEGIN
IF NOT EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_name = 'nanoservices_journal' AND column_name = 'at'
               AND table_schema = current_schema()) THEN
    ALTER TABLE nanoservices_journal ADD COLUMN at double precision;
    ALTER TABLE nanoservices_journal ALTER COLUMN at SET DEFAULT extract(epoch from now());
END IF;
END $$;
"""


def _lock_id(key: str) -> int:
    """A signed 64-bit advisory lock number for ``key``."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


class PostgresStore(JournalStore):
    """Journals in the PostgreSQL database at ``dsn`` (a psycopg conninfo string).

    ``lock_wait``: how long opening a key another session holds waits for it
    before [`KeyLockedError`][nanoservices.durable.KeyLockedError] (default 5 s;
    0 refuses at once): a crashed holder's lock is freed a moment after it dies.
    """

    def __init__(
        self,
        dsn: str,
        mode: Mode = "sync",
        *,
        batch: int = 1000,
        interval: float = 0.05,
        lock_wait: float = 5.0,
    ) -> None:
        if not lock_wait >= 0:
            raise ValueError(f"lock_wait must be a number of seconds >= 0, got {lock_wait!r}")
        self._lock_wait_ms = max(1, round(lock_wait * 1000)) if lock_wait else 0
        self._db: psycopg.Connection[Any] = psycopg.connect(dsn, autocommit=True)
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(7301)")  # one schema creator
            self._db.execute(_SCHEMA)
            self._db.execute(_DATED)
        self._locked: set[str] = set()
        super().__init__(mode, batch=batch, interval=interval)

    def _write(self, rows: list[Row]) -> None:
        with self._db.transaction(), self._db.cursor() as cur:
            cur.executemany(
                "INSERT INTO nanoservices_journal VALUES (%s, %s, %s, %s, %s, %s)", rows
            )

    def _read(self, key: str) -> tuple[int, bytes | None, int, list[Row]]:
        snap = self._db.execute(
            "SELECT seq, body, crc FROM nanoservices_snapshots WHERE key = %s", (key,)
        ).fetchone()
        seq, body, crc = snap if snap is not None else (0, None, 0)
        rows = self._db.execute(
            "SELECT key, seq, kind, body, digest, crc FROM nanoservices_journal "
            "WHERE key = %s AND seq > %s ORDER BY seq",
            (key, seq),
        ).fetchall()
        return seq, None if body is None else bytes(body), crc, rows

    def _entry_times(self, key: str) -> dict[int, float]:
        rows = self._db.execute(
            "SELECT seq, at FROM nanoservices_journal WHERE key = %s AND at IS NOT NULL",
            (key,),
        ).fetchall()
        return {int(seq): float(at) for seq, at in rows}

    def _record_factory(self, key: str, factory: str, fingerprint: str) -> None:
        self._db.execute(
            "INSERT INTO nanoservices_factories VALUES (%s, %s, %s) ON CONFLICT (key) "
            "DO UPDATE SET factory = EXCLUDED.factory, fingerprint = EXCLUDED.fingerprint",
            (key, factory, fingerprint),
        )

    def _factory_of(self, key: str) -> tuple[str, str] | None:
        row = self._db.execute(
            "SELECT factory, fingerprint FROM nanoservices_factories WHERE key = %s", (key,)
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def _truncate(self, key: str, from_seq: int) -> None:
        self._db.execute(
            "DELETE FROM nanoservices_journal WHERE key = %s AND seq >= %s", (key, from_seq)
        )

    def _save_snapshot(self, key: str, seq: int, body: bytes, crc: int) -> None:
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO nanoservices_snapshots VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (key) DO UPDATE SET seq = EXCLUDED.seq, body = EXCLUDED.body, "
                "crc = EXCLUDED.crc, taken = EXCLUDED.taken",
                (key, seq, body, crc, time.time()),
            )
            self._db.execute(
                "DELETE FROM nanoservices_journal WHERE key = %s AND seq <= %s", (key, seq)
            )

    def lock(self, key: str) -> None:
        with self._lock:
            if key in self._locked:  # advisory locks are re-entrant within a session
                raise BlockingIOError(f"key {key!r} is held by this store")
            lock_id = _lock_id(key)
            row = self._db.execute("SELECT pg_try_advisory_lock(%s)", (lock_id,)).fetchone()
            if (row is None or not row[0]) and not self._wait_for_lock(lock_id):
                raise BlockingIOError(f"key {key!r} is held by another session")
            self._locked.add(key)

    def _wait_for_lock(self, lock_id: int) -> bool:
        """Wait up to ``lock_wait`` for the advisory lock ``lock_id``; whether it was taken.

        ``lock_timeout`` bounds the blocking ``pg_advisory_lock`` (the lock stays
        the session's after its transaction ends; only the timeout is local to it).
        """
        if not self._lock_wait_ms:
            return False
        try:
            with self._db.transaction():
                self._db.execute(
                    "SELECT set_config('lock_timeout', %s, true)", (f"{self._lock_wait_ms}ms",)
                )
                self._db.execute("SELECT pg_advisory_lock(%s)", (lock_id,))
        except psycopg.errors.LockNotAvailable:
            return False
        return True

    def unlock(self, key: str) -> None:
        with self._lock:
            if key in self._locked and not self._db.closed:
                self._db.execute("SELECT pg_advisory_unlock(%s)", (_lock_id(key),))
            self._locked.discard(key)

    def list_keys(self) -> list[KeyInfo]:
        with self._lock:
            self._flush_locked()
            rows = self._db.execute(
                "SELECT k.key, COUNT(j.seq), COALESCE(MAX(j.seq), s.seq, 0), "
                "COALESCE(s.seq, 0), s.taken FROM "
                "(SELECT key FROM nanoservices_journal UNION "
                "SELECT key FROM nanoservices_snapshots) AS k "
                "LEFT JOIN nanoservices_journal AS j ON j.key = k.key "
                "LEFT JOIN nanoservices_snapshots AS s ON s.key = k.key "
                "GROUP BY k.key, s.seq, s.taken ORDER BY k.key"
            ).fetchall()
        return [
            KeyInfo(key, int(n), int(last), int(snap), taken) for key, n, last, snap, taken in rows
        ]

    def _delete(self, key: str) -> int:
        with self._db.transaction():
            cur = self._db.execute("DELETE FROM nanoservices_journal WHERE key = %s", (key,))
            self._db.execute("DELETE FROM nanoservices_snapshots WHERE key = %s", (key,))
            self._db.execute("DELETE FROM nanoservices_factories WHERE key = %s", (key,))
        return cur.rowcount

    def _close(self) -> None:
        self._locked.clear()
        self._db.close()  # the session's advisory locks go with it

    def __repr__(self) -> str:
        return f"<PostgresStore ({self.mode})>"
