"""[`Journal`][]: one key's journal as a durable handle writes it.

What is journalled and what is not, appending an entry (and stopping for good
when the store fails), when to think of a snapshot, giving the key back, and the
figures a handle tells. It never touches the service: the flows of
[`_flow`][nanoservices.durable._flow] do that through their driver. The sync handle
and the async engine each hold one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from nanoservices import InvalidRequestError, ServiceBusyError, ServiceClosedError

from ._entries import RESULT, encode
from ._errors import JournalError, KeyLockedError
from ._fingerprint import provenance
from ._replayable import Replayable
from ._sqlite import SQLiteStore
from ._store import JournalStore

if TYPE_CHECKING:
    from nanoservices.core import ServiceSpec

__all__ = ["DEFAULT_PATH", "REFUSALS", "DurableStats", "Journal", "Snapshots"]

DEFAULT_PATH = "nanoservices-journal.sqlite"

#: Errors that mean the service never saw the request (so nothing is journalled).
REFUSALS = (ServiceClosedError, ServiceBusyError)


@dataclass(frozen=True, slots=True)
class Snapshots:
    """How to read and restore a service's state, and how often to snapshot.

    ``take(handle)`` returns the state (msgspec-encodable data), typically by
    calling a request the service offers; ``restore(handle, state)`` puts it
    back into a fresh instance. Every ``every`` entries the state is stored and
    the journal compacted to it, so replay never reads more than ``every``
    entries.

    ``every_seconds`` adds a time trigger: the first entry journalled ``T``
    seconds or more after the last snapshot (or the open) takes one, so a quiet
    key is compacted too. It is checked as entries are journalled (no thread
    touches the service behind its caller's back), on ``clock`` (a monotonic
    ``Callable[[], float]``; a test passes a fake one), which also dates
    ``snapshot_age``.
    """

    take: Callable[[Any], Any]
    restore: Callable[[Any, Any], object]
    every: int = 1000
    state_type: Any = Any
    every_seconds: float | None = None
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError(f"every must be >= 1, got {self.every!r}")
        if self.every_seconds is not None and not self.every_seconds > 0:
            raise ValueError(f"every_seconds must be > 0, got {self.every_seconds!r}")


@dataclass(frozen=True, slots=True)
class DurableStats:
    """What a durable handle tells about its journal."""

    key: str
    last_seq: int  # the last entry written
    journal_length: int  # entries after the last snapshot (what a reopen replays)
    snapshot_seq: int  # 0: no snapshot
    snapshot_age: float | None  # seconds since the last snapshot this handle saw
    replayed: int  # entries replayed when the key was opened
    replay_seconds: float
    dropped: int  # torn or corrupted entries cut from the tail when opened


class Journal:
    """The journal of ``key`` in ``store`` (an SQLite path opens one, then owned), as
    the handle of the service ``spec`` writes it; see the module. ``args``: the
    service's arguments (its [`Replayable`][nanoservices.durable.Replayable]s are bound).

    ``named`` answers to the service's name (the spec until the service runs, then
    its handle, which may be renamed); ``on_broken`` is told when the store failed.
    """

    __slots__ = (
        "_clock",
        "_every",
        "_owns_store",
        "_period",
        "_put",
        "_snap_due",
        "broken",
        "dropped",
        "key",
        "named",
        "on_broken",
        "released",
        "replay_seconds",
        "replayables",
        "replayed",
        "seq",
        "snap_at",
        "snapshot_seq",
        "snapshot_time",
        "snapshots",
        "spec",
        "store",
    )

    def __init__(
        self,
        spec: ServiceSpec,
        key: str,
        store: JournalStore | str | Path | None,
        snapshots: Snapshots | None,
        args: Iterable[object] = (),
    ) -> None:
        if not isinstance(key, str) or not key:
            raise TypeError(f"a durable key is a non-empty str, not {key!r}")
        self.spec = spec
        self.named: Any = spec
        self.key = key
        self._owns_store = not isinstance(store, JournalStore)
        self.store: JournalStore = (
            store if isinstance(store, JournalStore) else SQLiteStore(store or DEFAULT_PATH)
        )
        self._put = self.store.append
        self.snapshots = snapshots
        self._every: float = snapshots.every if snapshots is not None else float("inf")
        self._period = snapshots.every_seconds if snapshots is not None else None
        self._clock = snapshots.clock if snapshots is not None else time.monotonic
        self.snap_at: float = self._every  # the entry at which to think of a snapshot
        self._snap_due = 0.0  # with every_seconds: the clock's time of the next snapshot
        self.broken: str | None = None  # why journalling stopped, if it did
        self.on_broken: Callable[[], None] | None = None
        self.released = False
        self.seq = self.snapshot_seq = self.replayed = self.dropped = 0
        self.snapshot_time: float | None = None
        self.replay_seconds = 0.0
        #: The service's arguments that record side effects (bound once it opened).
        self.replayables = [a for a in args if isinstance(a, Replayable)]

    @property
    def name(self) -> str:
        return str(self.named.name)

    # -- the key ------------------------------------------------------------------------

    def lock(self) -> None:
        """Take the key, or raise [`KeyLockedError`][] (an owned store is closed then)."""
        try:
            self.store.lock(self.key)
        except BlockingIOError:
            self._release_store()
            raise KeyLockedError(
                self.name, self.key, "another handle holds this key (in this process or another)"
            ) from None

    def unlock(self) -> None:
        """Give the key back after an open that failed."""
        self.store.unlock(self.key)
        self._release_store()

    def release(self) -> None:
        """Give the key back (once): flush what is pending, unlock, close an owned store."""
        if self.released:
            return
        self.released = True
        with contextlib.suppress(Exception):
            self.store.flush()
        self.unlock()
        for rep in self.replayables:
            rep._bind(None)

    def _release_store(self) -> None:
        if self._owns_store:
            self.store.close()

    # -- what is journalled -------------------------------------------------------------

    def body(self, request: object) -> bytes:
        """The body of ``request``'s entry; refuses once journalling stopped, and a
        request msgspec cannot encode (InvalidRequestError)."""
        self.check()
        try:
            return encode(request)
        except (TypeError, msgspec.EncodeError) as exc:
            raise self.unencodable(request, exc) from None

    def check(self) -> None:
        """Refuse to go on once journalling failed."""
        if self.broken is not None:
            raise JournalError(self.name, self.key, f"this durable handle stopped: {self.broken}")

    def unencodable(self, request: object, exc: BaseException) -> InvalidRequestError:
        return InvalidRequestError(
            self.name, request, f"a durable service journals requests as msgspec data: {exc}"
        )

    def refused(self, request: object, exc: BaseException) -> bool:
        """Whether ``exc`` means the service never saw ``request`` (not journalled)."""
        if isinstance(exc, REFUSALS):
            return True
        check = self.spec.check
        return (
            isinstance(exc, InvalidRequestError)
            and check is not None
            and check(request) is not None
        )

    # -- appending ----------------------------------------------------------------------

    def append(self, kind: int, body: bytes, digest: int) -> bool:
        """Journal one entry now (as the store's mode commits it); whether a snapshot is
        worth thinking of ([`snapshot_flow`][nanoservices.durable._flow.snapshot_flow])."""
        seq = self.seq + 1
        try:
            self._put(self.key, seq, kind, body, digest)
        except Exception as exc:
            self.broken = f"could not journal entry {seq}: {exc}"
            if self.on_broken is not None:
                self.on_broken()
            raise JournalError(self.name, self.key, self.broken) from exc
        self.seq = seq
        return seq >= self.snap_at

    def record(self, body: bytes) -> None:
        """Journal a [`Replayable`][nanoservices.durable.Replayable]'s result."""
        self.append(RESULT, body, 0)

    def record_factory(self) -> None:
        """Record which factory, and which version of its code, writes the key (time
        travel checks it); a read, and a write only when it changed."""
        mine = provenance(self.spec)
        if self.store.factory_of(self.key) != (mine.factory, mine.fingerprint):
            self.store.record_factory(self.key, mine.factory, mine.fingerprint)

    def bind_replayables(self) -> None:
        for rep in self.replayables:
            rep._bind(self.record)

    def replaying(self, on: bool) -> None:
        for rep in self.replayables:
            rep._replay(on)

    # -- snapshots ------------------------------------------------------------------------

    def plan_snapshot(self, at: int) -> None:
        """After a snapshot at entry ``at`` (or the open): when to think of the next.
        With a time trigger every entry checks the clock; else only the Nth does."""
        self.snap_at = at + self._every
        if self._period is not None:
            self._snap_due = self._clock() + self._period
            self.snap_at = self.seq + 1

    def snapshot_due(self) -> bool:
        """Whether to snapshot now that an entry reached ``snap_at``: the count is up, or
        (with a time trigger) the time is; if not yet, look again at the next entry."""
        if (
            self._period is not None
            and self.seq < self.snapshot_seq + self._every
            and self._clock() < self._snap_due
        ):
            self.snap_at = self.seq + 1
            return False
        return True

    def restored(self) -> None:
        """The snapshot the key was opened from is back in the service."""
        self.snapshot_time = self._clock()

    def save_snapshot(self, state: object) -> None:
        """Store ``state`` as the snapshot at the last entry and compact the journal to it."""
        self.store.save_snapshot(self.key, self.seq, encode(state))
        self.snapshot_seq = self.seq
        self.snapshot_time = self._clock()
        self.plan_snapshot(self.seq)

    # -- what it tells ------------------------------------------------------------------

    @property
    def stats(self) -> DurableStats:
        """The journal's figures now."""
        taken = self.snapshot_time
        return DurableStats(
            key=self.key,
            last_seq=self.seq,
            journal_length=self.seq - self.snapshot_seq,
            snapshot_seq=self.snapshot_seq,
            snapshot_age=None if taken is None else self._clock() - taken,
            replayed=self.replayed,
            replay_seconds=self.replay_seconds,
            dropped=self.dropped,
        )

    def observe_extra(self) -> dict[str, object]:
        """What ``nanoservices.observe`` shows beside a durable service's statistics and
        inspection (``Statistics.extra``): the figures of [`stats`][]."""
        stats = self.stats
        return {
            "key": stats.key,
            "journal_length": stats.journal_length,
            "last_seq": stats.last_seq,
            "snapshot_seq": stats.snapshot_seq,
            "snapshot_age": stats.snapshot_age,
            "replayed": stats.replayed,
            "replay_seconds": stats.replay_seconds,
            "dropped": stats.dropped,
        }
