"""The default journal store: one SQLite file in WAL mode.

Entries are rows ``(key, seq, kind, body, digest, crc, at)`` in a ``WITHOUT
ROWID`` table keyed by ``(key, seq)`` (``at``: when the row was committed);
SQLite's transactions make an append all or nothing even under ``kill -9``,
and the per-row checksum catches what they cannot (a corrupted page, a file
edited by hand). Commits are fsynced (``synchronous=FULL``) in both modes: the
modes differ in how many entries one commit carries.

A key is locked with ``flock`` on a small file beside the database (one per
key): the kernel drops the lock when its holder dies, so a killed process never
leaves a key locked, and two handles on one key are refused even inside one
process.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import time
from pathlib import Path

from ._entries import Row
from ._store import JournalStore, KeyInfo, Mode

__all__ = ["SQLiteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    key TEXT NOT NULL, seq INTEGER NOT NULL, kind INTEGER NOT NULL,
    body BLOB NOT NULL, digest INTEGER NOT NULL, crc INTEGER NOT NULL, at REAL,
    PRIMARY KEY (key, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS factories (
    key TEXT PRIMARY KEY, factory TEXT NOT NULL, fingerprint TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
    key TEXT PRIMARY KEY, seq INTEGER NOT NULL, body BLOB NOT NULL,
    crc INTEGER NOT NULL, taken REAL NOT NULL
);
"""
#: When an entry was committed, in seconds since the epoch (SQLite's clock, in SQL).
_NOW = "(julianday('now') - 2440587.5) * 86400.0"
_INSERT = (
    f"INSERT INTO journal (key, seq, kind, body, digest, crc, at) VALUES (?, ?, ?, ?, ?, ?, {_NOW})"
)


class SQLiteStore(JournalStore):
    """Journals in the SQLite file at ``path`` (created if missing)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        mode: Mode = "sync",
        *,
        batch: int = 1000,
        interval: float = 0.05,
    ) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        try:  # a bad mode or a file that is not a database: the connection is closed
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(journal)")}
            if "at" not in columns:  # a file written before entries were dated
                self._db.execute("ALTER TABLE journal ADD COLUMN at REAL")
            self._locks: dict[str, int] = {}
            self._lockdir = self.path.with_name(self.path.name + ".locks")
            self._lockdir.mkdir(exist_ok=True)
            super().__init__(mode, batch=batch, interval=interval)
        except BaseException:
            self._db.close()
            raise

    def _write(self, rows: list[Row]) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(_INSERT, rows)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _read(self, key: str) -> tuple[int, bytes | None, int, list[Row]]:
        snap = self._db.execute(
            "SELECT seq, body, crc FROM snapshots WHERE key = ?", (key,)
        ).fetchone()
        seq, body, crc = snap if snap is not None else (0, None, 0)
        rows = self._db.execute(
            "SELECT key, seq, kind, body, digest, crc FROM journal "
            "WHERE key = ? AND seq > ? ORDER BY seq",
            (key, seq),
        ).fetchall()
        return seq, body, crc, rows

    def _entry_times(self, key: str) -> dict[int, float]:
        rows = self._db.execute(
            "SELECT seq, at FROM journal WHERE key = ? AND at IS NOT NULL", (key,)
        ).fetchall()
        return dict(rows)

    def _record_factory(self, key: str, factory: str, fingerprint: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO factories VALUES (?, ?, ?)", (key, factory, fingerprint)
        )

    def _factory_of(self, key: str) -> tuple[str, str] | None:
        row = self._db.execute(
            "SELECT factory, fingerprint FROM factories WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def _truncate(self, key: str, from_seq: int) -> None:
        self._db.execute("DELETE FROM journal WHERE key = ? AND seq >= ?", (key, from_seq))

    def _save_snapshot(self, key: str, seq: int, body: bytes, crc: int) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?, ?)",
                (key, seq, body, crc, time.time()),
            )
            db.execute("DELETE FROM journal WHERE key = ? AND seq <= ?", (key, seq))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def lock(self, key: str) -> None:
        name = hashlib.sha256(key.encode()).hexdigest()[:32]
        fd = os.open(self._lockdir / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise
        self._locks[key] = fd

    def unlock(self, key: str) -> None:
        fd = self._locks.pop(key, None)
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the flock

    def list_keys(self) -> list[KeyInfo]:
        with self._lock:
            self._flush_locked()
            rows = self._db.execute(
                "SELECT k.key, COUNT(j.seq), COALESCE(MAX(j.seq), s.seq, 0), "
                "COALESCE(s.seq, 0), s.taken FROM "
                "(SELECT key FROM journal UNION SELECT key FROM snapshots) AS k "
                "LEFT JOIN journal AS j ON j.key = k.key "
                "LEFT JOIN snapshots AS s ON s.key = k.key "
                "GROUP BY k.key ORDER BY k.key"
            ).fetchall()
        return [KeyInfo(*row) for row in rows]

    def _delete(self, key: str) -> int:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        count = db.execute("DELETE FROM journal WHERE key = ?", (key,)).rowcount
        db.execute("DELETE FROM snapshots WHERE key = ?", (key,))
        db.execute("DELETE FROM factories WHERE key = ?", (key,))
        db.execute("COMMIT")
        return int(count)

    def _close(self) -> None:
        for key in list(self._locks):
            self.unlock(key)
        self._db.close()

    def __repr__(self) -> str:
        return f"<SQLiteStore {str(self.path)!r} ({self.mode})>"
