"""The awaitable Ray handle and its stream: the session logic of ``_ray_session``, awaited."""

from __future__ import annotations

import asyncio
import collections
import weakref
from collections.abc import AsyncIterator
from typing import Any, Generic, NoReturn, TypeVar

from ray.exceptions import RayError

from nanoservices import State

from ._host import Failure
from ._session import FIRST_BATCH, Lost, SessionBase, StreamBase, state_of

__all__ = ["AsyncRayHandle", "AsyncRayStream"]

RequestT = TypeVar("RequestT")
ReplyT = TypeVar("ReplyT")


class AsyncRayHandle(SessionBase, Generic[RequestT, ReplyT]):
    """The awaitable twin of :class:`RayHandle`: the same verbs, awaited.

    Made by ``RayHandle.aio()``; ``async for item in h.stream(x)``.
    """

    __slots__ = ()

    async def call(self, request: RequestT, /) -> ReplyT:
        """Send ``request`` to the service and return its reply."""
        if self._open is not None:
            self._refuse_streaming("call")
        try:
            reply = await self._call(self._session, request)
        except RayError as exc:
            return await self._lost(request, exc)
        if type(reply) is Failure:
            return await self._failed(request, reply)
        return reply  # type: ignore[no-any-return]

    __call__ = call

    async def _failed(self, request: object, failure: Failure) -> NoReturn:
        try:
            self._sort(failure, request)
        except Lost as lost:
            await self._lost(request, lost)

    async def _lost(self, request: object, cause: BaseException) -> NoReturn:
        deadline = self._may_restart(request, cause)
        while True:
            try:
                self._reopened(await self._reopen_ref())
            except RayError as error:
                self._retry_reopen(request, cause, error, deadline)
                await asyncio.sleep(0.05)
                continue
            self._restarted(request, cause, None)

    async def _invoke(self, what: str, method: str, *args: Any, request: object = None) -> Any:
        self._refuse_if_gone(what)
        try:
            result = await self._remote(method, *args)
        except RayError as exc:
            return await self._lost(request, exc)
        if type(result) is Failure:
            return await self._failed(request, result)
        return result

    def stream(self, request: RequestT, /) -> AsyncRayStream[Any]:
        """Send ``request``; ``async for`` over its streamed reply (opened on first step)."""
        if self._open is not None:
            self._refuse_streaming("stream")
        opened: AsyncRayStream[Any] = AsyncRayStream(self, request)
        self._open = weakref.ref(opened)
        return opened

    async def reset(self) -> None:
        """Back to waiting for a request: an open stream ends; a failed service restarts."""
        self._drop_stream()
        await self._invoke("reset", "reset")

    async def restart(self) -> None:
        """Replace the service with a fresh instance from its factory (state is lost)."""
        self._drop_stream()
        await self._invoke("restart", "restart")

    async def throw(self, exc: BaseException | type[BaseException], /) -> Any:
        """Raise ``exc`` inside the service; return what it yields next."""
        self._drop_stream()
        return await self._invoke("throw", "throw", exc, request=exc)

    async def state(self) -> State:
        """READY, STREAMING, FAILED or CLOSED (awaited: it may ask the host)."""
        known = self._known_state()
        if known is not None:
            return known
        try:
            return state_of(await self._remote("state"))
        except RayError:
            return State.FAILED

    async def close(self) -> None:
        """Close the service (its ``finally`` blocks run, on its host). Twice is fine."""
        if not self._mark_closed():
            return
        try:
            failure = await self._remote("close")
        except RayError:
            return
        if failure is not None:
            raise failure.rebuild()

    async def __aenter__(self) -> AsyncRayHandle[RequestT, ReplyT]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class AsyncRayStream(StreamBase, Generic[ReplyT]):
    """The items of one streamed reply, for ``async for``; ``await cancel()`` ends it early."""

    __slots__ = ("_started",)

    _handle: AsyncRayHandle[Any, Any]

    def __init__(self, handle: AsyncRayHandle[Any, Any], request: object) -> None:
        self._handle = handle
        self.request = request
        self._items = collections.deque()
        self._end_mark = None
        self._started = False
        self._next_size = min(FIRST_BATCH, handle._batch)

    def __aiter__(self) -> AsyncIterator[ReplyT]:
        return self

    async def __anext__(self) -> ReplyT:
        items = self._items
        if items:
            return items.popleft()  # type: ignore[no-any-return]
        if self._end_mark is None:
            items.extend(await self._fetch())
            if items:
                return items.popleft()  # type: ignore[no-any-return]
        end = self._end_mark
        self._finish()
        if type(end) is Failure:
            self._end_mark = True
            await self._handle._failed(self.request, end)
        raise StopAsyncIteration

    async def _fetch(self) -> list[Any]:
        handle = self._handle
        size = self._grow()
        try:
            if not self._started:
                self._started = True
                items, self._end_mark = await handle._invoke(
                    "stream", "stream_open", self.request, size, request=self.request
                )
            else:
                items, self._end_mark = await handle._invoke(
                    "stream", "stream_next", size, request=self.request
                )
        except BaseException:
            self._end_mark = True
            self._finish()
            raise
        return list(items)

    @property
    def is_open(self) -> bool:
        """True until the stream ends, fails or is cancelled."""
        return bool(self._items) or self._end_mark is None or type(self._end_mark) is Failure

    async def cancel(self) -> None:
        """Stop early: the service goes back to waiting for its next request."""
        open_remotely = self._started and self._end_mark is None
        self._end()
        self._finish()
        handle = self._handle
        if open_remotely and not handle._closed and handle._dead is None:
            failure = await handle._remote("stream_cancel")
            if failure is not None:
                await handle._failed(self.request, failure)

    aclose = cancel

    async def __aenter__(self) -> AsyncRayStream[ReplyT]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.cancel()
