"""A journal store in this process's memory: for tests, notebooks and time travel.

It keeps what the SQLite and PostgreSQL stores keep (entries, one snapshot per
key, a lock per key) in dictionaries, and forgets everything when the process
ends. A service that was never meant to be durable can be run through
``durable(..., store=MemoryStore())`` and then stepped through with
[`history`][nanoservices.durable.history], with no file and no server.
"""

from __future__ import annotations

import threading
import time

from ._entries import Row
from ._store import JournalStore, KeyInfo, Mode

__all__ = ["MemoryStore"]


class MemoryStore(JournalStore):
    """Journals in memory (lost when the process ends); safe from several threads."""

    def __init__(self, mode: Mode = "sync", *, batch: int = 1000, interval: float = 0.05) -> None:
        self._rows: dict[str, dict[int, Row]] = {}
        self._times: dict[str, dict[int, float]] = {}
        self._snapshots: dict[str, tuple[int, bytes, int, float]] = {}
        self._factories: dict[str, tuple[str, str]] = {}
        self._held: set[str] = set()
        self._held_lock = threading.Lock()  # lock() and unlock() run outside the store's lock
        super().__init__(mode, batch=batch, interval=interval)

    def _write(self, rows: list[Row]) -> None:
        now = time.time()
        for row in rows:
            if row[1] in self._rows.get(row[0], {}):
                raise ValueError(f"entry {row[1]} of key {row[0]!r} is already journalled")
        for row in rows:
            self._rows.setdefault(row[0], {})[row[1]] = row
            self._times.setdefault(row[0], {})[row[1]] = now

    def _read(self, key: str) -> tuple[int, bytes | None, int, list[Row]]:
        seq, body, crc, _taken = self._snapshots.get(key, (0, None, 0, 0.0))
        rows = self._rows.get(key, {})
        return seq, body, crc, [rows[s] for s in sorted(rows) if s > seq]

    def _record_factory(self, key: str, factory: str, fingerprint: str) -> None:
        self._factories[key] = (factory, fingerprint)

    def _factory_of(self, key: str) -> tuple[str, str] | None:
        return self._factories.get(key)

    def _truncate(self, key: str, from_seq: int) -> None:
        rows = self._rows.get(key, {})
        for seq in [s for s in rows if s >= from_seq]:
            del rows[seq]

    def _save_snapshot(self, key: str, seq: int, body: bytes, crc: int) -> None:
        self._snapshots[key] = (seq, body, crc, time.time())
        rows = self._rows.get(key, {})
        for old in [s for s in rows if s <= seq]:
            del rows[old]

    def lock(self, key: str) -> None:
        with self._held_lock:
            if key in self._held:
                raise BlockingIOError(f"key {key!r} is held")
            self._held.add(key)

    def unlock(self, key: str) -> None:
        with self._held_lock:
            self._held.discard(key)

    def list_keys(self) -> list[KeyInfo]:
        with self._lock:
            self._flush_locked()
            keys = sorted({k for k, rows in self._rows.items() if rows} | set(self._snapshots))
            found = []
            for key in keys:
                rows = self._rows.get(key, {})
                snap_seq, _body, _crc, taken = self._snapshots.get(key, (0, b"", 0, None))
                last = max(rows, default=snap_seq)
                found.append(KeyInfo(key, len(rows), last, snap_seq, taken))
            return found

    def _entry_times(self, key: str) -> dict[int, float]:
        return dict(self._times.get(key, {}))

    def _delete(self, key: str) -> int:
        count = len(self._rows.pop(key, {}))
        self._times.pop(key, None)
        self._snapshots.pop(key, None)
        self._factories.pop(key, None)
        return count

    def _close(self) -> None:
        self._held.clear()

    def __repr__(self) -> str:
        return f"<MemoryStore {len(self._rows)} key(s) ({self.mode})>"
