"""The HTTP side of the one contract (issue 11, items 15-19), over a real server.

15: ``call()`` on a streamed reply is a 409 ``stream-reply`` problem, rebuilt as
``StreamReplyError``; the stream's source is closed and the service READY.
16: ``state`` is the last state seen (no I/O); ``fetch_state()`` asks the server.
17: every httpx error becomes ``TransportError`` with the httpx error as its cause.
18: a service whose ``finally`` raises does not stop the idle sweep.
19: remote handles offer ``restart()`` and ``greeting``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Generator, Iterator
from typing import Any

import httpx
import pytest

from nanoservices import State, StreamReplyError, TransportError, service
from nanoservices.http import aconnect, connect, create_app
from nanoservices.http._host import discover
from tests.conformance._server import serving, serving_app

pytestmark = pytest.mark.http


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serving("nanoservices.examples.basics") as base:
        yield base


# -- 15: call() on a streamed reply ------------------------------------------------


def test_call_on_a_streamed_reply_is_a_409_stream_reply_problem(url: str) -> None:
    with connect(url, "countdown") as h:
        response = httpx.post(h._wire.path + "/call", content=b"3", headers=h._wire.headers)
        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"
        doc = response.json()
        assert doc["type"].endswith("stream-reply")
        assert doc["error"] == "StreamReplyError"
        assert doc["state"] == "ready"
        assert h(-1) == []  # not started, so no finally ran; and the service is READY
        assert list(h.stream(2)) == [2, 1]


def test_call_on_a_streamed_reply_raises_stream_reply_error(url: str) -> None:
    with connect(url, "countdown") as h:
        with pytest.raises(StreamReplyError, match="countdown") as caught:
            h.call(4)
        assert caught.value.request == 4
        assert "stream()" in str(caught.value)
        assert h.state is State.READY
        assert list(h.stream(2)) == [2, 1]


def test_async_call_on_a_streamed_reply_raises_stream_reply_error(url: str) -> None:
    async def main() -> None:
        async with await aconnect(url, "countdown") as h:
            with pytest.raises(StreamReplyError, match="countdown"):
                await h.call(4)
            assert h.state is State.READY
            assert await h(-1) == []

    asyncio.run(main())


# -- 16: state without I/O, fetch_state() with it -----------------------------------


def test_state_is_the_last_seen_and_fetch_state_asks_the_server(url: str) -> None:
    with connect(url, "divider") as h, connect(url, "echo") as other:
        assert h.state is State.READY
        with pytest.raises(Exception, match="ZeroDivisionError"):
            h(0.0)
        assert h.state is State.FAILED
        # the server's state changes behind the handle's back (a raw reset):
        reset = httpx.post(h._wire.path + "/reset", headers=h._wire.headers)
        assert reset.status_code == 200
        assert h.state is State.FAILED  # last seen: no I/O in the property
        assert h.fetch_state() is State.READY
        assert h.state is State.READY
        assert other.fetch_state() is State.READY
    assert h.fetch_state() is State.CLOSED


def test_async_fetch_state(url: str) -> None:
    async def main() -> None:
        async with await aconnect(url, "countdown") as h:
            assert await h.fetch_state() is State.READY
            items = h.stream(3)
            assert await items.__anext__() == 3
            assert await h.fetch_state() is State.STREAMING
            await items.aclose()
            assert await h.fetch_state() is State.READY

    asyncio.run(main())


# -- 17: a dead server: TransportError with the cause kept, on every path ----------


def test_every_sync_path_against_a_dead_server_raises_transport_error() -> None:
    with serving_app(create_app(discover("nanoservices.examples.basics"))) as base:
        h = connect(base, "countdown")
        items = h.stream(2)
        assert next(items) == 2
    with pytest.raises(TransportError) as caught:
        items.cancel()
    assert isinstance(caught.value.__cause__, httpx.HTTPError)
    for operation in (
        lambda: h.call(1),
        lambda: h.stream(1),
        h.reset,
        lambda: h.throw(ValueError),
        h.restart,
        h.fetch_state,
    ):
        with pytest.raises(TransportError, match="cannot reach") as caught:
            operation()
        assert isinstance(caught.value.__cause__, httpx.HTTPError)
    h.close()  # closing a session on a dead server is fine
    assert h.state is State.CLOSED


def test_every_async_path_against_a_dead_server_raises_transport_error() -> None:
    async def main() -> None:
        with serving_app(create_app(discover("nanoservices.examples.basics"))) as base:
            a = await aconnect(base, "countdown")
            items = a.stream(2)
            assert await items.__anext__() == 2
        with pytest.raises(TransportError) as caught:
            await items.aclose()
        assert isinstance(caught.value.__cause__, httpx.HTTPError)
        for operation in (
            lambda: a.call(1),
            lambda: a.stream(1).open(),
            a.reset,
            lambda: a.throw(ValueError),
            a.restart,
            a.fetch_state,
        ):
            with pytest.raises(TransportError, match="cannot reach") as caught:
                await operation()
            assert isinstance(caught.value.__cause__, httpx.HTTPError)
        await a.aclose()
        assert a.state is State.CLOSED

    asyncio.run(main())


def test_connect_to_nothing_is_a_transport_error_with_its_cause() -> None:
    with pytest.raises(TransportError) as caught:
        connect("http://127.0.0.1:9", "echo")
    assert isinstance(caught.value.__cause__, httpx.HTTPError)


# -- 18: the idle sweep survives a raising finally ----------------------------------

CLOSED = {name: threading.Event() for name in ("before", "after", "later")}


@service
def bad_finally() -> Generator[Any, Any, None]:
    """A service whose finally block raises."""
    try:
        reply = None
        while True:
            reply = yield reply
    finally:
        raise ValueError("disk full")


@service
def tidy(tag: str) -> Generator[Any, Any, None]:
    """Sets its tag's event when its finally block runs."""
    try:
        reply = None
        while True:
            reply = yield reply
    finally:
        CLOSED[tag].set()


def test_a_raising_finally_does_not_stop_the_idle_sweep(caplog: pytest.LogCaptureFixture) -> None:
    from nanoservices.http import Served

    app = create_app([Served(bad_finally), Served(tidy, client_args=True)], idle_timeout=0.2)
    with caplog.at_level(logging.ERROR, "nanoservices.http"), serving_app(app) as base:
        first = connect(base, "bad_finally")
        second = connect(base, "tidy", "after")  # swept after the raising one
        assert CLOSED["after"].wait(10), "the sweep died on the raising finally"
        third = connect(base, "tidy", "later")  # the sweeper is still alive
        assert CLOSED["later"].wait(10)
        for h in (first, second, third):
            h.close()
    assert any("bad_finally" in r.getMessage() for r in caplog.records)


# -- 19: restart() and greeting on remote handles -----------------------------------


def test_restart_starts_the_service_afresh_and_updates_the_greeting(url: str) -> None:
    with connect(url, "counter", 10) as h:
        assert h.greeting == 10
        assert h(5) == 15
        h.restart()
        assert h.greeting == 10
        assert h.state is State.READY
        assert h(1) == 11
        items = None
    with connect(url, "countdown") as c:
        items = c.stream(3)
        assert next(items) == 3
        c.restart()  # an open stream ends first
        assert not items.is_open
        assert list(c.stream(1)) == [1]


def test_async_restart_and_greeting(url: str) -> None:
    async def main() -> None:
        async with await aconnect(url, "counter", kwargs={"start": 7}) as h:
            assert h.greeting == 7
            assert await h(1) == 8
            await h.restart()
            assert h.greeting == 7
            assert await h(2) == 9

    asyncio.run(main())


def test_restart_of_a_failed_service(url: str) -> None:
    with connect(url, "divider", 6.0) as h:
        with pytest.raises(Exception, match="ZeroDivisionError"):
            h(0.0)
        assert h.state is State.FAILED
        h.restart()
        assert h.state is State.READY
        assert h(3.0) == 2.0
