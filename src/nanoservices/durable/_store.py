"""The journal store interface every backend implements (SQLite, PostgreSQL).

A store keeps, per key: the journal (entries in ``seq`` order), at most one
snapshot (the state at ``seq``, after which the journal continues), and a lock
so that only one handle writes a key at a time. It commits in one of two modes:

``sync`` (the default)
    every append is committed (and fsynced) before ``append`` returns, so a reply
    a caller has seen is never lost. It is the default because that is what a
    caller of a *durable* service expects without reading further.
``batched``
    appends are collected and committed together (group commit) when ``batch``
    entries are waiting, when the oldest has waited ``interval`` seconds (a
    background flusher), on ``flush()``, before a snapshot and on ``close()``. A
    crash loses at most the entries of the group being collected: at most
    ``batch`` entries and at most ``interval`` seconds of acknowledged requests.
"""

from __future__ import annotations

import abc
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat, starmap
from typing import Literal

from ._entries import Entry, Row, row, row_crc

__all__ = ["JournalStore", "KeyInfo", "Loaded", "Mode"]

Mode = Literal["sync", "batched"]
log = logging.getLogger("nanoservices.durable")


@dataclass(frozen=True, slots=True)
class Loaded:
    """What opening a key finds: the snapshot (if any) and the whole entries after it."""

    snapshot_seq: int
    snapshot: bytes | None
    entries: list[Entry]
    dropped: int = 0  # entries cut from a torn or corrupted tail


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A key as listed by ``nanoservices journal list``."""

    key: str
    entries: int
    last_seq: int
    snapshot_seq: int
    snapshot_taken: float | None


class JournalStore(abc.ABC):
    """Where durable handles write their journals. One store may serve many keys;
    it is safe to use from several threads (one lock around the connection)."""

    def __init__(self, mode: Mode = "sync", *, batch: int = 1000, interval: float = 0.05) -> None:
        if mode not in ("sync", "batched"):
            raise ValueError(f"mode must be 'sync' or 'batched', not {mode!r}")
        if batch < 1 or interval <= 0:
            raise ValueError("batch must be >= 1 and interval > 0")
        self.mode: Mode = mode
        self.batch = batch
        self.interval = interval
        self._lock = threading.Lock()  # around the connection
        self._pending: deque[Row] = deque()  # batched: appended without a lock
        self._closed = False
        self._commits = 0  # groups committed so far (the flusher watches it)
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        if mode == "batched":
            self.append = self._batched_append()  # type: ignore[method-assign,assignment]
            self._flusher = threading.Thread(
                target=self._flush_loop, name="nanoservices-journal-flusher", daemon=True
            )
            self._flusher.start()

    # -- what a backend writes ---------------------------------------------------

    @abc.abstractmethod
    def _write(self, rows: list[Row]) -> None:
        """Insert ``rows`` in one committed transaction."""

    @abc.abstractmethod
    def _read(self, key: str) -> tuple[int, bytes | None, int, list[Row]]:
        """The snapshot (seq, body, crc) and the rows of ``key`` after it, in order."""

    @abc.abstractmethod
    def _truncate(self, key: str, from_seq: int) -> None:
        """Delete the entries of ``key`` from ``from_seq`` on (a torn tail)."""

    @abc.abstractmethod
    def _save_snapshot(self, key: str, seq: int, body: bytes, crc: int) -> None:
        """Store the snapshot at ``seq`` and delete the entries it covers, in one transaction."""

    @abc.abstractmethod
    def lock(self, key: str) -> None:
        """Take ``key`` for this store, or raise [`KeyLockedError`][]'s cause
        (``BlockingIOError``) when another holder has it; released by [`unlock`][]
        or when the process dies."""

    @abc.abstractmethod
    def unlock(self, key: str) -> None:
        """Give ``key`` back."""

    @abc.abstractmethod
    def list_keys(self) -> list[KeyInfo]:
        """Every key with a journal or a snapshot."""

    @abc.abstractmethod
    def _delete(self, key: str) -> int:
        """Delete everything of ``key``; how many entries went."""

    @abc.abstractmethod
    def _entry_times(self, key: str) -> dict[int, float]:
        """When each dated entry of ``key`` was committed (seconds since the epoch)."""

    @abc.abstractmethod
    def _record_factory(self, key: str, factory: str, fingerprint: str) -> None:
        """Store which factory (and code fingerprint) writes ``key``."""

    @abc.abstractmethod
    def _factory_of(self, key: str) -> tuple[str, str] | None:
        """The factory and fingerprint recorded for ``key``, if any."""

    @abc.abstractmethod
    def _close(self) -> None:
        """Close the connection."""

    # -- the shared logic -----------------------------------------------------------

    def append(self, key: str, seq: int, kind: int, body: bytes, digest: int) -> None:
        """Journal one entry, committed as the store's mode says (``sync``: now)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the journal store is closed")
            self._write([row(key, seq, kind, body, digest)])

    def _batched_append(self) -> Callable[[str, int, int, bytes, int], None]:
        """The append of batched mode, its hot path: no lock (deque appends are
        atomic) and only locals. The appender that fills a group commits it, the
        flusher commits stragglers."""
        pending = self._pending
        push = pending.append
        batch = self.batch
        flush = self.flush

        def append(key: str, seq: int, kind: int, body: bytes, digest: int) -> None:
            if self._closed:
                raise RuntimeError("the journal store is closed")
            push(row(key, seq, kind, body, digest))
            if len(pending) >= batch:
                flush()

        return append

    def flush(self) -> None:
        """Commit every collected entry now (``batched`` mode; a no-op in ``sync``)."""
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        pending = self._pending
        if pending:
            # Exactly the rows there now, oldest first, while appenders may push more
            # (a popleft per row, called from C: half the cost of a comprehension).
            rows = list(starmap(pending.popleft, repeat((), len(pending))))
            try:
                self._write(rows)
            except BaseException:
                pending.extendleft(reversed(rows))  # kept, in order, for the next try
                raise
            self._commits += 1

    def _flush_loop(self) -> None:
        # Waking every interval/2, the flusher commits what waits only when no
        # group was committed since its last look: an entry then waits about
        # ``interval`` at most, and while appenders fill whole groups (a busy
        # store) it never cuts a group short (more, smaller commits) nor takes
        # the lock from them. A failed commit keeps its rows and is retried; the
        # next appender to fill a group gets the error.
        seen = -1
        while not self._stop.wait(self.interval / 2):
            if self._pending and self._commits == seen:
                with self._lock:
                    if not self._closed:
                        try:
                            self._flush_locked()
                        except Exception:
                            log.exception("committing journal entries failed; will retry")
            seen = self._commits

    def _refuse(self, key: str, seq: int, kind: int, body: bytes, digest: int) -> None:
        raise RuntimeError("the journal store is closed")

    def load(self, key: str) -> Loaded:
        """The snapshot and entries of ``key``, checked: a torn or corrupted tail (an
        entry whose checksum fails, or a gap in ``seq``) is cut off, and logged, so a
        half-written entry is never replayed."""
        with self._lock:
            self._flush_locked()
            snap_seq, snap_body, snap_crc, rows = self._read(key)
            if snap_body is not None and row_crc(snap_seq, 0, snap_body, 0) != snap_crc:
                raise RuntimeError(f"the snapshot of key {key!r} at entry {snap_seq} is corrupted")
            entries: list[Entry] = []
            expected = snap_seq + 1
            for _key, seq, kind, body, digest, crc in rows:
                if seq != expected or row_crc(seq, kind, bytes(body), digest) != crc:
                    break
                entries.append(Entry(seq, kind, bytes(body), digest))
                expected += 1
            dropped = len(rows) - len(entries)
            if dropped:
                log.warning(
                    "journal of key %r: %d entries from entry %d on are torn or corrupted; "
                    "recovered up to entry %d",
                    key,
                    dropped,
                    expected,
                    expected - 1,
                )
                self._truncate(key, expected)
            return Loaded(snap_seq, snap_body, entries, dropped)

    def save_snapshot(self, key: str, seq: int, body: bytes) -> None:
        """Store the state at ``seq`` and compact the journal to it (entries after it stay)."""
        with self._lock:
            self._flush_locked()
            self._save_snapshot(key, seq, body, row_crc(seq, 0, body, 0))

    def entries(self, key: str) -> Loaded:
        """The stored journal of ``key`` without repairing it (for ``journal show``)."""
        with self._lock:
            self._flush_locked()
            snap_seq, snap_body, _crc, rows = self._read(key)
            return Loaded(snap_seq, snap_body, [Entry(r[1], r[2], bytes(r[3]), r[4]) for r in rows])

    def entry_times(self, key: str) -> dict[int, float]:
        """When each entry of ``key`` was committed (seconds since the epoch), by
        ``seq``; entries written before the store dated them are left out."""
        with self._lock:
            self._flush_locked()
            return self._entry_times(key)

    def record_factory(self, key: str, factory: str, fingerprint: str) -> None:
        """Record that ``factory`` (``module:qualname``), whose code has ``fingerprint``,
        writes ``key`` (a durable handle does it as it opens the key)."""
        with self._lock:
            self._record_factory(key, factory, fingerprint)

    def factory_of(self, key: str) -> tuple[str, str] | None:
        """The factory and code fingerprint recorded as writing ``key`` (None: none)."""
        with self._lock:
            return self._factory_of(key)

    def delete(self, key: str) -> int:
        """Delete the journal and snapshot of ``key`` (it must not be open anywhere);
        logged, because nothing brings it back."""
        self.lock(key)
        try:
            with self._lock:
                self._flush_locked()
                count = self._delete(key)
        finally:
            self.unlock(key)
        log.warning("journal of key %r deleted (%d entries)", key, count)
        return count

    def close(self) -> None:
        """Commit what is collected, stop the flusher and close the connection."""
        with self._lock:
            if self._closed:
                return
            try:
                self._flush_locked()
            finally:
                self._closed = True
                self.append = self._refuse  # type: ignore[method-assign]
                self._stop.set()
        if self._flusher is not None:
            self._flusher.join()
        with self._lock:
            self._close()

    def __enter__(self) -> JournalStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
