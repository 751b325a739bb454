"""Async durable services: ``await adurable(aservice_factory, key=..., store=...)``.

The async twin of [`DurableHandle`][nanoservices.durable.DurableHandle]. An
[`AsyncGenEngine`][nanoservices.aio.AsyncGenEngine] drives the ``@aservice`` generator;
[`DurableEngine`][] is that engine with each step journalled after it ran
(the same entries as the sync handle, so a key opens from either kind alike),
and [`AsyncDurableHandle`][] is the ordinary async handle around it (its
turns keep the journal in the order the service ran the steps), plus ``key``,
``stats`` and ``snapshot()``.

Store writes are made on the event loop's thread: in ``sync`` mode a call
waits for its commit there, as the sync handle's caller does (``batched``
mode, or a store on a fast disk, keeps that short).
"""

from __future__ import annotations

import contextlib
import inspect
import time
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from nanoservices import InvalidRequestError, ServiceError, State
from nanoservices.aio import AsyncGenEngine, AsyncHandle, AsyncServiceFactory

from ._common import REFUSALS, DurableStats, JournalReader
from ._entries import END_OK, UNCHECKED, Entry, Kind, decoder_for, digest_error, digest_reply
from ._entries import encode as _encode
from ._errors import JournalError, KeyLockedError
from ._handle import DEFAULT_PATH, Snapshots
from ._replayable import Replayable
from ._sqlite import SQLiteStore
from ._store import JournalStore

__all__ = ["AsyncDurableHandle", "DurableEngine", "adurable"]

RequestT = TypeVar("RequestT")
ReplyT = TypeVar("ReplyT")

_RESULT = 9  # a Replayable's recorded result (as in the sync handle)


class _Untracked:
    """What ``Snapshots.take``/``restore`` get for an async service: ``await h.call(x)``
    runs a request on the service without journalling it."""

    __slots__ = ("_engine",)

    def __init__(self, engine: DurableEngine) -> None:
        self._engine = engine

    @property
    def name(self) -> str:
        return self._engine.name

    async def call(self, request: object) -> Any:
        return await AsyncGenEngine.call(self._engine, request)

    __call__ = call


async def _resolved(value: Any) -> Any:
    """``value``, awaited if it is awaitable (snapshot functions may be either)."""
    return await value if inspect.isawaitable(value) else value


class DurableEngine(AsyncGenEngine, JournalReader):
    """An async generator engine whose every step is journalled (see the module)."""

    __slots__ = (
        "_broken",
        "_clock",
        "_decode",
        "_dropped",
        "_every",
        "_owns_store",
        "_period",
        "_released",
        "_replay_seconds",
        "_replayables",
        "_replayed",
        "_seq",
        "_snap_at",
        "_snap_due",
        "_snapshot_seq",
        "_snapshot_time",
        "_snapshots",
        "key",
        "store",
    )

    def __init__(
        self,
        factory: AsyncServiceFactory[Any, Any, Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        key: str,
        store: JournalStore | str | Path | None,
        snapshots: Snapshots | None,
    ) -> None:
        if not isinstance(key, str) or not key:
            raise TypeError(f"a durable key is a non-empty str, not {key!r}")
        super().__init__(factory.spec, args, kwargs)
        self.key = key
        self._owns_store = not isinstance(store, JournalStore)
        self.store: JournalStore = (
            store if isinstance(store, JournalStore) else SQLiteStore(store or DEFAULT_PATH)
        )
        self._snapshots = snapshots
        self._every: float = snapshots.every if snapshots is not None else float("inf")
        self._period = snapshots.every_seconds if snapshots is not None else None
        self._clock = snapshots.clock if snapshots is not None else time.monotonic
        self._snap_at: float = self._every
        self._snap_due = 0.0
        self._decode = decoder_for(self._spec.request_type).decode
        self._broken: str | None = None
        self._released = False
        self._seq = self._snapshot_seq = self._replayed = self._dropped = 0
        self._snapshot_time: float | None = None
        self._replay_seconds = 0.0
        self._replayables = [a for a in (*args, *kwargs.values()) if isinstance(a, Replayable)]

    # -- opening ------------------------------------------------------------------------

    async def open(self) -> None:
        """Take the key, start the service, restore its snapshot and replay its journal."""
        try:
            self.store.lock(self.key)
        except BlockingIOError:
            self._release_store()
            raise KeyLockedError(
                self.name, self.key, "another handle holds this key (in this process or another)"
            ) from None
        try:
            await self.start()
            await self._open_journal()
        except BaseException:
            with contextlib.suppress(Exception):
                await AsyncGenEngine.close(self)
            self.store.unlock(self.key)
            self._release_store()
            raise
        for rep in self._replayables:
            rep._bind(self._record_result)

    async def _open_journal(self) -> None:
        started = time.perf_counter()
        loaded = self.store.load(self.key)
        self._dropped = loaded.dropped
        self._seq = self._snapshot_seq = loaded.snapshot_seq
        if loaded.snapshot is not None:
            if self._snapshots is None:
                raise JournalError(
                    self.name,
                    self.key,
                    f"the journal starts from a snapshot (entry {loaded.snapshot_seq}) "
                    "but no snapshots= was given to restore it",
                )
            state = msgspec.msgpack.decode(loaded.snapshot, type=self._snapshots.state_type)
            await _resolved(self._snapshots.restore(_Untracked(self), state))
            self._snapshot_time = self._clock()
        for rep in self._replayables:
            rep._replay(True)
        try:
            cursor = await self._replay(loaded.entries)
        finally:
            for rep in self._replayables:
                rep._replay(False)
        self._replayed = len(loaded.entries)
        self._seq = loaded.snapshot_seq + len(loaded.entries)
        self._plan_snapshot(loaded.snapshot_seq)
        if cursor is not None and self.is_open(cursor):
            # The journal ends inside a stream: its reader is gone with its process.
            with contextlib.suppress(ServiceError):
                await AsyncGenEngine.cancel_stream(self, cursor)
            self._append(Kind.CANCEL, b"", 0)
        self._replay_seconds = time.perf_counter() - started

    async def _replay(self, entries: list[Entry]) -> Any:
        """Run the entries through the engine itself (nothing journalled), comparing digests."""
        cursor: Any = None
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
                        outcome = digest_reply(await AsyncGenEngine.call(self, request))
                    else:
                        cursor = await AsyncGenEngine.open_stream(self, request)
                        outcome = 0
                except Exception as exc:
                    outcome = digest_error(exc)
            elif kind == Kind.ITEM or kind == Kind.END:
                if cursor is None:
                    raise self._mismatch(entry, request, "a stream entry without an open stream")
                try:
                    outcome = digest_reply(await AsyncGenEngine.next_item(self, cursor))
                except StopAsyncIteration:
                    outcome = END_OK
                except Exception as exc:
                    outcome = digest_error(exc)
            elif kind == Kind.CANCEL:
                if cursor is not None and self.is_open(cursor):
                    with contextlib.suppress(ServiceError):
                        await AsyncGenEngine.cancel_stream(self, cursor)
            elif kind == Kind.THROW:
                request = exc_in = self._decode_exception(entry)
                try:
                    outcome = digest_reply(await AsyncGenEngine.throw(self, exc_in))
                except Exception as exc:
                    outcome = digest_error(exc)
            elif kind == Kind.RESET:
                with contextlib.suppress(ServiceError):
                    await AsyncGenEngine.reset(self)
            elif kind == Kind.RESTART:
                with contextlib.suppress(ServiceError):
                    await AsyncGenEngine.restart(self)
            else:
                raise JournalError(
                    self.name, self.key, f"entry {entry.seq} has an unknown kind {kind}"
                )
            if outcome is not None and outcome != entry.digest and entry.digest != UNCHECKED:
                raise self._mismatch(
                    entry, request, f"journalled digest {entry.digest:#x}, replay gave {outcome:#x}"
                )
        return cursor

    # -- journalling ------------------------------------------------------------------

    def _append(self, kind: int, body: bytes, digest: int) -> bool:
        """Journal one entry now; whether a snapshot is worth thinking of."""
        seq = self._seq + 1
        try:
            self.store.append(self.key, seq, kind, body, digest)
        except Exception as exc:
            self._broken = f"could not journal entry {seq}: {exc}"
            raise JournalError(self.name, self.key, self._broken) from exc
        self._seq = seq
        return seq >= self._snap_at

    async def _journal(self, kind: int, body: bytes, digest: int) -> None:
        if self._append(kind, body, digest):
            await self._maybe_snapshot()

    def _record_result(self, body: bytes) -> None:
        self._append(_RESULT, body, 0)

    def _plan_snapshot(self, at: int) -> None:
        self._snap_at = at + self._every
        if self._period is not None:
            self._snap_due = self._clock() + self._period
            self._snap_at = self._seq + 1

    async def _maybe_snapshot(self) -> None:
        if (
            self._period is not None
            and self._seq < self._snapshot_seq + self._every
            and self._clock() < self._snap_due
        ):
            self._snap_at = self._seq + 1
            return
        if self._stream is None:
            await self.snapshot()

    async def snapshot(self) -> bool:
        """Store the service's state now and compact the journal to it (False without
        ``snapshots=``, or while a stream is open)."""
        snaps = self._snapshots
        if snaps is None or self._stream is not None or self.state is not State.READY:
            return False
        body = _encode(await _resolved(snaps.take(_Untracked(self))))
        self.store.save_snapshot(self.key, self._seq, body)
        self._snapshot_seq = self._seq
        self._snapshot_time = self._clock()
        self._plan_snapshot(self._seq)
        return True

    def _body(self, request: object) -> bytes:
        if self._broken is not None:
            raise JournalError(self.name, self.key, f"this durable handle stopped: {self._broken}")
        try:
            return _encode(request)
        except (TypeError, msgspec.EncodeError) as exc:
            raise self._unencodable(request, exc) from None

    # -- the steps, journalled ------------------------------------------------------------

    async def call(self, request: object) -> Any:
        body = self._body(request)
        try:
            reply = await super().call(request)
        except BaseException as exc:
            if isinstance(exc, Exception) and not self._refused(request, exc):
                await self._journal(Kind.CALL, body, digest_error(exc))
            elif not isinstance(exc, Exception) and self.state is State.READY:
                # Cancelled mid-request: the service ran it, nobody saw the outcome.
                self._append(Kind.CALL, body, UNCHECKED)
            raise
        await self._journal(Kind.CALL, body, digest_reply(reply))
        return reply

    async def open_stream(self, request: object) -> Any:
        body = self._body(request)
        try:
            cursor = await super().open_stream(request)
        except Exception as exc:
            if not self._refused(request, exc):
                await self._journal(Kind.STREAM, body, digest_error(exc))
            raise
        self._append(Kind.STREAM, body, 0)  # no snapshot while the stream is open
        return cursor

    async def next_item(self, cursor: Any) -> Any:
        opened: Any = cursor
        if opened is None or self._stream is not opened:  # over: nothing to journal
            raise StopAsyncIteration
        try:
            item = await super().next_item(cursor)
        except StopAsyncIteration:
            await self._journal(Kind.END, b"", END_OK)
            raise
        except Exception as exc:
            await self._journal(Kind.END, b"", digest_error(exc))
            raise
        self._append(Kind.ITEM, b"", digest_reply(item))
        return item

    async def cancel_stream(self, cursor: Any) -> None:
        was_open = self.is_open(cursor)
        try:
            await super().cancel_stream(cursor)
        finally:
            if was_open:
                await self._journal(Kind.CANCEL, b"", 0)

    def abandon(self, cursor: Any) -> Any:
        was_open = self.is_open(cursor)
        dropped = super().abandon(cursor)
        if was_open:
            with contextlib.suppress(JournalError):  # from __del__: nobody to tell
                self._append(Kind.CANCEL, b"", 0)
        return dropped

    async def throw(self, exc: BaseException | type[BaseException]) -> Any:
        cls = exc if isinstance(exc, type) else type(exc)
        args = list(exc.args) if isinstance(exc, BaseException) else []
        try:
            body = self._body([cls.__module__, cls.__qualname__, args])
        except InvalidRequestError:
            body = self._body([cls.__module__, cls.__qualname__, [str(a) for a in args]])
        try:
            reply = await super().throw(exc)
        except Exception as raised:
            if not self._refused(exc, raised):
                await self._journal(Kind.THROW, body, digest_error(raised))
            raise
        await self._journal(Kind.THROW, body, digest_reply(reply))
        return reply

    async def reset(self) -> None:
        await self._lifecycle(AsyncGenEngine.reset, Kind.RESET)

    async def restart(self) -> None:
        await self._lifecycle(AsyncGenEngine.restart, Kind.RESTART)

    async def _lifecycle(self, op: Any, kind: Kind) -> None:
        self._body(None)  # a stopped handle says so
        try:
            await op(self)
        except Exception as exc:
            if not isinstance(exc, REFUSALS):
                await self._journal(kind, b"", 0)
            raise
        await self._journal(kind, b"", 0)

    async def close(self) -> None:
        """Close the service and give the key back; the journal stays."""
        if self._released:
            return
        try:
            if self._stream is not None and self._broken is None:
                self._append(Kind.CANCEL, b"", 0)
            await super().close()
        finally:
            self._release()


class AsyncDurableHandle(AsyncHandle[RequestT, ReplyT]):
    """The async handle of a durable service: every operation of
    [`AsyncHandle`][nanoservices.aio.AsyncHandle], journalled, plus what a durable handle tells."""

    __slots__ = ()

    _engine: DurableEngine

    @property
    def key(self) -> str:
        return self._engine.key

    @property
    def store(self) -> JournalStore:
        return self._engine.store

    @property
    def stats(self) -> DurableStats:
        return self._engine.stats

    async def snapshot(self) -> bool:
        """Store the service's state now and compact the journal to it (in its turn)."""
        done: bool = await self._locked("snapshot", self._engine.snapshot)
        return done

    def observe_extra(self) -> dict[str, object]:
        """The figures of [`stats`][], for ``nanoservices.observe`` (as the sync handle)."""
        return self._engine.observe_extra()

    def __repr__(self) -> str:
        return f"<AsyncDurableHandle {self.name!r} key={self.key!r} {self.state.value}>"


async def adurable(
    factory: AsyncServiceFactory[Any, RequestT, ReplyT],
    *args: Any,
    key: str,
    store: JournalStore | str | Path | None = None,
    snapshots: Snapshots | None = None,
    timeout: float | None = None,
    **kwargs: Any,
) -> AsyncDurableHandle[RequestT, ReplyT]:
    """Open the durable async service ``factory(*args, **kwargs)`` under ``key``.

    The twin of [`durable`][nanoservices.durable.durable] for ``@aservice`` factories:
    ``async with await adurable(counter, key="k", store=store) as h: await h.call(1)``.
    ``snapshots``' ``take``/``restore`` get an object whose ``call`` is awaited
    (and not journalled); they may be sync or async functions. ``timeout`` is
    the async handle's (the wait for a turn).
    """
    if not isinstance(factory, AsyncServiceFactory):
        raise TypeError(
            f"{factory!r} is not an @aservice factory (for a sync @service use durable())"
        )
    engine = DurableEngine(factory, args, kwargs, key=key, store=store, snapshots=snapshots)
    await engine.open()
    return AsyncDurableHandle(engine, timeout=timeout)
