"""The sync Ray handle and its lazy stream: the flows of ``_flow``, driven with ``ray.get``."""

from __future__ import annotations

import time
from typing import Any, Generic, TypeVar

import ray

from nanoservices import State
from nanoservices.core.seam import steps

from . import _flow as flow
from ._async import AsyncRayHandle
from ._session import SessionBase, StreamBase

__all__ = ["RayHandle", "RayStream"]

RequestT = TypeVar("RequestT")
ReplyT = TypeVar("ReplyT")


def _wait(effect: flow.Effect) -> Any:
    """The sync driver's one kind of I/O: wait for a Ray answer, or pause."""
    if type(effect) is flow.Get:
        return ray.get(effect.ref, timeout=effect.bound)
    time.sleep(flow.PAUSE_SECONDS)
    return None


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
        An async service (``@aservice``) is cancelled at its own ``await`` on the
        host, as locally; for that answer the handle waits up to ``ASYNC_GRACE``
        (1 s) past the deadline.
        """
        reply: ReplyT = steps.run(flow.call(self, request, timeout), _wait)
        return reply

    __call__ = call

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
        opened: RayStream[Any] = RayStream(self, request, timeout)
        steps.run(flow.open_stream(opened), _wait)
        return opened

    # -- the rest of the interface ------------------------------------------------------

    def reset(self, *, timeout: float | None = None) -> None:
        """Back to waiting for a request: an open stream ends; a failed service restarts."""
        steps.run(flow.operate(self, "reset", timeout), _wait)

    def restart(self, *, timeout: float | None = None) -> None:
        """Replace the service with a fresh instance from its factory (state is lost)."""
        steps.run(flow.operate(self, "restart", timeout), _wait)

    def throw(
        self, exc: BaseException | type[BaseException], /, *, timeout: float | None = None
    ) -> Any:
        """Raise ``exc`` inside the service; return what it yields next."""
        return steps.run(flow.operate(self, "throw", timeout, exc, request=exc), _wait)

    def fetch_state(self, *, timeout: float | None = None) -> State:
        """The service's state now, asked of its host (one round trip); ``state``
        then reports it too."""
        state: State = steps.run(flow.fetch_state(self, timeout), _wait)
        return state

    def close(self) -> None:
        """Close the service (its ``finally`` blocks run, on its host). Twice is fine."""
        steps.run(flow.close(self), _wait)

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

    def __iter__(self) -> RayStream[ReplyT]:
        return self

    def __next__(self) -> ReplyT:
        if self._at is None and self._items:  # the fast path: an item already here
            ready: ReplyT = self._items.popleft()
            return ready
        item: ReplyT = steps.run(flow.next_item(self), _wait)
        if item is flow.END:
            raise StopIteration
        return item

    def cancel(self) -> None:
        """Stop early: the service goes back to waiting for its next request."""
        steps.run(flow.cancel(self, wait=True), _wait)

    close = cancel
    """The same as `cancel`, under the name generators use."""

    def __enter__(self) -> RayStream[ReplyT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()

    def __del__(self) -> None:
        if self._end_mark is None:  # dropped mid-stream (a ``break``): tell the host, don't wait
            try:
                steps.run(flow.cancel(self, wait=False), _wait)
            except Exception:
                pass
