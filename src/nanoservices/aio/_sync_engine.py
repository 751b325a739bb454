"""The engine that lets async code use a sync service (a local or shared handle).

By default each step runs *inline*, on the event loop's thread: a nanoservice
step is meant to be short (microseconds), and a thread hop costs more than that
(tens of microseconds) and moves the generator between threads. A service that
blocks (database, network, heavy CPU) would stall every task on the loop, so
``offload=True`` runs each step in the default executor instead; the front's
lock still makes the steps take turns, so the service never runs twice at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from nanoservices.core import (
    Hook,
    LocalHandle,
    SharedHandle,
    State,
    SupervisionStats,
    remaining,
)
from nanoservices.core.seam import observable

__all__ = ["SyncEngine"]

T = TypeVar("T")
_END: Any = object()


def _next_or_end(items: Iterator[T]) -> T:
    # StopIteration cannot cross a Future, so the end travels as a sentinel.
    return next(items, _END)


class SyncEngine:
    """Drives a sync handle (``LocalHandle`` or ``SharedHandle``) for the async front."""

    __slots__ = ("_handle", "_offload")

    def __init__(
        self, handle: LocalHandle[Any, Any] | SharedHandle[Any, Any], offload: bool
    ) -> None:
        self._handle = handle
        self._offload = offload

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if not self._offload:
            return fn(*args)
        # The step runs in this context (a copy): the deadline in force reaches the service.
        step = functools.partial(contextvars.copy_context().run, fn, *args)
        future = asyncio.get_running_loop().run_in_executor(None, step)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # A thread cannot be interrupted: let its step finish before anyone else
            # steps the service, then let the cancellation through.
            while not future.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait([future])
            raise

    @property
    def name(self) -> str:
        return str(self._handle.name)

    @property
    def state(self) -> State:
        state: State = self._handle.state
        return state

    @property
    def handle(self) -> LocalHandle[Any, Any] | SharedHandle[Any, Any]:
        return self._handle

    @property
    def greeting(self) -> Any:
        return getattr(self._handle, "greeting", None)

    # Hooks go to the local handle behind: its events are the service's events.

    @property
    def hooks(self) -> tuple[Hook, ...]:
        hooks: tuple[Hook, ...] = observable(self._handle).hooks
        return hooks

    def subscribe(self, hook: Hook) -> None:
        observable(self._handle).subscribe(hook)

    def unsubscribe(self, hook: Hook) -> None:
        observable(self._handle).unsubscribe(hook)

    @property
    def supervision(self) -> SupervisionStats:
        sup: SupervisionStats = getattr(observable(self._handle), "supervision")  # noqa: B009
        return sup

    async def call(self, request: object) -> Any:
        left = remaining()  # a deadline in force: the sync handle checks it before it runs
        if left is not None:
            return await self._run(functools.partial(self._handle.call, timeout=left), request)
        if not self._offload:
            return self._handle.call(request)
        return await self._run(self._handle.call, request)

    async def open_stream(self, request: object) -> object:
        # a ReplyStream or SharedStream (checked at each item under a deadline in force)
        open_ = functools.partial(self._handle.stream, timeout=remaining())
        items: Any = await self._run(open_, request)
        return items if items.is_open else None

    def is_open(self, items: Any) -> bool:
        return items is not None and bool(items.is_open)

    async def next_item(self, items: Any) -> Any:
        try:
            item = await self._run(_next_or_end, items)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                items.cancel()  # the awaiting task was cancelled: the stream is over
            raise
        if item is _END:
            raise StopAsyncIteration
        return item

    def abandon(self, items: Any) -> None:
        """The stream's reader is gone: a sync stream can be closed right now."""
        items.cancel()

    async def cancel_stream(self, items: Any) -> None:
        await self._run(items.cancel)

    async def reset(self) -> None:
        await self._run(self._handle.reset)

    async def throw(self, exc: BaseException | type[BaseException]) -> Any:
        return await self._run(self._handle.throw, exc)

    async def restart(self) -> None:
        await self._run(self._handle.restart)

    async def close(self) -> None:
        await self._run(self._handle.close)
