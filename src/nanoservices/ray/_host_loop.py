"""How a Ray host runs async services: on its own event loop, behind the sync handle interface.

A host's methods run one at a time in the actor's thread and speak the sync
handle interface to every session. An ``@aservice`` session lives on the
host's event loop (one thread, started with the first async session); its
[`LoopHandle`][] sends each operation there and waits for it, so the host
drives it like any other session, while the service awaits on a real loop:
a deadline cancels it at its own ``await``, as locally
([`AsyncHandle.call`][nanoservices.aio.AsyncHandle.call]).

Plain Python, no Ray import (like ``_host``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, Final, TypeVar

from nanoservices import State
from nanoservices.aio import AsyncHandle, AsyncReplyStream

__all__ = ["HostLoop", "LoopHandle", "LoopStream"]

T = TypeVar("T")

_DONE: Final = object()  # a stream's end, as a value (a coroutine may not raise StopIteration)


class HostLoop:
    """An asyncio event loop in a thread of its own, for the async services of one host."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="nanoservices-host-loop", daemon=True
        )
        self._thread.start()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the loop and wait for its outcome (its result, or its error)."""
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()


class LoopHandle:
    """The sync handle interface over an async handle whose service runs on a [`HostLoop`][]."""

    __slots__ = ("_handle", "_loop", "name")

    def __init__(self, handle: AsyncHandle[Any, Any], loop: HostLoop) -> None:
        self._handle = handle
        self._loop = loop
        self.name = handle.name  #: the service's name

    @property
    def state(self) -> State:
        """The service's state (read from the host's thread: a field, no step)."""
        return self._handle.state

    def call(self, request: Any, /, *, timeout: float | None = None) -> Any:
        """The service's reply; past ``timeout`` it is cancelled at its own ``await``."""
        return self._loop.run(self._handle.call(request, timeout=timeout))

    __call__ = call

    def stream(self, request: Any, /, *, timeout: float | None = None) -> LoopStream:
        """The streamed reply to ``request``, sent now (an error opening it raises here)."""
        opened = self._handle.stream(request, timeout=timeout)
        self._loop.run(opened.open())
        return LoopStream(opened, self._loop)

    def reset(self) -> None:
        """Back to waiting for a request (ends an open stream; a failed service restarts)."""
        self._loop.run(self._handle.reset())

    def throw(self, exc: BaseException | type[BaseException], /) -> Any:
        """Raise ``exc`` inside the service at its ``yield``; return what it yields next."""
        return self._loop.run(self._handle.throw(exc))

    def restart(self) -> None:
        """Replace the service with a fresh instance from its factory."""
        self._loop.run(self._handle.restart())

    def close(self) -> None:
        """Close the service (its ``finally`` blocks run on the loop)."""
        self._loop.run(self._handle.aclose())

    @property
    def greeting(self) -> Any:
        """What the service yielded when it was last primed, or None."""
        return self._handle.greeting


class LoopStream(Iterator[Any]):
    """The items of a streamed reply of an async service on a [`HostLoop`][], one by one."""

    __slots__ = ("_loop", "_stream", "request")

    def __init__(self, stream: AsyncReplyStream[Any], loop: HostLoop) -> None:
        self._stream = stream
        self._loop = loop
        self.request = stream.request

    def __next__(self) -> Any:
        item = self._loop.run(self._next())
        if item is _DONE:
            raise StopIteration
        return item

    async def _next(self) -> Any:
        try:
            return await self._stream.__anext__()
        except StopAsyncIteration:
            return _DONE

    def cancel(self) -> None:
        """Stop early: the source is closed (its ``finally`` runs) and the service is READY."""
        self._loop.run(self._stream.aclose())
