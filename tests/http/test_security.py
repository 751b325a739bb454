"""`nanoservices serve` in front of strangers (issue 13), each item over a real server.

1 the operator chooses configuration; 2 a shared service is isolated between
clients; 3 every error is a problem document; 4 client mistakes are 4xx; 5 the
wire is as strict as in process; 6 per-client quota and slow clients; 7 JSON
bodies say so (415); 9 shutdown ends open streams with an error frame.
(8, the OpenAPI document and schemathesis, is in test_openapi.py.)
"""

from __future__ import annotations

import socket
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import msgspec
import pytest

from nanoservices import InvalidRequestError, ServiceBusyError, TransportError, service
from nanoservices.examples import basics
from nanoservices.http import Served, connect, create_app
from nanoservices.http._run import serving_app
from nanoservices.services.hashing import hasher
from nanoservices.services.people import create_demo_database, people

pytestmark = pytest.mark.http

PROBLEM = "application/problem+json"
JSON = {"content-type": "application/json", "nanoservices-client": "me"}


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    doc: dict[str, Any] = response.json()
    assert doc["status"] == status
    return doc


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("people") / "people.sqlite3"
    create_demo_database(path, count=20)
    return path


@pytest.fixture(scope="module")
def url(db: Path) -> Iterator[str]:
    services = [
        Served(people, args=(str(db),)),
        Served(basics.counter, options={"start": Annotated[int, msgspec.Meta(ge=0, le=1000)]}),
        Served(hasher, options={"encoding": str, "algorithm": str}),
        Served(basics.countdown),
        Served(basics.echo),
        Served(basics.countdown, name="shared-countdown", shared=True),
        Served(basics.counter, name="shared-counter", shared=True),
        Served(
            basics.counter,
            name="shared-throwable",
            shared=True,
            shared_operations=frozenset({"reset", "throw"}),
        ),
    ]
    with serving_app(create_app(services, max_sessions_per_client=40)) as base:
        yield base


@pytest.fixture
def http(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, headers=JSON) as client:
        yield client


# -- 1: the operator chooses configuration ---------------------------------------


def test_a_client_cannot_choose_a_file_for_people(http: httpx.Client) -> None:
    doc = _problem(http.post("/services/people/sessions", json={"args": ["/etc/passwd"]}), 422)
    assert doc["error"] == "InvalidRequestError"
    assert "operator" in doc["detail"]
    doc = _problem(
        http.post("/services/people/sessions", json={"kwargs": {"dsn_or_path": "/etc/passwd"}}),
        422,
    )
    assert "dsn_or_path" in doc["detail"]


def test_the_operators_configuration_is_used(url: str) -> None:
    with connect(url, "people") as h:
        assert len(list(h.stream({"id": {"<": 4}}))) == 3


def test_a_client_sets_only_declared_options_validated_with_bounds(url: str) -> None:
    with connect(url, "counter", kwargs={"start": 7}) as h:
        assert h.greeting == 7
    for bad in (-1, 1001, "7", 7.0, True):
        with pytest.raises(InvalidRequestError, match="start"):
            connect(url, "counter", kwargs={"start": bad})
    with pytest.raises(InvalidRequestError, match="may not be set"):
        connect(url, "counter", kwargs={"other": 1})
    with pytest.raises(InvalidRequestError, match="operator"):
        connect(url, "counter", 7)


def test_a_place_is_client_settable_only_when_the_operator_names_it() -> None:
    with pytest.raises(ValueError, match="locations"):
        Served(people, options={"dsn_or_path": str})
    Served(people, options={"dsn_or_path": str}, locations=frozenset({"dsn_or_path"}))


# -- 2: a shared service is isolated ----------------------------------------------


def test_another_clients_reset_does_not_end_my_stream(url: str) -> None:
    with connect(url, "shared-countdown") as a, connect(url, "shared-countdown") as b:
        items = a.stream(50)
        assert next(items) == 50
        with pytest.raises(ServiceBusyError, match="another client"):
            b.reset()
        assert list(items) == list(range(49, 0, -1))  # every item, then a normal end
        b.reset()  # the stream is over: now it may


def test_throw_into_a_shared_service_is_off_unless_the_operator_allows_it(url: str) -> None:
    with connect(url, "shared-counter") as h:
        with pytest.raises(InvalidRequestError, match="not allowed"):
            h.throw(ValueError("boom"))
        with pytest.raises(InvalidRequestError, match="not allowed"):
            h.restart()
        assert h(1) >= 1  # nothing was broken for the others
    with connect(url, "shared-throwable") as h:
        with pytest.raises(Exception, match="boom"):
            h.throw(ValueError("boom"))
        h.reset()


# -- 3: every error is a problem document -----------------------------------------


def test_deep_json_is_a_400_problem_everywhere(http: httpx.Client) -> None:
    deep = b"[" * 5000 + b"]" * 5000
    _problem(http.post("/services/echo/sessions", content=b'{"args":' + deep + b"}"), 400)
    path = "/services/echo/sessions/" + http.post("/services/echo/sessions").json()["session"]
    _problem(http.post(path + "/call", content=deep), 400)
    _problem(http.post(path + "/stream", content=deep), 400)
    thrown = http.post(path + "/throw", content=b'{"type":"ValueError","args":' + deep + b"}")
    assert thrown.status_code in (400, 422)
    assert thrown.headers["content-type"] == PROBLEM
    assert http.post(path + "/call", content=b"1").json() == 1  # the session lives on


def test_openapi_with_people_served_is_a_document(http: httpx.Client) -> None:
    response = http.get("/openapi.json")
    assert response.status_code == 200, response.text
    assert "/services/people/sessions/{session}/stream" in response.json()["paths"]


@service
def power() -> Generator[int | None, int, None]:
    """Replies ``10 ** request``: past 4,300 digits the reply has no JSON form."""
    reply = None
    while True:
        reply = 10 ** (yield reply)


def test_a_reply_with_no_json_form_fails_that_request_only() -> None:
    with serving_app(create_app({"power": power})) as base, connect(base, "power") as h:
        assert h(2) == 100
        response = httpx.post(h._wire.path + "/call", content=b"5000", headers=h._wire.headers)
        doc = _problem(response, 500)
        assert doc["type"].endswith("reply-not-json")
        assert "4300" in doc["detail"] or "digits" in doc["detail"]
        assert h(3) == 1000  # the session goes on: no reset needed


def test_a_non_ascii_client_header_is_a_404_problem_for_live_and_unknown_ids(url: str) -> None:
    with connect(url, "echo") as h:
        live = h._wire.path
    with connect(url, "echo") as h:
        live = h._wire.path
        unknown = live.rsplit("/", 1)[0] + "/" + "x" * 32
        header = {"nanoservices-client": "é-ü".encode()}
        answers = [
            httpx.post(p + "/call", content=b"1", headers=JSON | header) for p in (live, unknown)
        ]
        for response in answers:
            doc = _problem(response, 404)
            assert doc["type"].endswith("unknown-session")
        assert answers[0].json() == answers[1].json()
        assert h(2) == 2


def test_unknown_routes_and_methods_are_problems(http: httpx.Client) -> None:
    _problem(http.get("/nowhere"), 404)
    response = http.put("/services/echo/sessions")
    doc = _problem(response, 405)
    assert "POST" in response.headers["allow"]
    assert doc["error"] == "TransportError"


# -- 4: client mistakes are 4xx ----------------------------------------------------


def test_a_configuration_the_service_rejects_is_refused_at_open(url: str) -> None:
    with pytest.raises(InvalidRequestError, match="refused this configuration"):
        connect(url, "hasher", kwargs={"encoding": "rot13"})
    with connect(url, "hasher", kwargs={"algorithm": "sha256"}) as h:
        assert len(h("x")) == 64


# -- 5: as strict as in process ----------------------------------------------------


@pytest.mark.parametrize("body", [b'"5"', b"5.0", b'"1e3"', b"true"])
def test_an_int_service_refuses_what_the_local_handle_refuses(
    http: httpx.Client, body: bytes
) -> None:
    opened = http.post("/services/counter/sessions").json()
    path = "/services/counter/sessions/" + opened["session"]
    doc = _problem(http.post(path + "/call", content=body), 422)
    assert doc["error"] == "InvalidRequestError"
    with pytest.raises(InvalidRequestError):
        basics.counter()(msgspec.json.decode(body))
    assert http.post(path + "/call", content=b"5").json() == 5


# -- 6: per-client quota; slow clients ---------------------------------------------


def test_one_client_cannot_take_every_session(db: Path) -> None:
    app = create_app({"echo": basics.echo}, max_sessions_per_client=3)
    with serving_app(app) as base, httpx.Client(base_url=base, headers=JSON) as client:
        for _ in range(3):
            assert client.post("/services/echo/sessions").status_code == 201
        doc = _problem(client.post("/services/echo/sessions"), 429)
        assert doc["type"].endswith("client-quota")


def test_a_client_trickling_headers_is_disconnected() -> None:
    from nanoservices.http import _run

    with serving_app(create_app({"echo": basics.echo})) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # never the blank line
            assert sock.recv(100) == b""  # the server closes it after its header timeout
    assert _run.HEADER_TIMEOUT <= 30


# -- 7: 415 -----------------------------------------------------------------------


def test_a_json_body_must_say_so(http: httpx.Client) -> None:
    path = "/services/echo/sessions/" + http.post("/services/echo/sessions").json()["session"]
    for ctype in ("text/plain", "application/x-www-form-urlencoded", ""):
        headers = {"content-type": ctype} if ctype else {}
        response = httpx.post(
            str(http.base_url) + path + "/call", content=b"1",
            headers={"nanoservices-client": "me", **headers},
        )  # fmt: skip
        doc = _problem(response, 415)
        assert doc["error"] == "InvalidRequestError"
    assert (
        http.post(
            path + "/call",
            content=b"1",
            headers={"content-type": "application/json; charset=utf-8"},
        ).json()
        == 1
    )


# -- 9: shutdown ends open streams with an error ------------------------------------
# (a page being sent gets an error frame: tests/http/test_stream_pull.py)


def test_a_stream_between_pages_at_shutdown_finds_no_server() -> None:
    with serving_app(create_app({"countdown": basics.countdown})) as base:
        h = connect(base, "countdown")
        items = h.stream(10**9)
        assert next(items) == 10**9
    with pytest.raises(TransportError, match="cannot reach the server"):
        for _ in items:
            pass
    h.close()


def test_json_depth_is_judged_outside_strings() -> None:
    from nanoservices.http._decoding import json_depth_over

    assert not json_depth_over(b"[" * 10 + b"]" * 10, 10)
    assert json_depth_over(b"[" * 11 + b"]" * 11, 10)
    assert not json_depth_over(b'["' + b"[" * 50 + b'"]', 10)  # brackets in a string
    assert not json_depth_over(b'["\\"' + b"{" * 50 + b'"]', 10)  # after an escaped quote
    assert not json_depth_over(b"[1]" * 50, 10)  # many brackets, shallow
