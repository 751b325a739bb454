"""[`Replay`][]: a journal's entries run again through a service, one entry at a time.

Replay is a flow (see [`_effects`][nanoservices.durable._effects]): it decodes each
entry, yields the step it records (a call, a stream's item, a throw, a reset...)
for a driver to do on the service, and compares the outcome's digest with the
journalled one. It writes nothing and keeps its place, so it stops and goes on
where asked. Replay up to step ``n``, look at the service, go on::

    replay = Replay(spec.name, key, loaded.entries, spec)  # after Restore(snapshot)
    run(replay.until(n), do)   # entries up to seq n (do: the driver's effects)
    ...                        # the service is as it was after entry n: look at it
    run(replay.step(), do)     # entry n + 1: one step, O(1)
    run(replay.until(), do)    # the rest

Opening a durable key is the same replay run to its end
([`bring_back`][nanoservices.durable._flow.bring_back]).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import msgspec

from nanoservices import ServiceError
from nanoservices.core import during_replay

from . import _effects as fx
from ._entries import (
    END_OK,
    RESULT,
    UNCHECKED,
    Entry,
    Kind,
    decoder_for,
    digest_error,
    digest_reply,
)
from ._errors import JournalError, JournalTypeError, ReplayMismatchError

if TYPE_CHECKING:
    from nanoservices.core import ServiceSpec

    from ._replayable import Replayable

__all__ = ["Replay"]


class Replay:
    """The entries of one key, replayed in order through a service (see the module).

    ``position`` counts the entries replayed; ``seq`` is the last one's number
    (the snapshot's, or 0, before the first); ``cursor`` is the stream the
    entries left open, if any. ``replayables`` are fed the recorded results the
    entries hold (put them in replay mode around the replay).
    """

    __slots__ = (
        "_check",
        "_decode",
        "_replayables",
        "cursor",
        "entries",
        "key",
        "name",
        "position",
        "request",
        "seq",
    )

    def __init__(
        self,
        name: str,
        key: str,
        entries: list[Entry],
        spec: ServiceSpec,
        *,
        start_seq: int = 0,
        replayables: Iterable[Replayable] = (),
    ) -> None:
        self.name = name
        self.key = key
        self.entries = entries
        self.position = 0
        self.seq = start_seq
        self.cursor: Any = None
        self.request: object = None  # the last request (a mismatch names it)
        self._decode: Callable[[bytes], Any] = decoder_for(spec.request_type).decode
        self._check = spec.check
        self._replayables = list(replayables)

    @property
    def done(self) -> bool:
        """Whether every entry has been replayed."""
        return self.position >= len(self.entries)

    def until(self, seq: int | None = None) -> fx.Flow[None]:
        """Replay the entries up to and including ``seq`` (None: all of them)."""
        entries = self.entries
        while self.position < len(entries) and (seq is None or entries[self.position].seq <= seq):
            yield from self.step()

    def step(self) -> fx.Flow[None]:
        """Replay the next entry, the service's [`replaying`][nanoservices.replaying] true
        while it runs; raises [`ReplayMismatchError`][] if it gives another outcome than
        the journalled one (and ``IndexError`` when there is none)."""
        with during_replay():
            yield from self._step()

    def _step(self) -> fx.Flow[None]:
        entry = self.entries[self.position]
        self.position += 1
        self.seq = entry.seq
        kind = entry.kind
        outcome: int | None = None
        if kind == RESULT:
            for rep in self._replayables:
                rep._feed(entry.body)
        elif kind == Kind.CALL or kind == Kind.STREAM:
            self.request = request = self._decode_request(entry)
            try:
                if kind == Kind.CALL:
                    outcome = digest_reply((yield fx.Call(request)))
                else:
                    self.cursor = yield fx.OpenStream(request)
                    outcome = 0
            except Exception as exc:
                outcome = digest_error(exc)
        elif kind == Kind.ITEM or kind == Kind.END:
            if self.cursor is None:
                raise self._mismatch(entry, "a stream entry without an open stream")
            try:
                item = yield fx.NextItem(self.cursor)
                outcome = END_OK if item is fx.END else digest_reply(item)
            except Exception as exc:
                outcome = digest_error(exc)
        elif kind == Kind.CANCEL:
            if self.cursor is not None:
                try:
                    yield fx.CancelStream(self.cursor)
                except ServiceError:
                    pass
        elif kind == Kind.THROW:
            self.request = exc_in = self._decode_exception(entry)
            try:
                outcome = digest_reply((yield fx.ThrowIn(exc_in)))
            except Exception as exc:
                outcome = digest_error(exc)
        elif kind == Kind.RESET or kind == Kind.RESTART:
            try:
                yield fx.RESET if kind == Kind.RESET else fx.RESTART
            except ServiceError:
                pass
        else:
            raise JournalError(self.name, self.key, f"entry {entry.seq} has an unknown kind {kind}")
        if outcome is not None and outcome != entry.digest and entry.digest != UNCHECKED:
            raise self._mismatch(
                entry, f"journalled digest {entry.digest:#x}, replay gave {outcome:#x}"
            )

    # -- reading entries back ------------------------------------------------------------

    def _mismatch(self, entry: Entry, detail: str) -> ReplayMismatchError:
        return ReplayMismatchError(self.name, self.key, entry.seq, self.request, detail)

    def _decode_request(self, entry: Entry) -> object:
        try:
            request = self._decode(entry.body)
        except msgspec.DecodeError as exc:
            raw: object = entry.body
            if isinstance(exc, msgspec.ValidationError):
                raw = msgspec.msgpack.decode(entry.body)
            raise JournalTypeError(self.name, self.key, entry.seq, raw, str(exc)) from None
        check = self._check
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
