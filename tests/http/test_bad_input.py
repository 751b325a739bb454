"""Bad input over HTTP gets the right status and a clear problem document; the server goes on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from nanoservices import InvalidRequestError, ServiceBusyError, TransportError
from nanoservices.examples import basics
from nanoservices.http import Served, connect, create_app
from tests.conformance._server import serving_app

pytestmark = pytest.mark.http

PROBLEM = "application/problem+json"


@pytest.fixture
def http(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=url, headers={"nanoservices-client": "me", "content-type": "application/json"}
    ) as client:
        yield client


def _session(http: httpx.Client, service: str, *args: Any) -> str:
    response = http.post(f"/services/{service}/sessions", json={"args": list(args)})
    assert response.status_code == 201, response.text
    return f"/services/{service}/sessions/{response.json()['session']}"


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    doc: dict[str, Any] = response.json()
    assert doc["status"] == status
    assert doc["type"].startswith("urn:nanoservices:problem:")
    assert doc["title"]
    assert doc["detail"]
    return doc


def _still_serving(http: httpx.Client) -> None:
    path = _session(http, "counter", 1)
    assert http.post(path + "/call", content=b"2").json() == 3


def test_malformed_json_is_400(http: httpx.Client) -> None:
    path = _session(http, "echo")
    doc = _problem(http.post(path + "/call", content=b"{not json"), 400)
    assert doc["service"] == "echo"
    assert "not valid JSON" in doc["detail"]
    _still_serving(http)


def test_empty_body_is_400(http: httpx.Client) -> None:
    _problem(http.post(_session(http, "echo") + "/call", content=b""), 400)


def test_wrong_request_type_is_422_and_names_the_service(http: httpx.Client) -> None:
    path = _session(http, "md5")
    doc = _problem(http.post(path + "/call", content=b"42"), 422)
    assert doc["service"] == "md5"
    assert doc["error"] == "InvalidRequestError"
    assert "expected str" in doc["detail"]
    assert doc["request"] == 42
    assert http.post(path + "/call", json="hello").json() == "5d41402abc4b2a76b9719d911017c592"


def test_oversized_body_is_413(http: httpx.Client) -> None:
    path = _session(http, "echo")
    _problem(http.post(path + "/call", json="x" * 10_000), 413)
    _still_serving(http)


def test_an_oversized_request_is_named_by_its_size_not_as_none(url: str) -> None:
    from nanoservices.core.seam import UnreadRequest

    with connect(url, "echo") as h:
        with pytest.raises(InvalidRequestError) as caught:
            h("x" * 10_000)
        assert str(caught.value) == (
            "service 'echo': invalid request: a request of 10,002 bytes is larger than "
            "the 4,096 bytes this server takes"
        )
        assert caught.value.request == UnreadRequest(10_002)
        assert h(None) is None  # None is a request like any other


def test_oversized_chunked_body_is_413(http: httpx.Client) -> None:
    path = _session(http, "echo")

    def chunks() -> Iterator[bytes]:
        yield b'"'
        for _ in range(100):
            yield b"x" * 100
        yield b'"'

    doc = _problem(http.post(path + "/call", content=chunks()), 413)
    assert doc["detail"] == "the request body is larger than the 4,096 bytes this server takes"


def test_unknown_session_is_404(http: httpx.Client) -> None:
    doc = _problem(http.post("/services/echo/sessions/nope/call", content=b"1"), 404)
    assert doc["error"] == "TransportError"


def test_unknown_service_is_404(http: httpx.Client) -> None:
    _problem(http.post("/services/nope/sessions"), 404)


def test_another_clients_session_is_404(http: httpx.Client, url: str) -> None:
    path = _session(http, "counter", 5)
    with httpx.Client(base_url=url, headers={"nanoservices-client": "someone-else"}) as other:
        _problem(other.post(path + "/call", content=b"1"), 404)
        _problem(other.delete(path), 404)
    assert http.post(path + "/call", content=b"1").json() == 6  # untouched


def test_bad_factory_arguments_are_422(http: httpx.Client) -> None:
    response = http.post("/services/counter/sessions", json={"args": [1, 2, 3]})
    assert "bad factory arguments" in _problem(response, 422)["detail"]
    _problem(http.post("/services/counter/sessions", content=b"[1]"), 422)


def test_a_malformed_session_open_names_every_member_it_takes(http: httpx.Client) -> None:
    """The body that opens a session may carry args, kwargs and a key: a wrong key's
    refusal shows all three, so the reader sees what a key should be."""
    doc = _problem(http.post("/services/counter/sessions", json={"key": 5}), 422)
    assert doc["type"].endswith("bad-session-open")
    assert doc["detail"].startswith(
        'expected {"args": [...], "kwargs": {...}, "key": "..."} (each optional): '
    )
    assert doc["detail"].endswith("- at `$.key`")


def test_call_while_streaming_is_409(http: httpx.Client) -> None:
    path = _session(http, "countdown")
    with http.stream("POST", path + "/stream", content=b"1000000") as response:
        assert response.status_code == 200
        lines = response.iter_lines()  # kept: dropping it would close the connection
        assert next(lines) == '{"item":1000000}'
        doc = _problem(http.post(path + "/call", content=b"1"), 409)
        assert doc["error"] == "ServiceBusyError"
    assert http.delete(path + "/stream").status_code == 204
    assert http.post(path + "/call", content=b"-1").json() == [1000000]


def test_failure_is_500_and_closed_is_410(http: httpx.Client) -> None:
    path = _session(http, "divider", 1.0)
    doc = _problem(http.post(path + "/call", content=b"0"), 500)
    assert doc["error"] == "ServiceFailedError"
    assert doc["cause"] == "ZeroDivisionError"
    assert doc["state"] == "failed"
    assert http.delete(path).status_code == 204
    _problem(http.post(path + "/call", content=b"1"), 410)
    assert http.delete(path).status_code == 204  # closing twice is fine


def test_only_allowed_exceptions_can_be_thrown(url: str) -> None:
    with connect(url, "echo") as h:
        with pytest.raises(InvalidRequestError, match="may not be thrown"):
            h.throw(SystemExit)
        assert h(1) == 1


def test_a_call_during_your_own_stream_is_busy(url: str) -> None:
    with connect(url, "countdown") as h:
        items = h.stream(10**6)
        next(items)
        with pytest.raises(ServiceBusyError):
            h(1)
        items.cancel()
        assert list(h.stream(2)) == [2, 1]


def test_unreachable_server_is_a_transport_error() -> None:
    with pytest.raises(TransportError, match="cannot reach"):
        connect("http://127.0.0.1:9", "echo", timeout=1.0)


class _NeedsACity(Exception):
    def __init__(self, city: str) -> None:
        super().__init__(city)
        self.city = city


@pytest.mark.parametrize("args", [[], [1, 2, 3]])
def test_throw_args_the_exception_refuses_are_422_and_the_session_lives_on(
    args: list[Any],
) -> None:
    app = create_app([Served(basics.echo, throwable=(_NeedsACity,))])
    with (
        serving_app(app) as url,
        httpx.Client(
            base_url=url, headers={"nanoservices-client": "me", "content-type": "application/json"}
        ) as http,
    ):
        path = _session(http, "echo")
        doc = _problem(http.post(path + "/throw", json={"type": "_NeedsACity", "args": args}), 422)
        assert doc["service"] == "echo"
        assert doc["error"] == "InvalidRequestError"
        assert "cannot make _NeedsACity" in doc["detail"]
        assert doc["state"] == "ready"
        assert http.post(path + "/call", json="still here").json() == "still here"
