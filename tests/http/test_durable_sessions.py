"""Durable HTTP sessions: the operator chooses the store, a client's key names its state.

A real uvicorn on 127.0.0.1 (in a thread); the server-restart and SIGKILL tests with
a server process are in ``tests/durable/test_serve_crash.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nanoservices import InvalidRequestError, ServiceBusyError
from nanoservices.durable import SQLiteStore
from nanoservices.examples.basics import counter as plain_counter
from nanoservices.http import Served, connect, running
from tests.durable.services import counter

pytestmark = pytest.mark.http

PROBLEM = "application/problem+json"


@pytest.fixture
def journal(tmp_path: Path) -> str:
    return str(tmp_path / "journal.sqlite")


@pytest.fixture
def url(journal: str) -> Iterator[str]:
    with running([Served(counter, durable=journal), Served(plain_counter, name="plain")]) as base:
        yield base


def _open(url: str, service: str, body: object) -> httpx.Response:
    return httpx.post(f"{url}/services/{service}/sessions", json=body)


def test_a_key_finds_its_state_after_the_session_closed(url: str) -> None:
    with connect(url, "counter", key="acct-1") as handle:
        assert handle.call({"type": "Add", "n": 5}) == 5
        assert list(handle.stream({"type": "Count", "upto": 2})) == [1, 2]
    with connect(url, "counter", key="acct-2") as other:
        assert other.call({"type": "Get"}) == [0, 0]  # another key, another state
    with connect(url, "counter", key="acct-1") as handle:
        assert handle.call({"type": "Get"}) == [1, 8]


def test_the_state_survives_a_server_restart(journal: str) -> None:
    with running([Served(counter, durable=journal)]) as url, connect(url, "counter", key="k") as h:
        h.call({"type": "Add", "n": 7})
    with running([Served(counter, durable=journal)]) as url, connect(url, "counter", key="k") as h:
        assert h.call({"type": "Get"}) == [1, 7]


def test_two_sessions_on_one_key_the_second_is_refused_with_a_problem(url: str) -> None:
    with connect(url, "counter", key="shared-key") as first:
        answer = _open(url, "counter", {"key": "shared-key"})
        assert answer.status_code == 409
        assert answer.headers["content-type"] == PROBLEM
        doc = answer.json()
        assert doc["type"].endswith(":key-locked")
        assert doc["key"] == "shared-key"
        with pytest.raises(ServiceBusyError, match="held by another session") as busy:
            connect(url, "counter", key="shared-key")
        assert str(busy.value).startswith(
            "service 'counter': key 'shared-key' is held by another session"
        )  # the service named once
        assert first.call({"type": "Add", "n": 1}) == 1  # the holder goes on, alone
    with connect(url, "counter", key="shared-key") as second:  # released by closing
        assert second.call({"type": "Get"}) == [1, 1]


@pytest.mark.parametrize(
    "key",
    ["", "../etc/passwd", "a/b", "a b", "x" * 129, "-starts-with-dash", "ключ", "a\x00b", 5, None],
)
def test_bad_keys_are_refused_strictly(url: str, key: object) -> None:
    answer = _open(url, "counter", {"key": key})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM
    with connect(url, "counter", key="fine_key.1:2-3") as handle:  # the server lives on
        assert handle.call({"type": "Get"}) == [0, 0]


def test_a_durable_service_needs_a_key_and_a_plain_one_takes_none(url: str) -> None:
    with pytest.raises(InvalidRequestError, match="open a session with a key"):
        connect(url, "counter")
    with pytest.raises(InvalidRequestError, match="not durable"):
        connect(url, "plain", key="k")


def test_the_client_never_chooses_the_store(url: str, journal: str) -> None:
    answer = _open(url, "counter", {"key": "k", "kwargs": {"store": "/tmp/elsewhere.sqlite"}})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM
    with SQLiteStore(journal) as store:  # a key is named inside the service's namespace
        with connect(url, "counter", key="k") as handle:
            handle.call({"type": "Add", "n": 1})
        assert [info.key for info in store.list_keys()] == ["counter/k"]


def test_listing_statistics_and_openapi_say_which_services_are_durable(url: str) -> None:
    listing = {s["name"]: s for s in httpx.get(f"{url}/services").json()}
    assert listing["counter"]["durable"] is True
    assert listing["plain"]["durable"] is False
    stats = httpx.get(f"{url}/stats").json()
    assert stats["services"]["counter"]["durable"] is True
    doc = httpx.get(f"{url}/openapi.json").json()
    body = doc["paths"]["/services/counter/sessions"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert schema["required"] == ["key"]
    assert "key" in schema["properties"]


def test_a_durable_service_is_declared_unshared_and_sync(journal: str) -> None:
    with pytest.raises(ValueError, match="shared and durable"):
        Served(counter, shared=True, durable=journal)
    with pytest.raises(TypeError, match="durable="):
        Served(counter, durable=42)


def test_statistics_sum_the_open_journals_without_naming_keys(url: str) -> None:
    with connect(url, "counter", key="stat-1") as handle:
        for n in range(3):
            handle.call({"type": "Add", "n": n})
        with connect(url, "counter", key="stat-2") as other:
            other.call({"type": "Add", "n": 1})
            doc = httpx.get(f"{url}/stats").json()
    journal = doc["services"]["counter"]["journal"]
    assert journal["entries"] == 4
    assert journal["replayed"] == 0
    assert "stat-1" not in str(doc)
    assert "journal" not in doc["services"]["plain"]


def test_an_async_service_serves_durable_sessions_too(journal: str) -> None:
    from tests.durable.aservices import acounter

    served = [Served(acounter, durable=journal)]
    with running(served) as url, connect(url, "acounter", key="a") as handle:
        handle.call({"type": "Add", "n": 4})
        assert list(handle.stream({"type": "Count", "upto": 2})) == [1, 2]
    with running(served) as url, connect(url, "acounter", key="a") as handle:
        assert handle.call({"type": "Get"}) == [1, 7]
