"""What the sync durable handle and the async durable engine share: reading entries
back (requests, thrown exceptions), telling what a service never saw, giving the
key back, and the figures they tell.

A mixin, so that both follow one set of rules; it needs ``key``, ``store``,
``_spec`` (the service's spec), ``_decode`` (the request decoder) and the journal
counters the two keep alike (see the annotations of [`JournalReader`][]).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from nanoservices import InvalidRequestError, ServiceBusyError, ServiceClosedError
from nanoservices.core import ServiceSpec

from ._entries import Entry
from ._errors import JournalError, JournalTypeError, ReplayMismatchError

if TYPE_CHECKING:
    from ._replayable import Replayable
    from ._store import JournalStore

__all__ = ["REFUSALS", "DurableStats", "JournalReader"]

#: Errors that mean the service never saw the request (so nothing is journalled).
REFUSALS = (ServiceClosedError, ServiceBusyError)


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


class JournalReader:
    """Reading a journal back, and what is journalled at all (see the module)."""

    __slots__ = ()

    key: str
    store: JournalStore
    _spec: ServiceSpec
    _decode: Callable[[bytes], Any]
    _owns_store: bool
    _released: bool
    _replayables: list[Replayable]
    _seq: int
    _snapshot_seq: int
    _snapshot_time: float | None
    _clock: Callable[[], float]
    _replayed: int
    _replay_seconds: float
    _dropped: int

    @property
    def name(self) -> str:
        return self._spec.name

    def _mismatch(self, entry: Entry, request: object, detail: str) -> ReplayMismatchError:
        return ReplayMismatchError(self.name, self.key, entry.seq, request, detail)

    def _decode_request(self, entry: Entry) -> object:
        try:
            request = self._decode(entry.body)
        except msgspec.DecodeError as exc:
            raw: object = entry.body
            if isinstance(exc, msgspec.ValidationError):
                raw = msgspec.msgpack.decode(entry.body)
            raise JournalTypeError(self.name, self.key, entry.seq, raw, str(exc)) from None
        check = self._spec.check
        if check is not None:
            reason = check(request)
            if reason is not None:
                raise JournalTypeError(self.name, self.key, entry.seq, request, reason)
        return request

    def _decode_exception(self, entry: Entry) -> BaseException:
        module, qualname, args = msgspec.msgpack.decode(entry.body)
        cls: Any = sys.modules.get(module)
        for part in qualname.split("."):
            cls = getattr(cls, part, None)
        if not (isinstance(cls, type) and issubclass(cls, BaseException)):
            raise JournalError(
                self.name,
                self.key,
                f"entry {entry.seq} throws {module}.{qualname}, which is not a loaded "
                "exception class",
            )
        return cls(*args)

    def _refused(self, request: object, exc: BaseException) -> bool:
        """Whether ``exc`` means the service never saw ``request`` (not journalled)."""
        if isinstance(exc, REFUSALS):
            return True
        check = self._spec.check
        return (
            isinstance(exc, InvalidRequestError)
            and check is not None
            and check(request) is not None
        )

    def _unencodable(self, request: object, exc: BaseException) -> InvalidRequestError:
        return InvalidRequestError(
            self.name, request, f"a durable service journals requests as msgspec data: {exc}"
        )

    def _release(self) -> None:
        """Give the key back (once): flush what is pending, unlock, close an owned store."""
        if self._released:
            return
        self._released = True  # type: ignore[misc]  # a slot of the engine, an attribute of the sync handle
        with contextlib.suppress(Exception):
            self.store.flush()
        self.store.unlock(self.key)
        self._release_store()
        for rep in self._replayables:
            rep._bind(None)

    def _release_store(self) -> None:
        if self._owns_store:
            self.store.close()

    @property
    def stats(self) -> DurableStats:
        """The journal's figures now."""
        taken = self._snapshot_time
        return DurableStats(
            key=self.key,
            last_seq=self._seq,
            journal_length=self._seq - self._snapshot_seq,
            snapshot_seq=self._snapshot_seq,
            snapshot_age=None if taken is None else self._clock() - taken,
            replayed=self._replayed,
            replay_seconds=self._replay_seconds,
            dropped=self._dropped,
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
