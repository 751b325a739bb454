"""The awaitable Ray handle and its stream: the session logic of ``_ray_session``, awaited."""

from __future__ import annotations

import asyncio
import collections
import time
import weakref
from collections.abc import AsyncIterator
from typing import Any, Generic, NoReturn, TypeVar

from ray.exceptions import GetTimeoutError, RayError

from nanoservices import State

from ._host import Failure
from ._session import (
    FIRST_BATCH,
    Lost,
    RayTimeoutError,
    Resumed,
    SessionBase,
    StreamBase,
    state_of,
    wall_deadline,
)

__all__ = ["AsyncRayHandle", "AsyncRayStream"]


async def _within(ref: Any, bound: float | None) -> Any:
    """Await a Ray object ref, for at most ``bound`` seconds (Ray's timeout error past it)."""
    if bound is None:
        return await ref
    try:
        return await asyncio.wait_for(asyncio.wrap_future(ref.future()), bound)
    except TimeoutError as exc:
        raise GetTimeoutError(f"no answer within {bound:g} s") from exc


RequestT = TypeVar("RequestT")
ReplyT = TypeVar("ReplyT")


class AsyncRayHandle(SessionBase, Generic[RequestT, ReplyT]):
    """The awaitable twin of [`RayHandle`][]: the same verbs, awaited.

    Made by ``RayHandle.aio()``; ``async for item in h.stream(x)``.
    """

    __slots__ = ()

    async def call(self, request: RequestT, /, *, timeout: float | None = None) -> ReplyT:
        """Send ``request`` to the service and return its reply (``timeout``: as
        for [`RayHandle.call`][])."""
        if self._open is not None:
            self._refuse_streaming("call")
        bound, deadline = self._deadline(timeout)
        if bound is None:
            ref = self._call(self._session, request)
        else:
            self._passed(request, timeout, bound)
            ref = self._call(self._session, request, wall_deadline(bound))
        try:
            reply = await _within(ref, bound)
        except RayError as exc:
            return await self._lost(request, exc, bound, deadline)
        if type(reply) is Failure:
            try:
                return await self._failed(request, reply, deadline, resume=True)
            except Resumed:  # a durable session, back from its journal: the request never ran
                return await self.call(request, timeout=timeout)
        self._seen = State.READY
        return reply  # type: ignore[no-any-return]

    __call__ = call

    async def _failed(
        self,
        request: object,
        failure: Failure,
        deadline: float | None = None,
        resume: bool = False,
    ) -> NoReturn:
        try:
            self._sort(failure, request)
        except Lost as lost:
            await self._lost(request, lost, None, deadline, resume)

    async def _lost(
        self,
        request: object,
        cause: BaseException,
        bound: float | None = None,
        deadline: float | None = None,
        resume: bool = False,
    ) -> NoReturn:
        if isinstance(cause, GetTimeoutError):
            self._timed_out("request", request, bound, cause)
        reopen_by = self._may_restart(request, cause)
        while True:
            try:
                self._reopened(await _within(self._reopen_ref(), self._left(deadline)))
            except RayError as error:
                self._retry_reopen(request, cause, error, reopen_by, deadline)
                await asyncio.sleep(0.05)
                continue
            self._resume(cause, resume)
            self._restarted(request, cause, None)

    async def _invoke(
        self,
        what: str,
        method: str,
        *args: Any,
        request: object = None,
        timeout: float | None = None,
    ) -> Any:
        self._refuse_if_gone(what)
        bound, deadline = self._deadline(timeout)
        try:
            result = await _within(self._remote(method, *args), bound)
        except GetTimeoutError as exc:
            self._timed_out(what, request, bound, exc)
        except RayError as exc:
            return await self._lost(request, exc, bound, deadline)
        if type(result) is Failure:
            try:
                return await self._failed(request, result, deadline, resume=method != "stream_next")
            except Resumed:  # a durable session, back from its journal: it never ran
                return await self._invoke(what, method, *args, request=request, timeout=timeout)
        return result

    def stream(self, request: RequestT, /, *, timeout: float | None = None) -> AsyncRayStream[Any]:
        """Send ``request``; ``async for`` over its streamed reply (opened on first step).

        ``timeout``: a deadline from now for the whole stream, as for
        [`RayHandle.stream`][nanoservices.ray.RayHandle.stream].
        """
        if self._open is not None:
            self._refuse_streaming("stream")
        bound, at = self._deadline(timeout)
        if bound is not None:
            self._passed(request, timeout, bound)
        opened: AsyncRayStream[Any] = AsyncRayStream(self, request, at)
        self._open = weakref.ref(opened)
        return opened

    async def reset(self, *, timeout: float | None = None) -> None:
        """Back to waiting for a request: an open stream ends; a failed service restarts."""
        self._drop_stream()
        await self._invoke("reset", "reset", timeout=timeout)
        self._seen = State.READY

    async def restart(self, *, timeout: float | None = None) -> None:
        """Replace the service with a fresh instance from its factory (state is lost)."""
        self._drop_stream()
        await self._invoke("restart", "restart", timeout=timeout)
        self._seen = State.READY

    async def throw(
        self, exc: BaseException | type[BaseException], /, *, timeout: float | None = None
    ) -> Any:
        """Raise ``exc`` inside the service; return what it yields next."""
        self._drop_stream()
        reply = await self._invoke("throw", "throw", exc, request=exc, timeout=timeout)
        self._seen = State.READY
        return reply

    async def fetch_state(self, *, timeout: float | None = None) -> State:
        """The service's state now, asked of its host (one round trip); ``state``
        then reports it too."""
        if self._closed or self._dead is not None:
            return self.state
        bound = self.timeout if timeout is None else timeout
        try:
            seen = state_of(await _within(self._remote("state"), bound))
        except GetTimeoutError as exc:
            self._timed_out("fetch_state", None, bound, exc)
        except RayError:
            seen = State.FAILED  # its host is lost: the next request restarts it
        self._seen = seen
        return self.state

    async def close(self) -> None:
        """Close the service (its ``finally`` blocks run, on its host). Twice is fine."""
        if not self._mark_closed():
            return
        try:
            failure = await _within(self._remote("close"), self.timeout)
        except GetTimeoutError as exc:
            self._timed_out("close", None, self.timeout, exc)
        except RayError:
            return
        if failure is not None:
            self._saw(failure)
            raise failure.rebuild()

    async def __aenter__(self) -> AsyncRayHandle[RequestT, ReplyT]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class AsyncRayStream(StreamBase, Generic[ReplyT]):
    """The items of one streamed reply, for ``async for``; ``await cancel()`` ends it early."""

    __slots__ = ("_started",)

    _handle: AsyncRayHandle[Any, Any]

    def __init__(
        self, handle: AsyncRayHandle[Any, Any], request: object, at: float | None = None
    ) -> None:
        self._handle = handle
        self._at = at
        self.request = request
        self._items = collections.deque()
        self._end_mark = None
        self._started = False
        self._next_size = min(FIRST_BATCH, handle._batch)

    def __aiter__(self) -> AsyncIterator[ReplyT]:
        return self

    async def __anext__(self) -> ReplyT:
        if self._late():
            await self.cancel()  # the service's finally runs on the host before this returns
            raise self._deadline_error()
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
        at = self._at
        left = None if at is None else max(at - time.monotonic(), 0.001)
        try:
            if not self._started:
                self._started = True
                args: tuple[Any, ...] = (self.request, size)
                if at is not None:
                    args += (wall_deadline(at - time.monotonic()),)
                items, self._end_mark = await handle._invoke(
                    "stream", "stream_open", *args, request=self.request, timeout=left
                )
            else:
                items, self._end_mark = await handle._invoke(
                    "stream", "stream_next", size, request=self.request, timeout=left
                )
        except BaseException as exc:
            self._end_mark = True
            self._finish()
            if isinstance(exc, RayTimeoutError):  # it may still stream on the host: end it
                handle._remote("stream_cancel")
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
    """The same as `cancel`, under the name async generators use."""

    async def __aenter__(self) -> AsyncRayStream[ReplyT]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.cancel()
