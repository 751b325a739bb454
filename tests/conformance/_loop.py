"""A sync facade over async handles: an event loop in a thread runs each step.

The behaviour suite is written against the sync handle interface; async
transports are reached through this facade so the very same tests run on them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """An event loop running in a daemon thread; ``run(coro)`` waits for its result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@contextmanager
def loop_thread() -> Iterator[LoopThread]:
    runner = LoopThread()
    try:
        yield runner
    finally:
        runner.stop()


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
        return bool(self._inner.is_open)

    def cancel(self) -> None:
        self._runner.run(self._inner.aclose())

    close = cancel

    def __enter__(self) -> SyncStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()

    def __del__(self) -> None:
        if self._inner.is_open:
            self.cancel()


class SyncFacade:
    """The sync handle interface over an async handle (``call`` blocks on the loop)."""

    def __init__(self, runner: LoopThread, handle: Any) -> None:
        self._runner = runner
        self._handle = handle

    def call(self, request: Any, /) -> Any:
        return self._runner.run(self._handle.call(request))

    __call__ = call

    def stream(self, request: Any, /) -> SyncStream:
        inner = self._handle.stream(request)
        self._runner.run(inner.open())
        return SyncStream(self._runner, inner)

    def reset(self) -> None:
        self._runner.run(self._handle.reset())

    def throw(self, exc: Any, /) -> Any:
        return self._runner.run(self._handle.throw(exc))

    def restart(self) -> None:
        self._runner.run(self._handle.restart())

    def close(self) -> None:
        self._runner.run(self._handle.aclose())

    @property
    def state(self) -> Any:
        return self._handle.state

    @property
    def greeting(self) -> Any:
        return self._handle.greeting

    @property
    def name(self) -> str:
        return str(self._handle.name)

    def __enter__(self) -> SyncFacade:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
