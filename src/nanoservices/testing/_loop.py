"""The sync handle interface over an async handle, its steps run on a loop thread.

So that one test, written against the sync interface, runs on the async
transport too: each step is a coroutine run on an event loop in a daemon
thread, and the test waits for its result.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from nanoservices.core import State, SupervisionStats

__all__ = ["LoopThread", "SyncFacade", "SyncStream"]

T = TypeVar("T")

_STEP_TIMEOUT = 60.0  # a step that long is a hung service: fail rather than hang the run


class LoopThread:
    """An event loop running in a daemon thread; [`run`][] waits for a coroutine."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="nanoservices-testing-loop", daemon=True
        )
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and return its result (or raise its error)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=_STEP_TIMEOUT)

    def stop(self) -> None:
        """Finish the loop's async generators, stop it and close it."""
        if self.loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self.loop.shutdown_asyncgens(), self.loop).result(
            timeout=_STEP_TIMEOUT
        )
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=_STEP_TIMEOUT)
        self.loop.close()


class SyncStream:
    """A sync iterator over an async reply stream."""

    def __init__(self, runner: LoopThread, inner: Any) -> None:
        self._runner = runner
        self._inner = inner

    def __iter__(self) -> SyncStream:
        return self

    def __next__(self) -> Any:
        try:
            return self._runner.run(self._inner.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    @property
    def is_open(self) -> bool:
        """True until the stream ends, fails or is cancelled."""
        return bool(self._inner.is_open)

    def cancel(self) -> None:
        """Stop early: the service waits for its next request."""
        self._runner.run(self._inner.aclose())

    close = cancel
    """The same as `cancel`, under the name generators use."""

    def __enter__(self) -> SyncStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()

    def __del__(self) -> None:
        if not self._runner.loop.is_closed() and self._inner.is_open:
            try:
                self.cancel()
            except Exception:
                pass


class SyncFacade:
    """The sync handle operations over an async handle (each one waits on the loop)."""

    def __init__(self, runner: LoopThread, handle: Any) -> None:
        self._runner = runner
        self._handle = handle

    def call(self, request: Any, /, *, timeout: float | None = None) -> Any:
        """Send ``request`` and return the reply (``timeout``: a deadline in seconds)."""
        if timeout is None:
            return self._runner.run(self._handle.call(request))
        return self._runner.run(self._handle.call(request, timeout=timeout))

    __call__ = call

    def stream(self, request: Any, /, *, timeout: float | None = None) -> SyncStream:
        """Send ``request`` and iterate its streamed reply (``timeout``: a deadline)."""
        inner = (
            self._handle.stream(request)
            if timeout is None
            else self._handle.stream(request, timeout=timeout)
        )
        self._runner.run(inner.open())
        return SyncStream(self._runner, inner)

    def reset(self) -> None:
        """Back to waiting for a request."""
        self._runner.run(self._handle.reset())

    def throw(self, exc: Any, /) -> Any:
        """Raise ``exc`` inside the service; return what it yields next."""
        return self._runner.run(self._handle.throw(exc))

    def restart(self) -> None:
        """A fresh generator from the factory."""
        self._runner.run(self._handle.restart())

    def close(self) -> None:
        """Close the service. Closing twice is fine."""
        self._runner.run(self._handle.aclose())

    @property
    def timeout(self) -> float | None:
        """The async handle's default deadline in seconds (None: none)."""
        value: float | None = self._handle.timeout
        return value

    @timeout.setter
    def timeout(self, seconds: float | None) -> None:
        self._handle.timeout = seconds

    @property
    def state(self) -> State:
        """The async handle's state."""
        state: State = self._handle.state
        return state

    @property
    def name(self) -> str:
        """The service's name."""
        return str(self._handle.name)

    @property
    def greeting(self) -> Any:
        """What the service yielded when it was primed."""
        return self._handle.greeting

    @property
    def supervision(self) -> SupervisionStats:
        """The async handle's restart record."""
        stats: SupervisionStats = self._handle.supervision
        return stats

    @property
    def local(self) -> object:
        """The async handle (observers subscribe through it)."""
        return self._handle

    def __enter__(self) -> SyncFacade:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SyncFacade over {self._handle!r}>"
