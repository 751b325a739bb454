"""Streams over HTTP are pulled: the server produces what the client asked for.

A client pulls a stream in pages (8 items, then twice the last, up to
``MAX_WINDOW``); the service produces a page's items only when the page is
asked for, so a reader that stops leaves the service one page ahead at most.
Each count below is read after the stream was cancelled or the page ended:
the source's ``finally`` (an event) says the count is final, no sleeps.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nanoservices import TransportError, service, streamed
from nanoservices.http import Served, aconnect, connect, create_app
from nanoservices.http._wire import FIRST_WINDOW, MAX_WINDOW
from tests.conformance._server import serving_app

pytestmark = pytest.mark.http

PRODUCED = [0]
PAGE_MADE = threading.Event()  # the first page's items are made
CLOSED = threading.Event()
RELEASE = threading.Event()
JSON = {"content-type": "application/json", "nanoservices-client": "me"}


def _endless() -> Iterator[int]:
    try:
        for n in itertools.count():
            PRODUCED[0] = n + 1
            if n + 1 == FIRST_WINDOW:
                PAGE_MADE.set()
            yield n
    finally:
        CLOSED.set()


def _one_then_wait() -> Iterator[int]:
    yield 0
    RELEASE.wait(30)
    yield 1


@service
def endless() -> Generator[Any, str, None]:
    """Streams 0, 1, 2, ... for ever (``"slow"``: one item, then waits to be released;
    ``"produced"``: replies with how many items the endless source has made)."""
    reply: Any = None
    while True:
        request = yield reply
        if request == "produced":
            reply = PRODUCED[0]
        else:
            reply = streamed(_one_then_wait() if request == "slow" else _endless())


def _fresh() -> None:
    PRODUCED[0] = 0
    PAGE_MADE.clear()
    CLOSED.clear()


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serving_app(create_app({"endless": endless})) as base:
        yield base


def test_a_reader_that_stops_after_three_items_leaves_the_server_one_page_ahead(
    url: str,
) -> None:
    _fresh()
    with connect(url, "endless") as h, connect(url, "endless") as other:
        items = h.stream("go")
        assert [next(items) for _ in range(3)] == [0, 1, 2]
        assert PAGE_MADE.wait(10)
        # The server's loop turns many times over while it answers these: a server
        # that pushed items without being asked would make thousands meanwhile.
        counts = [other("produced") for _ in range(20)]
        assert counts == [FIRST_WINDOW] * 20
        items.cancel()
        assert CLOSED.wait(10)  # the source is closed: nothing more will be produced
    assert PRODUCED[0] == FIRST_WINDOW


def test_the_same_for_the_async_client(url: str) -> None:
    async def read_three() -> list[int]:
        async with await aconnect(url, "endless") as h, h.stream("go") as items:
            return [await anext(items) for _ in range(3)]

    _fresh()
    assert asyncio.run(read_three()) == [0, 1, 2]
    assert CLOSED.wait(10)
    assert 3 <= PRODUCED[0] <= FIRST_WINDOW


@pytest.mark.parametrize("read", [100, 5000])
def test_the_page_grows_while_the_client_reads_up_to_the_most(url: str, read: int) -> None:
    _fresh()
    with connect(url, "endless") as h:
        items = h.stream("go")
        assert [next(items) for _ in range(read)] == list(range(read))
        items.cancel()
        assert CLOSED.wait(10)
    ahead = PRODUCED[0] - read
    assert 0 <= ahead < read + FIRST_WINDOW  # doubling pages: never more than was read
    assert ahead < MAX_WINDOW


def test_pages_on_the_wire(url: str) -> None:
    _fresh()
    with httpx.Client(base_url=url, headers=JSON) as http:
        path = (
            "/services/endless/sessions/"
            + http.post("/services/endless/sessions").json()["session"]
        )
        first = http.post(path + "/stream?window=2", content=b'"go"')
        assert first.headers["nanoservices-state"] == "streaming"
        assert first.text.splitlines() == [
            '{"item":0}',
            '{"item":1}',
            '{"more":true,"state":"streaming"}',
        ]
        assert PRODUCED[0] == 2
        second = http.post(path + "/stream/next?window=3")
        assert second.text.splitlines()[:3] == ['{"item":2}', '{"item":3}', '{"item":4}']
        assert PRODUCED[0] == 5
        assert http.delete(path + "/stream").status_code == 204
        assert CLOSED.wait(10)
        gone = http.post(path + "/stream/next?window=3")
        assert gone.status_code == 409
        assert gone.headers["content-type"] == "application/problem+json"
        assert gone.json()["type"].endswith("no-open-stream")
        for bad in ("0", "-1", "x", "1.5", ""):
            refused = http.post(path + f"/stream?window={bad}", content=b'"go"')
            assert refused.status_code == 400, bad
            assert refused.json()["type"].endswith("bad-window")


def test_a_window_past_the_most_is_served_as_the_most(url: str) -> None:
    _fresh()
    with httpx.Client(base_url=url, headers=JSON) as http:
        path = (
            "/services/endless/sessions/"
            + http.post("/services/endless/sessions").json()["session"]
        )
        page = http.post(path + f"/stream?window={MAX_WINDOW * 10}", content=b'"go"')
        lines = page.text.splitlines()
        assert len(lines) == MAX_WINDOW + 1
        assert lines[-1] == '{"more":true,"state":"streaming"}'
        assert http.delete(path).status_code == 204


def test_a_stream_whose_next_page_nobody_asks_for_expires_with_its_session() -> None:
    _fresh()
    with serving_app(create_app({"endless": endless}, idle_timeout=0.2)) as base:
        h = connect(base, "endless")
        items = h.stream("go")
        assert next(items) == 0
        assert CLOSED.wait(10)  # the idle sweep closed the session and its source
        assert PRODUCED[0] == FIRST_WINDOW
        with pytest.raises(TransportError, match="expired"):
            list(items)
        h.close()


def test_shutdown_mid_page_sends_an_error_frame() -> None:
    RELEASE.clear()
    failures: list[BaseException] = []

    def read_on(items: Any) -> None:
        try:
            list(items)
        except TransportError as exc:
            failures.append(exc)
        finally:
            RELEASE.set()  # the source may finish its item: the server closes it

    with serving_app(create_app({"endless": endless})) as base:
        h = connect(base, "endless")
        items = h.stream("slow")
        assert next(items) == 0  # the page waits for the next item, which waits
        reader = threading.Thread(target=read_on, args=(items,))
        reader.start()
    reader.join(10)
    assert len(failures) == 1
    assert "stopping" in str(failures[0])
    h.close()


def test_a_durable_journal_records_the_items_the_client_received(tmp_path: Path) -> None:
    _fresh()
    kept = Served(endless, name="kept", durable=str(tmp_path / "journal.sqlite"))
    with serving_app(create_app([kept])) as base:
        with connect(base, "kept", key="k") as h, connect(base, "kept", key="other") as other:
            items = h.stream("go")
            assert [next(items) for _ in range(3)] == [0, 1, 2]
            assert PAGE_MADE.wait(10)
            assert [other("produced") for _ in range(20)] == [FIRST_WINDOW] * 20
            items.cancel()
            assert CLOSED.wait(10)
        _fresh()
        with connect(base, "kept", key="k") as again:  # its journal replayed: the
            assert again("produced") == FIRST_WINDOW  # items it records, made again
