"""Async transports: async generator services, and sync services wrapped by ``to_async``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from nanoservices.aio import to_async

from . import transports
from ._loop import SyncFacade, loop_thread

_SYNC = "nanoservices.examples.basics:"
_ASYNC = "nanoservices.examples.abasics:"


@contextmanager
def _async_generators() -> Iterator[Callable[..., Any]]:
    """``basics:x`` is served by its async twin ``abasics:x`` (an ``@aservice``)."""
    with loop_thread() as runner:

        def start(path: str, *args: Any) -> SyncFacade:
            factory = transports.load(path.replace(_SYNC, _ASYNC))

            async def started() -> Any:
                return await factory(*args)

            return SyncFacade(runner, runner.run(started()))

        yield start


def _wrapped(offload: bool) -> Callable[[], Any]:
    @contextmanager
    def session() -> Iterator[Callable[..., Any]]:
        with loop_thread() as runner:

            def start(path: str, *args: Any) -> SyncFacade:
                handle = transports.load(path)(*args)
                return SyncFacade(runner, to_async(handle, offload=offload))

            yield start

    return session


transports.TRANSPORTS += [
    transports.Transport("async", _async_generators),
    transports.Transport("async-wrapped", _wrapped(offload=False)),
    transports.Transport("async-offload", _wrapped(offload=True)),
]
