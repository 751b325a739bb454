"""A stream holds the remote service until its client ends or cancels it (issue 11, item 14).

Over HTTP the server may finish a short stream (and free the service) long
before the client reads it; the remote handle must still behave as a local one:
while the caller's stream is open, the service is busy for that caller.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from nanoservices import ServiceBusyError, State, service, streamed
from nanoservices.http import aconnect, connect, create_app
from tests.conformance._server import serving_app

pytestmark = pytest.mark.http

SOURCE_DONE = threading.Event()


def _two() -> Iterator[int]:
    try:
        yield 1
        yield 2
    finally:
        SOURCE_DONE.set()


@service
def short() -> Generator[Any, int, None]:
    """Replies to any request with the two-item stream ``[1, 2]``."""
    reply: Any = None
    while True:
        yield_value = yield reply
        reply = streamed(_two()) if yield_value >= 0 else yield_value


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serving_app(create_app({"short": short})) as base:
        yield base


def test_a_finished_but_unread_stream_still_holds_the_service(url: str) -> None:
    SOURCE_DONE.clear()
    with connect(url, "short") as h:
        items = h.stream(0)
        assert next(items) == 1
        assert SOURCE_DONE.wait(10)  # the server has produced (and ended) the whole stream
        assert h.state is State.STREAMING
        with pytest.raises(ServiceBusyError, match="short"):
            h(-1)
        assert list(items) == [2]
        assert h.state is State.READY
        assert h(-1) == -1


def test_cancel_after_the_server_ended_the_stream_frees_the_service(url: str) -> None:
    SOURCE_DONE.clear()
    with connect(url, "short") as h:
        items = h.stream(0)
        assert next(items) == 1
        assert SOURCE_DONE.wait(10)
        items.cancel()
        assert h.state is State.READY
        assert h(-1) == -1


def test_async_a_finished_but_unread_stream_still_holds_the_service(url: str) -> None:
    async def main() -> None:
        async with await aconnect(url, "short") as h:
            items = h.stream(0)
            assert await items.__anext__() == 1
            assert SOURCE_DONE.wait(10)
            assert h.state is State.STREAMING
            with pytest.raises(ServiceBusyError, match="short"):
                await h(-1)
            assert [x async for x in items] == [2]
            assert await h(-1) == -1

    SOURCE_DONE.clear()
    asyncio.run(main())
