"""Server life: auth, shutdown, idle expiry, session limits, health, OpenAPI, async client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Generator
from typing import Any

import httpx
import pytest

from nanoservices import ServiceClosedError, State, TransportError, service
from nanoservices.http import Served, aconnect, connect, create_app
from nanoservices.http._host import discover
from tests.conformance._server import serving_app

pytestmark = pytest.mark.http

FINALLY: list[str] = []


@service
def tidy(tag: str) -> Generator[Any, Any, None]:
    """Records its tag when its finally block runs."""
    try:
        reply = None
        while True:
            reply = yield reply
    finally:
        FINALLY.append(tag)


def _basics(**options: Any) -> Any:
    services = [
        Served(f, client_args=True) for f in discover("nanoservices.examples.basics").values()
    ]
    return create_app(services, **options)


def test_graceful_shutdown_runs_every_finally_block() -> None:
    FINALLY.clear()
    shared = Served(tidy, name="tidy-shared", shared=True, args=("shared",))
    with serving_app(create_app([Served(tidy, client_args=True), shared])) as url:
        a = connect(url, "tidy", "a")
        b = connect(url, "tidy", "b")
        s = connect(url, "tidy-shared")
        assert a(1) == 1
        assert b(2) == 2
        assert s(3) == 3
    assert sorted(FINALLY) == ["a", "b", "shared"]
    for handle in (a, b, s):
        handle.close()  # the server is gone: closing still works


def test_auth_required_and_sessions_bound_to_the_token() -> None:
    with serving_app(_basics(tokens=["alpha", "beta"])) as url:
        assert httpx.get(url + "/health").status_code == 200
        response = httpx.post(url + "/services/echo/sessions")
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        with pytest.raises(TransportError):
            connect(url, "echo", token="wrong")
        with connect(url, "echo", token="alpha", client_id="c") as h:
            assert h("hi") == "hi"
            path = h._wire.path
            stolen = httpx.post(
                path + "/call",
                content=b"1",
                headers={"authorization": "Bearer beta", "nanoservices-client": "c"},
            )
            assert stolen.status_code == 404


def test_idle_sessions_expire() -> None:
    FINALLY.clear()
    with serving_app(create_app([Served(tidy, client_args=True)], idle_timeout=0.2)) as url:
        h = connect(url, "tidy", "idle")
        assert h(1) == 1
        time.sleep(0.6)
        with pytest.raises(TransportError, match="expired"):
            h(2)
        assert FINALLY == ["idle"]
        h.close()


def test_session_limit_is_429() -> None:
    with serving_app(_basics(max_sessions=2)) as url:
        a, b = connect(url, "echo"), connect(url, "echo")
        response = httpx.post(url + "/services/echo/sessions")
        assert response.status_code == 429
        a.close()
        with connect(url, "echo") as c:
            assert c(1) == 1
        b.close()


def test_closed_remote_handle_refuses_calls(url: str) -> None:
    h = connect(url, "echo")
    h.close()
    assert h.state is State.CLOSED
    with pytest.raises(ServiceClosedError):
        h(1)


def test_health_ready_stats_openapi(url: str) -> None:
    assert httpx.get(url + "/ready").json() == {"ready": True}
    with connect(url, "md5") as h:
        h("x")
    stats = httpx.get(url + "/stats").json()
    assert stats["services"]["md5"]["calls"] >= 1
    doc = httpx.get(url + "/openapi.json").json()
    call = doc["paths"]["/services/md5/sessions/{session}/call"]["post"]
    assert call["requestBody"]["content"]["application/json"]["schema"] == {"type": "string"}


def test_async_remote_handle(url: str) -> None:
    async def main() -> None:
        async with await aconnect(url, "countdown") as h:
            assert [x async for x in h.stream(3)] == [3, 2, 1]
            async for x in h.stream(10**6):
                if x < 10**6 - 2:
                    break
            assert await h(-1) == [3, 10**6]  # the abandoned source was closed
            items = h.stream(10**6)
            assert await items.__anext__() == 10**6
            assert h.state is State.STREAMING
            await h.reset()
            assert h.state is State.READY
        async with await aconnect(url, "counter", 10) as c:
            assert await asyncio.gather(c(1), c(1)) in ([11, 12], [12, 11])

    asyncio.run(main())


def test_remote_binding_plugs_into_the_registry(url: str) -> None:
    from nanoservices.compose import Binding, Registry
    from nanoservices.http import RemoteBinding

    binding = RemoteBinding(url, "counter", args=(5,))
    assert isinstance(binding, Binding)
    registry = Registry()
    registry.bind("count", binding)
    handle = binding.connect("count")
    try:
        assert handle(1) == 6
    finally:
        handle.close()


def test_a_remote_failure_keeps_what_its_cause_was(url: str) -> None:
    """The original exception stays on the server; its type and text come across."""
    from nanoservices import ServiceFailedError
    from nanoservices.core import RemoteCause

    with connect(url, "divider", 6.0) as h:
        assert h(3.0) == 2.0
        with pytest.raises(ServiceFailedError) as caught:
            h(0.0)
    cause = caught.value.__cause__
    assert isinstance(cause, RemoteCause)
    assert cause.type_name == "ZeroDivisionError"
    assert "division by zero" in str(cause)
