"""Deadlines over HTTP: the header's format, the 504 problem, and a client that goes away.

The behaviour on every transport is ``tests/conformance/test_contract_deadlines.py``;
here is what only the wire shows. No timed asserts: statuses, documents, events.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Iterator
from typing import Any

import httpx
import pytest

from nanoservices import DeadlineExceeded
from nanoservices.aio import aservice
from nanoservices.http import Served, create_app
from nanoservices.http._wire import TIMEOUT_HEADER
from tests.conformance._server import serving_app

pytestmark = pytest.mark.http

HEADERS = {"nanoservices-client": "me", "content-type": "application/json"}
STARTED = threading.Event()
CANCELLED = threading.Event()


@aservice
async def waiter() -> AsyncGenerator[Any, Any]:
    """Waits until cancelled (then notes it, in events this test process can see)."""
    reply: Any = None
    while True:
        request = yield reply
        if request == "quick":
            reply = "quick"
            continue
        STARTED.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            CANCELLED.set()
            reply = "cancelled"


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    from nanoservices.examples.basics import patient

    app = create_app([Served(patient, client_args=True), Served(waiter)])
    with serving_app(app) as url:
        yield url


@pytest.fixture
def http(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, headers=HEADERS) as client:
        yield client


def _session(http: httpx.Client, service: str) -> str:
    response = http.post(f"/services/{service}/sessions", json={})
    assert response.status_code == 201, response.text
    return f"/services/{service}/sessions/{response.json()['session']}"


@pytest.mark.parametrize("bad", ["soon", "-1", "1e3", "nan", "1.5s", "", "1" * 12])
def test_a_malformed_timeout_header_is_a_400_problem(http: httpx.Client, bad: str) -> None:
    path = _session(http, "patient")
    for op in ("call", "stream"):
        response = http.post(f"{path}/{op}", json="notes", headers={TIMEOUT_HEADER: bad})
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"
        doc = response.json()
        assert doc["type"] == "urn:nanoservices:problem:bad-timeout"
        assert doc["service"] == "patient"
        assert TIMEOUT_HEADER in doc["detail"]
    assert http.post(f"{path}/call", json="notes").json() == []  # it serves on


def test_a_passed_deadline_is_a_504_deadline_exceeded_problem(http: httpx.Client) -> None:
    path = _session(http, "patient")
    response = http.post(f"{path}/call", json=["note", "x"], headers={TIMEOUT_HEADER: "0"})
    assert response.status_code == 504, response.text
    doc = response.json()
    assert doc["type"] == "urn:nanoservices:problem:deadline-exceeded"
    assert (doc["error"], doc["service"], doc["request"]) == (
        "DeadlineExceeded",
        "patient",
        ["note", "x"],
    )
    assert doc["state"] == "ready"
    stream = http.post(f"{path}/stream", json=["ticks", 3], headers={TIMEOUT_HEADER: "0"})
    assert stream.status_code == 504
    assert http.post(f"{path}/call", json="notes").json() == []  # nothing ran


def test_the_server_reads_the_header_as_the_services_remaining_time(http: httpx.Client) -> None:
    path = _session(http, "patient")
    left = http.post(f"{path}/call", json="remaining", headers={TIMEOUT_HEADER: "30.5"}).json()
    assert 0 < left <= 30.5


def test_a_problem_rebuilds_as_deadline_exceeded_on_the_client(base: str) -> None:
    from nanoservices.http import connect

    with connect(base, "patient") as h:
        with pytest.raises(DeadlineExceeded) as caught:
            h.call(["note", "x"], timeout=0)
        assert caught.value.service == "patient"


def test_the_server_cancels_the_work_of_a_client_that_went_away(base: str) -> None:
    STARTED.clear()
    CANCELLED.clear()

    async def main() -> None:
        async with httpx.AsyncClient(base_url=base, headers=HEADERS) as client:
            opened = await client.post("/services/waiter/sessions", json={})
            path = f"/services/waiter/sessions/{opened.json()['session']}"
            call = asyncio.ensure_future(
                client.post(f"{path}/call", json="wait", headers={TIMEOUT_HEADER: "60"})
            )
            assert await asyncio.to_thread(STARTED.wait, 30)
            call.cancel()  # the client goes away: httpx drops the connection
            with pytest.raises(asyncio.CancelledError):
                await call
            assert await asyncio.to_thread(CANCELLED.wait, 30)
            state = await client.get(path)
            assert state.json()["state"] == "ready"  # it handled the cancellation
            reply = await client.post(f"{path}/call", json="quick")
            assert reply.json() == "quick"

    asyncio.run(main())


@pytest.mark.parametrize("offload", [False, True])
def test_an_async_service_over_http_is_cancelled_at_its_deadline(offload: bool) -> None:
    from nanoservices.examples import abasics
    from nanoservices.http import connect

    app = create_app([Served(abasics.patient, offload=offload)])
    with serving_app(app) as url, connect(url, "patient") as h:
        with pytest.raises(DeadlineExceeded):
            h.call(["until", 60], timeout=0.05)  # cancelled at its await; it handles it
        assert h.call("notes") == ["stopped"]
        with pytest.raises(DeadlineExceeded):
            h.call(["nap", 60], timeout=0.05)  # it does not handle it: FAILED
        assert h.fetch_state().value == "failed"
        h.reset()
        with pytest.raises(DeadlineExceeded):
            for _ in h.stream(["ticks", None], timeout=0.3):
                pass
        assert h.call("notes") == ["finally"]
