"""The durable handle: a local handle whose every accepted request is journalled.

It is a layer on a [`LocalHandle`][nanoservices.LocalHandle] (public API only), like
supervision: ``call`` runs the request, appends ``(request, digest of the
outcome)`` to the key's journal, then returns the reply. Opening a key starts a
fresh generator from the factory, restores the last snapshot (if any) and
replays the entries after it through the same handle, replies discarded and
digests compared. The generator itself never knows.

Not journalled, because the service never saw them: requests refused by
validation, calls refused by the state (closed, streaming, busy).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from zlib import crc32

import msgspec

from nanoservices import (
    DeadlineExceeded,
    LocalHandle,
    ServiceError,
    State,
    remaining,
)
from nanoservices.core import ReplyStream, short_repr

from ._common import REFUSALS, DurableStats, JournalReader
from ._entries import (
    END_OK,
    UNCHECKED,
    Entry,
    Kind,
    decoder_for,
    digest_error,
    digest_reply,
    encode,
)
from ._errors import JournalError, KeyLockedError
from ._replayable import Replayable
from ._sqlite import SQLiteStore
from ._store import JournalStore

if TYPE_CHECKING:
    from nanoservices.core import ServiceFactory

__all__ = ["DEFAULT_PATH", "DurableHandle", "DurableStats", "DurableStream", "Snapshots", "durable"]

RequestT = TypeVar("RequestT")
ReplyT = TypeVar("ReplyT")

DEFAULT_PATH = "nanoservices-journal.sqlite"
_RESULT = 9  # a Replayable's recorded result (precedes the entry of its request)


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


def durable(
    factory: ServiceFactory[Any, RequestT, ReplyT],
    *args: Any,
    key: str,
    store: JournalStore | str | Path | None = None,
    snapshots: Snapshots | None = None,
    **kwargs: Any,
) -> DurableHandle[RequestT, ReplyT]:
    """Open the durable service ``factory(*args, **kwargs)`` under ``key``.

    ``store`` is a [`JournalStore`][], or a path to an SQLite file (then owned
    and closed by the handle; default ``nanoservices-journal.sqlite`` in sync
    mode). Raises [`KeyLockedError`][] when another handle holds the key.
    """
    return DurableHandle(factory, args, kwargs, key=key, store=store, snapshots=snapshots)


class DurableHandle(JournalReader, Generic[RequestT, ReplyT]):
    """A service whose state survives its process: see [`durable`][]."""

    def __init__(
        self,
        factory: ServiceFactory[Any, RequestT, ReplyT],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        key: str,
        store: JournalStore | str | Path | None,
        snapshots: Snapshots | None,
    ) -> None:
        if not isinstance(key, str) or not key:
            raise TypeError(f"a durable key is a non-empty str, not {key!r}")
        self._spec = factory.spec
        self.key = key
        self._owns_store = not isinstance(store, JournalStore)
        self.store: JournalStore = (
            store if isinstance(store, JournalStore) else SQLiteStore(store or DEFAULT_PATH)
        )
        self._snapshots = snapshots
        self._every: float = snapshots.every if snapshots is not None else float("inf")
        self._snap_at: float = self._every  # the entry at which to think of a snapshot
        self._clock = snapshots.clock if snapshots is not None else time.monotonic
        self._period = snapshots.every_seconds if snapshots is not None else None
        self._snap_due = 0.0  # with every_seconds: the clock's time of the next snapshot
        self._put = self.store.append
        self._ready = False  # True while a call may take the hot path
        #: The handle-wide default deadline in seconds for ``call`` and ``stream``
        #: (None: none); a call's own ``timeout=`` overrides it.
        self.timeout: float | None = None
        self._decode = decoder_for(self._spec.request_type).decode
        self._stream: object | None = None  # the open stream's token (never the stream)
        self._closed = False
        self._released = False
        self._broken: str | None = None  # why journalling stopped, if it did
        self._seq = 0
        self._snapshot_seq = 0
        self._snapshot_time: float | None = None
        self._replayables = [a for a in (*args, *kwargs.values()) if isinstance(a, Replayable)]
        try:
            self.store.lock(key)
        except BlockingIOError:
            self._release_store()
            raise KeyLockedError(
                self._spec.name, key, "another handle holds this key (in this process or another)"
            ) from None
        try:
            self._inner: LocalHandle[RequestT, ReplyT] = factory(*args, **kwargs)
            self._send = self._inner.call
            self._open()
        except BaseException:
            self.store.unlock(key)
            self._release_store()
            raise
        for rep in self._replayables:
            rep._bind(self._record_result)
        self._ready = self._inner.state is State.READY and self._stream is None
        if self.store.mode == "batched":
            self.call = self._batched_call()  # type: ignore[method-assign]

    def _batched_call(self) -> Callable[..., ReplyT]:
        """[`call`][] in ``batched`` mode with the store's append inlined: encode, run,
        digest, push the row onto the group, flush it when full. This is the hot path of
        a durable service; anything off it (not ready, a closed store) takes ``call``."""
        store = self.store
        pending, batch = store.group()
        push = pending.append
        flush = store.flush
        send = self._send
        key = self.key
        slow = DurableHandle.call

        def call(request: RequestT, /, *, timeout: float | None = None) -> ReplyT:
            if not self._ready or store._closed or timeout is not None or self.timeout is not None:
                return slow(self, request, timeout=timeout)
            try:
                body = encode(request)
            except (TypeError, msgspec.EncodeError) as exc:
                raise self._unencodable(request, exc) from None
            try:
                reply = send(request)
            except Exception as exc:
                self._call_failed(request, body, exc)
                raise
            try:
                digest = crc32(encode(reply))
            except (TypeError, msgspec.EncodeError):
                digest = digest_reply(reply)
            seq = self._seq + 1
            # row_crc of a Kind.CALL entry (kind 1), inlined
            push(
                (
                    key,
                    seq,
                    1,
                    body,
                    digest,
                    crc32(body, (seq * 2654435761 + 97 + digest) & 0xFFFFFFFF),
                )
            )
            self._seq = seq
            if len(pending) >= batch:
                try:
                    flush()
                except Exception as exc:
                    raise self._journal_failed(seq, exc) from exc
            if seq >= self._snap_at:
                self._maybe_snapshot()
            return reply

        return call

    # -- opening: snapshot, then replay --------------------------------------------

    def _open(self) -> None:
        started = time.perf_counter()
        loaded = self.store.load(self.key)
        self._dropped = loaded.dropped
        self._seq = self._snapshot_seq = loaded.snapshot_seq
        inner = self._inner
        if loaded.snapshot is not None:
            if self._snapshots is None:
                raise JournalError(
                    self.name,
                    self.key,
                    f"the journal starts from a snapshot (entry {loaded.snapshot_seq}) "
                    "but no snapshots= was given to restore it",
                )
            state = msgspec.msgpack.decode(loaded.snapshot, type=self._snapshots.state_type)
            self._snapshots.restore(inner, state)
            self._snapshot_time = self._clock()
        for rep in self._replayables:
            rep._replay(True)
        try:
            rstream = self._replay(loaded.entries)
        finally:
            for rep in self._replayables:
                rep._replay(False)
        self._replayed = len(loaded.entries)
        self._seq = loaded.snapshot_seq + len(loaded.entries)
        self._plan_snapshot(loaded.snapshot_seq)
        if rstream is not None and rstream.is_open:
            # The journal ends inside a stream: its reader died with the process.
            with contextlib.suppress(ServiceError):
                rstream.cancel()
            self._append(Kind.CANCEL, b"", 0)
        self._replay_seconds = time.perf_counter() - started

    def _replay(self, entries: list[Entry]) -> ReplyStream[Any] | None:
        inner = self._inner
        rstream: ReplyStream[Any] | None = None
        request: object = None
        for entry in entries:
            kind = entry.kind
            outcome: int | None = None
            if kind == _RESULT:
                for rep in self._replayables:
                    rep._feed(entry.body)
                continue
            if kind == Kind.CALL or kind == Kind.STREAM:
                request = self._decode_request(entry)
                try:
                    if kind == Kind.CALL:
                        outcome = digest_reply(inner.call(request))  # type: ignore[arg-type]
                    else:
                        rstream = inner.stream(request)  # type: ignore[arg-type]
                        outcome = 0
                except Exception as exc:
                    outcome = digest_error(exc)
            elif kind == Kind.ITEM or kind == Kind.END:
                if rstream is None:
                    raise self._mismatch(entry, request, "a stream entry without an open stream")
                try:
                    outcome = digest_reply(next(rstream))
                except StopIteration:
                    outcome = END_OK
                except Exception as exc:
                    outcome = digest_error(exc)
            elif kind == Kind.CANCEL:
                if rstream is not None:
                    with contextlib.suppress(ServiceError):
                        rstream.cancel()
            elif kind == Kind.THROW:
                request = exc_in = self._decode_exception(entry)
                try:
                    outcome = digest_reply(inner.throw(exc_in))
                except Exception as exc:
                    outcome = digest_error(exc)
            elif kind == Kind.RESET:
                with contextlib.suppress(ServiceError):
                    inner.reset()
            elif kind == Kind.RESTART:
                with contextlib.suppress(ServiceError):
                    inner.restart()
            else:
                raise JournalError(
                    self.name, self.key, f"entry {entry.seq} has an unknown kind {kind}"
                )
            if outcome is not None and outcome != entry.digest and entry.digest != UNCHECKED:
                raise self._mismatch(
                    entry, request, f"journalled digest {entry.digest:#x}, replay gave {outcome:#x}"
                )
        return rstream

    # -- journalling ---------------------------------------------------------------

    def _append(self, kind: int, body: bytes, digest: int) -> None:
        seq = self._seq + 1
        try:
            self._put(self.key, seq, kind, body, digest)
        except Exception as exc:
            raise self._journal_failed(seq, exc) from exc
        self._seq = seq
        if seq >= self._snap_at:
            self._maybe_snapshot()

    def _journal_failed(self, seq: int, exc: Exception) -> JournalError:
        """The service has moved on and its journal has not: stop here."""
        self._broken = f"could not journal entry {seq}: {exc}"
        self._closed = True
        self._ready = False
        with contextlib.suppress(Exception):
            self._inner.close()
        return JournalError(self.name, self.key, self._broken)

    def _check_journal(self) -> None:
        """Refuse to go on once journalling failed (a closed handle refuses by its state)."""
        if self._broken is not None:
            raise JournalError(self.name, self.key, f"this durable handle stopped: {self._broken}")

    def _plan_snapshot(self, at: int) -> None:
        """After a snapshot at entry ``at`` (or the open): when to think of the next.
        With a time trigger every entry checks the clock; else only the Nth does."""
        self._snap_at = at + self._every
        if self._period is not None:
            self._snap_due = self._clock() + self._period
            self._snap_at = self._seq + 1

    def _maybe_snapshot(self) -> None:
        if (
            self._period is not None
            and self._seq < self._snapshot_seq + self._every
            and self._clock() < self._snap_due
        ):
            self._snap_at = self._seq + 1  # not yet: look again at the next entry
            return
        if self._stream is None:
            self.snapshot()

    def _record_result(self, body: bytes) -> None:
        self._append(_RESULT, body, 0)

    def _encode(self, request: object) -> bytes:
        self._check_journal()
        try:
            return encode(request)
        except (TypeError, msgspec.EncodeError) as exc:
            raise self._unencodable(request, exc) from None

    def snapshot(self) -> bool:
        """Store the service's state now and compact the journal to it.

        False (nothing done) without ``snapshots=``, or while a stream is open.
        """
        snaps = self._snapshots
        if snaps is None or self._stream is not None or self._inner.state is not State.READY:
            return False
        body = encode(snaps.take(self._inner))
        self.store.save_snapshot(self.key, self._seq, body)
        self._snapshot_seq = self._seq
        self._snapshot_time = self._clock()
        self._plan_snapshot(self._seq)
        return True

    # -- the handle's operations ---------------------------------------------------

    def call(self, request: RequestT, /, *, timeout: float | None = None) -> ReplyT:
        """Run ``request``, journal it with its outcome's digest, return the reply.

        ``timeout``: a deadline, as for a local handle: checked before the service
        runs (passed: ``DeadlineExceeded``, nothing journalled), then readable by
        the service through ``remaining()``; the service is not interrupted.
        """
        if timeout is not None or self.timeout is not None:
            given = self.timeout if timeout is None else timeout
            return self._within(self.call, request, given)  # type: ignore[no-any-return]
        if not self._ready:  # closed, streaming, failed: off the hot path
            return self._call_not_ready(request)
        try:
            body = encode(request)
        except (TypeError, msgspec.EncodeError) as exc:
            raise self._unencodable(request, exc) from None
        try:
            reply = self._send(request)
        except Exception as exc:
            self._call_failed(request, body, exc)
            raise
        try:
            digest = crc32(encode(reply))
        except (TypeError, msgspec.EncodeError):
            digest = digest_reply(reply)
        seq = self._seq + 1
        try:
            self._put(self.key, seq, 1, body, digest)  # Kind.CALL
        except Exception as exc:
            raise self._journal_failed(seq, exc) from exc
        self._seq = seq
        if seq >= self._snap_at:
            self._maybe_snapshot()
        return reply

    def _call_not_ready(self, request: RequestT) -> ReplyT:
        self._encode(request)  # a closed durable handle says so
        inner = self._inner
        if inner.state is State.READY and self._stream is None:
            self._ready = True
            return self.call(request)
        return inner.call(request)  # refused by the state: raises, nothing journalled

    def _call_failed(self, request: object, body: bytes, exc: Exception) -> None:
        self._ready = self._inner.state is State.READY
        if not self._refused(request, exc):
            self._append(Kind.CALL, body, digest_error(exc))

    __call__ = call

    def _within(self, op: Callable[[Any], Any], request: object, timeout: float | None) -> Any:
        """``op(request)`` (``call`` or ``stream``) under the deadline ``timeout`` from now:
        refused (nothing journalled) if it has passed; for a call, in force while the
        service runs (the inner handle's default, for that call)."""
        inner = self._inner
        default, inner_default = self.timeout, inner.timeout
        inner.timeout = timeout  # checks it: a number of seconds >= 0
        try:
            outer = remaining()
            if not timeout or (outer is not None and outer <= 0):
                raise DeadlineExceeded(self.name, request, timeout)
            self.timeout = None  # the deadline now in force replaces the default
            if op == self.stream:
                inner.timeout = inner_default  # a durable stream is not cut between items
            return op(request)
        finally:
            inner.timeout = inner_default
            self.timeout = default

    def stream(self, request: RequestT, /, *, timeout: float | None = None) -> DurableStream[Any]:
        """Open a streamed reply; each item handed out is journalled (so a replay
        reads the stream exactly as far as the caller did).

        ``timeout``: a deadline checked before the stream opens (passed:
        ``DeadlineExceeded``, nothing journalled); a durable stream is not cut
        between items by a deadline (its journal replays it item for item):
        cancel it yourself.
        """
        if timeout is not None or self.timeout is not None:
            given = self.timeout if timeout is None else timeout
            return self._within(self.stream, request, given)  # type: ignore[no-any-return]
        inner = self._inner
        body = self._encode(request)
        if inner.state is not State.READY:
            inner.stream(request)  # raises the state's refusal
            raise AssertionError("unreachable")  # pragma: no cover
        try:
            replies = inner.stream(request)
        except Exception as exc:
            if not self._refused(request, exc):
                self._append(Kind.STREAM, body, digest_error(exc))
            raise
        stream: DurableStream[Any] = DurableStream(self, replies, request)
        self._stream = stream._token
        self._ready = False
        self._append(Kind.STREAM, body, 0)
        return stream

    def throw(self, exc: BaseException | type[BaseException], /) -> Any:
        """Raise ``exc`` inside the service (journalled by its class and arguments)."""
        self._check_journal()
        cls = exc if isinstance(exc, type) else type(exc)
        args = list(exc.args) if isinstance(exc, BaseException) else []
        try:
            body = encode([cls.__module__, cls.__qualname__, args])
        except (TypeError, msgspec.EncodeError):
            body = encode([cls.__module__, cls.__qualname__, [str(a) for a in args]])
        self._stream = None
        try:
            reply = self._inner.throw(exc)
        except Exception as raised:
            self._ready = self._inner.state is State.READY
            if not self._refused(exc, raised):
                self._append(Kind.THROW, body, digest_error(raised))
            raise
        self._ready = self._inner.state is State.READY
        self._append(Kind.THROW, body, digest_reply(reply))
        return reply

    def reset(self) -> None:
        """Back to waiting for a request (journalled)."""
        self._lifecycle(self._inner.reset, Kind.RESET)

    def restart(self) -> None:
        """A fresh generator from the factory (journalled: replay restarts too)."""
        self._lifecycle(self._inner.restart, Kind.RESTART)

    def _lifecycle(self, op: Callable[[], None], kind: Kind) -> None:
        self._check_journal()
        self._stream = None
        try:
            op()
        except Exception as exc:
            self._ready = self._inner.state is State.READY
            if not isinstance(exc, REFUSALS):
                self._append(kind, b"", 0)
            raise
        self._ready = self._inner.state is State.READY
        self._append(kind, b"", 0)

    def close(self) -> None:
        """Close the running instance and give the key back; the journal stays, so
        opening the key again brings the state back. Closing twice is fine."""
        if self._released:
            return
        self._closed = True
        self._ready = False
        try:
            if self._stream is not None and self._broken is None:
                self._stream = None
                self._append(Kind.CANCEL, b"", 0)
            self._inner.close()
        finally:
            self._release()

    def __enter__(self) -> DurableHandle[RequestT, ReplyT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- what it tells ---------------------------------------------------------------

    @property
    def name(self) -> str:
        """The service's name, as its local handle answers to it (renamed when served
        under another name)."""
        return self._inner.name

    @property
    def state(self) -> State:
        return self._inner.state

    @property
    def greeting(self) -> Any:
        return self._inner.greeting

    @property
    def handle(self) -> LocalHandle[RequestT, ReplyT]:
        """The local handle underneath (calls through it are NOT journalled)."""
        return self._inner

    @property
    def local(self) -> LocalHandle[RequestT, ReplyT]:
        """The local handle underneath, for observers: hooks subscribed to a durable
        handle see its service's events (``nanoservices.observe`` finds it here)."""
        return self._inner

    def __repr__(self) -> str:
        return f"<DurableHandle {self.name!r} key={self.key!r} {self.state.value} {self.store!r}>"


ItemT = TypeVar("ItemT")


class DurableStream(Generic[ItemT]):
    """A streamed reply of a durable handle: each item handed out is journalled,
    and so is how it ended (finished, failed, or cancelled by the caller)."""

    __slots__ = ("_handle", "_replies", "_token", "request")

    def __init__(
        self, handle: DurableHandle[Any, Any], replies: ReplyStream[ItemT], request: object
    ) -> None:
        self._handle = handle
        self._replies = replies
        self._token = object()  # the handle keeps this, so a dropped stream is freed
        self.request = request

    def __iter__(self) -> Iterator[ItemT]:
        return self

    def __next__(self) -> ItemT:
        handle = self._handle
        if handle._stream is not self._token:
            raise StopIteration
        try:
            item = next(self._replies)
        except StopIteration:
            self._end(END_OK)
            raise
        except Exception as exc:
            self._end(digest_error(exc))
            raise
        handle._append(Kind.ITEM, b"", digest_reply(item))
        return item

    def _end(self, digest: int) -> None:
        handle = self._handle
        if handle._stream is self._token:
            handle._stream = None
            handle._ready = not handle._closed and handle._inner.state is State.READY
            handle._append(Kind.END, b"", digest)

    @property
    def is_open(self) -> bool:
        return self._handle._stream is self._token

    def cancel(self) -> None:
        """Stop early (journalled, so a replay stops at the same item)."""
        handle = self._handle
        if handle._stream is not self._token:
            return
        handle._stream = None
        try:
            self._replies.cancel()
        finally:
            handle._ready = not handle._closed and handle._inner.state is State.READY
            handle._append(Kind.CANCEL, b"", 0)

    close = cancel
    """The same as `cancel`, under the name generators use."""

    def __enter__(self) -> DurableStream[ItemT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()

    def __del__(self) -> None:
        if self._handle._stream is self._token:
            with contextlib.suppress(Exception):
                self.cancel()

    def __repr__(self) -> str:
        state = "open" if self.is_open else "done"
        return f"<DurableStream of {self._handle.name!r} for {short_repr(self.request)} ({state})>"
