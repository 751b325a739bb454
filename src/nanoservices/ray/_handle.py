"""The sync Ray handle and its lazy stream: the logic of ``_ray_session``, with ``ray.get``."""

from __future__ import annotations

import collections
import time
import weakref
from typing import Any, Generic, NoReturn, TypeVar

import ray
from ray.exceptions import GetTimeoutError, RayError

from nanoservices import State

from ._async import AsyncRayHandle
from ._host import Failure
from ._session import (
    FIRST_BATCH,
    Lost,
    RayTimeoutError,
    Resumed,
    SessionBase,
    StreamBase,
    get_checked,
    state_of,
    wall_deadline,
)

READY = State.READY

__all__ = ["RayHandle", "RayStream"]

RequestT = TypeVar("RequestT")
ReplyT = TypeVar("ReplyT")


class RayHandle(SessionBase, Generic[RequestT, ReplyT]):
    """A service instance in a Ray actor, behind the handle interface.

    Made by [`ServiceHostPool.start`][]. One caller at a time, like a local
    handle; [`aio`][] gives an awaitable twin on the same session.
    """

    __slots__ = ()

    # -- the hot path -------------------------------------------------------------------

    def call(self, request: RequestT, /, *, timeout: float | None = None) -> ReplyT:
        """Send ``request`` to the service and return its reply.

        ``timeout``: the deadline in seconds (default: the handle's [`timeout`][]).
        It travels to the host, which refuses a request that waited past it in
        the actor's queue and sets it for the service (``remaining()``); the
        handle never waits past it: [`RayTimeoutError`][nanoservices.ray.RayTimeoutError]
        (a [`DeadlineExceeded`][nanoservices.DeadlineExceeded]). A sync service running on
        the host cannot be interrupted (``ray.cancel`` cannot stop a running sync
        actor method): it finishes there, and the session's next request waits.
        """
        if self._open is not None:
            self._refuse_streaming("call")
        bound, deadline = self._deadline(timeout)
        if bound is None:
            ref = self._call(self._session, request)
        else:
            self._passed(request, timeout, bound)
            ref = self._call(self._session, request, wall_deadline(bound))
        try:
            reply = ray.get(ref, timeout=bound)
        except RayError as exc:
            return self._lost(request, exc, bound, deadline)
        if type(reply) is Failure:
            try:
                return self._failed(request, reply, deadline, resume=True)
            except Resumed:  # a durable session, back from its journal: the request never ran
                return self.call(request, timeout=timeout)
        self._seen = READY
        return reply  # type: ignore[no-any-return]

    __call__ = call

    def _failed(
        self,
        request: object,
        failure: Failure,
        deadline: float | None = None,
        resume: bool = False,
    ) -> NoReturn:
        try:
            self._sort(failure, request)
        except Lost as lost:
            self._lost(request, lost, None, deadline, resume)

    def _lost(
        self,
        request: object,
        cause: BaseException,
        bound: float | None = None,
        deadline: float | None = None,
        resume: bool = False,
    ) -> NoReturn:
        """No answer in time, or the host died under this session: then restart the
        service on it (policy allowing), within the caller's deadline."""
        if isinstance(cause, GetTimeoutError):
            self._timed_out("request", request, bound, cause)
        reopen_by = self._may_restart(request, cause)
        while True:
            try:
                self._reopened(ray.get(self._reopen_ref(), timeout=self._left(deadline)))
            except RayError as error:
                self._retry_reopen(request, cause, error, reopen_by, deadline)
                time.sleep(0.05)
                continue
            self._resume(cause, resume)
            self._restarted(request, cause, None)

    def _invoke(
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
            result = ray.get(self._remote(method, *args), timeout=bound)
        except GetTimeoutError as exc:
            self._timed_out(what, request, bound, exc)
        except RayError as exc:
            return self._lost(request, exc, bound, deadline)
        if type(result) is Failure:
            try:
                return self._failed(request, result, deadline, resume=method != "stream_next")
            except Resumed:  # a durable session, back from its journal: it never ran
                return self._invoke(what, method, *args, request=request, timeout=timeout)
        return result

    # -- streams ------------------------------------------------------------------------

    def stream(self, request: RequestT, /, *, timeout: float | None = None) -> RayStream[Any]:
        """Send ``request`` and iterate its streamed reply lazily.

        Items travel in growing batches (up to ``batch`` per round trip); the
        stream holds the service until it ends or is cancelled, and leaving it
        early closes the service's source and puts the service back to READY.
        ``timeout`` (default: the handle's [`timeout`][]): a deadline for the
        whole stream; it travels to the host, which checks it before each item
        (and cancels the stream past it); the handle never waits past it.
        """
        if self._open is not None:
            self._refuse_streaming("stream")
        bound, at = self._deadline(timeout)
        size = min(FIRST_BATCH, self._batch)
        if bound is None:
            args: tuple[Any, ...] = (request, size)
        else:
            self._passed(request, timeout, bound)
            args = (request, size, wall_deadline(bound))
        try:
            items, end = self._invoke(
                "stream", "stream_open", *args, request=request, timeout=bound
            )
        except RayTimeoutError:  # it may still open on the host: end it there after
            self._remote("stream_cancel")
            raise
        opened: RayStream[Any] = RayStream(self, request, items, end, at)
        if end is None or items:
            self._open = weakref.ref(opened)
        return opened

    def _pull(
        self, size: int, request: object, timeout: float | None
    ) -> tuple[list[Any], bool | Failure | None]:
        result: tuple[list[Any], bool | Failure | None] = self._invoke(
            "stream", "stream_next", size, request=request, timeout=timeout
        )
        return result

    def _cancel_remote(self, request: object, wait: bool) -> None:
        ref = self._remote("stream_cancel")
        if wait:
            failure = get_checked(ref, self._name, self.timeout)
            if failure is not None:
                self._failed(request, failure)

    # -- the rest of the interface ------------------------------------------------------

    def reset(self, *, timeout: float | None = None) -> None:
        """Back to waiting for a request: an open stream ends; a failed service restarts."""
        self._drop_stream()
        self._invoke("reset", "reset", timeout=timeout)
        self._seen = READY

    def restart(self, *, timeout: float | None = None) -> None:
        """Replace the service with a fresh instance from its factory (state is lost)."""
        self._drop_stream()
        self._invoke("restart", "restart", timeout=timeout)
        self._seen = READY

    def throw(
        self, exc: BaseException | type[BaseException], /, *, timeout: float | None = None
    ) -> Any:
        """Raise ``exc`` inside the service; return what it yields next."""
        self._drop_stream()
        reply = self._invoke("throw", "throw", exc, request=exc, timeout=timeout)
        self._seen = READY
        return reply

    def fetch_state(self, *, timeout: float | None = None) -> State:
        """The service's state now, asked of its host (one round trip); ``state``
        then reports it too."""
        if self._closed or self._dead is not None:
            return self.state
        bound = self.timeout if timeout is None else timeout
        try:
            seen = state_of(ray.get(self._remote("state"), timeout=bound))
        except GetTimeoutError as exc:
            self._timed_out("fetch_state", None, bound, exc)
        except RayError:
            seen = State.FAILED  # its host is lost: the next request restarts it
        self._seen = seen
        return self.state

    def close(self) -> None:
        """Close the service (its ``finally`` blocks run, on its host). Twice is fine."""
        if not self._mark_closed():
            return
        try:
            failure = ray.get(self._remote("close"), timeout=self.timeout)
        except GetTimeoutError as exc:
            self._timed_out("close", None, self.timeout, exc)
        except RayError:
            return  # its host is gone: nothing is left to close
        if failure is not None:
            self._saw(failure)
            raise failure.rebuild()

    def __enter__(self) -> RayHandle[RequestT, ReplyT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def aio(self) -> AsyncRayHandle[RequestT, ReplyT]:
        """An awaitable twin of this handle, on the same session (same service)."""
        twin: AsyncRayHandle[RequestT, ReplyT] = AsyncRayHandle(
            self._target,
            self._session,
            self._name,
            self._incarnation,
            self._policy,
            self._batch,
            self._greeting,
            self.timeout,
        )
        twin._seen = self._seen
        return twin


class RayStream(StreamBase, Generic[ReplyT]):
    """The items of one streamed reply from a Ray-hosted service, pulled lazily.

    Iterator and context manager; ``cancel()`` (or leaving a ``for`` loop early)
    ends it and puts the service back to READY.
    """

    __slots__ = ()

    _handle: RayHandle[Any, Any]

    def __init__(
        self,
        handle: RayHandle[Any, Any],
        request: object,
        items: list[Any],
        end: bool | Failure | None,
        at: float | None = None,
    ) -> None:
        self._handle = handle
        self.request = request
        self._items = collections.deque(items)
        self._end_mark = end
        self._next_size = min(2 * FIRST_BATCH, handle._batch)
        self._at = at

    def __iter__(self) -> RayStream[ReplyT]:
        return self

    def __next__(self) -> ReplyT:
        if self._late():
            self.cancel()  # the service's finally runs on the host before this returns
            raise self._deadline_error()
        items = self._items
        if items:
            return items.popleft()  # type: ignore[no-any-return]
        end = self._end_mark
        if end is None:
            items.extend(self._fetch())
            if items:
                return items.popleft()  # type: ignore[no-any-return]
            end = self._end_mark
        self._finish()
        if type(end) is Failure:
            self._end_mark = True
            self._handle._failed(self.request, end)
        raise StopIteration

    def _fetch(self) -> list[Any]:
        try:
            left = None if self._at is None else max(self._at - time.monotonic(), 0.001)
            items, self._end_mark = self._handle._pull(self._grow(), self.request, left)
        except RayTimeoutError:
            self._cancel(wait=False)  # the pulled batch is lost: end the stream on the host too
            raise
        except BaseException:
            self._end_mark = True
            self._finish()
            raise
        return items

    @property
    def is_open(self) -> bool:
        """True until the stream ends, fails or is cancelled."""
        return bool(self._items) or self._end_mark is None or type(self._end_mark) is Failure

    def cancel(self) -> None:
        """Stop early: the service goes back to waiting for its next request."""
        self._cancel(wait=True)

    close = cancel
    """The same as `cancel`, under the name generators use."""

    def _cancel(self, wait: bool) -> None:
        open_remotely = self._end_mark is None
        self._end()
        self._finish()
        if open_remotely and not self._handle._closed and self._handle._dead is None:
            self._handle._cancel_remote(self.request, wait)

    def __enter__(self) -> RayStream[ReplyT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()

    def __del__(self) -> None:
        if self._end_mark is None:  # dropped mid-stream (a ``break``): tell the host, don't wait
            try:
                self._cancel(wait=False)
            except Exception:
                pass

    def __repr__(self) -> str:
        state = "open" if self.is_open else "done"
        return f"<RayStream of {self._handle.name!r} ({state})>"
