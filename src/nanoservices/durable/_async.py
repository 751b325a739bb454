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
from pathlib import Path
from typing import Any, TypeVar

from nanoservices import State
from nanoservices.aio import AsyncGenEngine, AsyncHandle, AsyncServiceFactory

from . import _effects as fx
from . import _flow
from ._entries import Kind, throw_body
from ._errors import JournalError
from ._journal import DurableStats, Journal, Snapshots
from ._store import JournalStore

__all__ = ["AsyncDurableHandle", "DurableEngine", "adurable"]

RequestT = TypeVar("RequestT")
ReplyT = TypeVar("ReplyT")
T = TypeVar("T")


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


class DurableEngine(AsyncGenEngine):
    """An async generator engine whose every step is journalled (see the module): it
    drives the durable flows ([`_flow`][nanoservices.durable._flow]) on itself."""

    __slots__ = ("journal",)

    def __init__(
        self,
        factory: AsyncServiceFactory[Any, Any, Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        journal: Journal,
    ) -> None:
        super().__init__(factory.spec, args, kwargs)
        #: The key's journal (its key, store and figures).
        self.journal = journal
        journal.named = self

    async def open(self) -> None:
        """Take the key, start the service, restore its snapshot and replay its journal."""
        await self._journalled(_flow.open_key(self.journal))

    # -- the driver: what the flows ask of the service --------------------------------------

    async def _durable_do(self, effect: fx.Effect) -> Any:
        """Do one effect of a durable flow on the engine itself (nothing journalled here)."""
        engine = AsyncGenEngine
        match effect:
            case fx.Call(request):
                return await engine.call(self, request)
            case fx.OpenStream(request):
                return await engine.open_stream(self, request)
            case fx.NextItem(cursor):
                try:
                    return await engine.next_item(self, cursor)
                except StopAsyncIteration:
                    return fx.END
            case fx.CancelStream(cursor):
                if self.is_open(cursor):
                    await engine.cancel_stream(self, cursor)
                return None
            case fx.IsOpen(cursor):
                return self.is_open(cursor)
            case fx.ThrowIn(exc):
                return await engine.throw(self, exc)
            case fx.Restore(state):
                return await _resolved(self._snapshots().restore(_Untracked(self), state))
        if effect is fx.TAKE:
            return await _resolved(self._snapshots().take(_Untracked(self)))
        if effect is fx.QUIET:
            return self._stream is None and self.state is State.READY
        if effect is fx.START:
            return await self.start()
        if effect is fx.RESET:
            return await engine.reset(self)
        if effect is fx.RESTART:
            return await engine.restart(self)
        assert effect is fx.CLOSE, effect
        return await engine.close(self)

    def _snapshots(self) -> Snapshots:
        snaps = self.journal.snapshots
        assert snaps is not None  # the flows ask for state only with snapshots=
        return snaps

    async def _journalled(self, flow: fx.Flow[T]) -> T:
        return await fx.arun(flow, self._durable_do)

    # -- the steps, journalled ------------------------------------------------------------

    async def snapshot(self) -> bool:
        """Store the service's state now and compact the journal to it (False without
        ``snapshots=``, or while a stream is open)."""
        return bool(await self._journalled(_flow.snapshot_flow(self.journal)))

    async def call(self, request: object) -> Any:
        return await self._journalled(_flow.call(self.journal, request))

    async def open_stream(self, request: object) -> Any:
        return await self._journalled(_flow.open_stream(self.journal, request))

    async def next_item(self, cursor: Any) -> Any:
        if cursor is None or self._stream is not cursor:  # over: nothing to journal
            raise StopAsyncIteration
        item = await self._journalled(_flow.next_item(self.journal, cursor))
        if item is fx.END:
            raise StopAsyncIteration
        return item

    async def cancel_stream(self, cursor: Any) -> None:
        if self.is_open(cursor):
            await self._journalled(_flow.cancel_stream(self.journal, cursor))
        else:
            await super().cancel_stream(cursor)

    def abandon(self, cursor: Any) -> Any:
        was_open = self.is_open(cursor)
        dropped = super().abandon(cursor)
        if was_open:
            with contextlib.suppress(JournalError):  # from __del__: nobody to tell
                self.journal.append(Kind.CANCEL, b"", 0)
        return dropped

    async def throw(self, exc: BaseException | type[BaseException]) -> Any:
        self.journal.check()
        flow = _flow.journalled(self.journal, Kind.THROW, throw_body(exc), fx.ThrowIn(exc), exc)
        return await self._journalled(flow)

    async def reset(self) -> None:
        await self._journalled(_flow.lifecycle(self.journal, Kind.RESET, fx.RESET))

    async def restart(self) -> None:
        await self._journalled(_flow.lifecycle(self.journal, Kind.RESTART, fx.RESTART))

    async def close(self) -> None:
        """Close the service and give the key back; the journal stays."""
        await self._journalled(_flow.close(self.journal, self._stream is not None))


class AsyncDurableHandle(AsyncHandle[RequestT, ReplyT]):
    """The async handle of a durable service: every operation of
    [`AsyncHandle`][nanoservices.aio.AsyncHandle], journalled, plus what a durable handle tells."""

    __slots__ = ()

    _engine: DurableEngine

    @property
    def key(self) -> str:
        return self._engine.journal.key

    @property
    def store(self) -> JournalStore:
        return self._engine.journal.store

    @property
    def stats(self) -> DurableStats:
        """The journal's figures now."""
        return self._engine.journal.stats

    async def snapshot(self) -> bool:
        """Store the service's state now and compact the journal to it (in its turn)."""
        done: bool = await self._locked("snapshot", self._engine.snapshot)
        return done

    def observe_extra(self) -> dict[str, object]:
        """The figures of [`stats`][], for ``nanoservices.observe`` (as the sync handle)."""
        return self._engine.journal.observe_extra()

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
    journal = Journal(factory.spec, key, store, snapshots, (*args, *kwargs.values()))
    engine = DurableEngine(factory, args, kwargs, journal)
    await engine.open()
    return AsyncDurableHandle(engine, timeout=timeout)
