"""The awaitable Ray handle and its stream: the flows of ``_flow``, driven with ``await``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Generic, TypeVar

from ray.exceptions import GetTimeoutError

from nanoservices import State
from nanoservices.core.seam import steps

from . import _flow as flow
from ._session import SessionBase, StreamBase

__all__ = ["AsyncRayHandle", "AsyncRayStream"]

RequestT = TypeVar("RequestT")
ReplyT = TypeVar("ReplyT")


async def _wait(effect: flow.Effect) -> Any:
    """The async driver's one kind of I/O: await a Ray answer (at most its bound), or pause."""
    if type(effect) is not flow.Get:
        await asyncio.sleep(flow.PAUSE_SECONDS)
        return None
    if effect.bound is None:
        return await effect.ref
    try:
        return await asyncio.wait_for(asyncio.wrap_future(effect.ref.future()), effect.bound)
    except TimeoutError as exc:
        raise GetTimeoutError(f"no answer within {effect.bound:g} s") from exc


class AsyncRayHandle(SessionBase, Generic[RequestT, ReplyT]):
    """The awaitable twin of [`RayHandle`][]: the same verbs, awaited.

    Made by ``RayHandle.aio()``; ``async for item in h.stream(x)``.
    """

    __slots__ = ()

    async def call(self, request: RequestT, /, *, timeout: float | None = None) -> ReplyT:
        """Send ``request`` to the service and return its reply (``timeout``: as
        for [`RayHandle.call`][])."""
        reply: ReplyT = await steps.arun(flow.call(self, request, timeout), _wait)
        return reply

    __call__ = call

    def stream(self, request: RequestT, /, *, timeout: float | None = None) -> AsyncRayStream[Any]:
        """Send ``request``; ``async for`` over its streamed reply (opened on first step).

        ``timeout``: a deadline from now for the whole stream, as for
        [`RayHandle.stream`][nanoservices.ray.RayHandle.stream].
        """
        return AsyncRayStream(self, request, timeout)

    async def reset(self, *, timeout: float | None = None) -> None:
        """As [`RayHandle.reset`][nanoservices.ray.RayHandle.reset], awaited."""
        await steps.arun(flow.operate(self, "reset", timeout), _wait)

    async def restart(self, *, timeout: float | None = None) -> None:
        """As [`RayHandle.restart`][nanoservices.ray.RayHandle.restart], awaited."""
        await steps.arun(flow.operate(self, "restart", timeout), _wait)

    async def throw(
        self, exc: BaseException | type[BaseException], /, *, timeout: float | None = None
    ) -> Any:
        """As [`RayHandle.throw`][nanoservices.ray.RayHandle.throw], awaited."""
        return await steps.arun(flow.operate(self, "throw", timeout, exc, request=exc), _wait)

    async def fetch_state(self, *, timeout: float | None = None) -> State:
        """As [`RayHandle.fetch_state`][nanoservices.ray.RayHandle.fetch_state], awaited."""
        state: State = await steps.arun(flow.fetch_state(self, timeout), _wait)
        return state

    async def close(self) -> None:
        """As [`RayHandle.close`][nanoservices.ray.RayHandle.close], awaited."""
        await steps.arun(flow.close(self), _wait)

    async def __aenter__(self) -> AsyncRayHandle[RequestT, ReplyT]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class AsyncRayStream(StreamBase, Generic[ReplyT]):
    """The items of one streamed reply, for ``async for``; ``await cancel()`` ends it early."""

    __slots__ = ()

    def __aiter__(self) -> AsyncIterator[ReplyT]:
        return self

    async def __anext__(self) -> ReplyT:
        if self._at is None and self._items:  # an item already here
            ready: ReplyT = self._items.popleft()
            return ready
        item: ReplyT = await steps.arun(flow.next_item(self), _wait)
        if item is flow.END:
            raise StopAsyncIteration
        return item

    async def cancel(self) -> None:
        """Stop early: the service goes back to waiting for its next request."""
        await steps.arun(flow.cancel(self, wait=True), _wait)

    aclose = cancel
    """The same as `cancel`, under the name async generators use."""

    async def __aenter__(self) -> AsyncRayStream[ReplyT]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.cancel()
