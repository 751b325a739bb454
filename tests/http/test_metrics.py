"""``GET /metrics``: the server's Prometheus metrics, behind its token, on a real uvicorn.

Each test reads the exposition before and after what it does, and asserts the
difference: the module's one server is shared by the tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from nanoservices import ServiceFailedError
from nanoservices.examples.basics import keeper, leaky, patient
from nanoservices.http import Served, connect, running
from tests.durable.services import counter

pytestmark = pytest.mark.http

TOKEN = "metrics-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    journal = tmp_path_factory.mktemp("metrics") / "journal.sqlite"
    services = [
        Served(keeper),
        Served(patient),
        Served(counter, durable=str(journal)),
        Served(leaky, offload=False),  # inline: its items and error frame go out together
    ]
    with running(services, tokens=[TOKEN]) as base:
        yield base


def scrape(url: str) -> tuple[str, Samples]:
    answer = httpx.get(f"{url}/metrics", headers=AUTH)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for s in family.samples:
            samples[s.name, frozenset(s.labels.items())] = s.value
    return answer.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_are_refused_without_the_token(url: str) -> None:
    for headers in ({}, {"authorization": "Bearer wrong"}):
        answer = httpx.get(f"{url}/metrics", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert "nanoservices_requests" not in answer.text


def test_calls_are_counted_by_outcome_and_timed(url: str) -> None:
    _, before = scrape(url)
    with connect(url, "keeper", token=TOKEN) as handle:
        for request in ("a", "b", "c"):
            handle.call(request)
        with pytest.raises(ServiceFailedError):
            handle.call("boom")
    _, after = scrape(url)
    labels = {"service": "keeper", "transport": "http"}

    def grew(name: str, **extra: str) -> float:
        return value(after, name, **labels, **extra) - value(before, name, **labels, **extra)

    assert grew("nanoservices_requests_total", outcome="ok") == 3
    assert grew("nanoservices_requests_total", outcome="failed") == 1
    assert grew("nanoservices_request_duration_seconds_count") == 4
    assert grew("nanoservices_request_duration_seconds_sum") > 0
    assert grew("nanoservices_sessions_opened_total") == 1


def test_a_refused_request_is_counted_apart_from_a_failure(url: str) -> None:
    _, before = scrape(url)
    opened = httpx.post(f"{url}/services/keeper/sessions", json={}, headers=AUTH)
    session = f"{url}/services/keeper/sessions/{opened.json()['session']}"
    answer = httpx.post(
        f"{session}/call",
        content=b"{not json",
        headers={**AUTH, "content-type": "application/json"},
    )
    assert answer.status_code == 400
    httpx.delete(session, headers=AUTH)
    _, after = scrape(url)
    ok = {"service": "keeper", "transport": "http", "outcome": "refused"}
    refused = value(after, "nanoservices_requests_total", **ok)
    assert refused - value(before, "nanoservices_requests_total", **ok) == 1


def test_sessions_and_streams_open_are_read_at_the_scrape(url: str) -> None:
    labels = {"service": "patient", "transport": "http"}
    with connect(url, "patient", token=TOKEN) as first, connect(url, "patient", token=TOKEN):
        ticks = first.stream(["ticks", None])
        assert next(iter(ticks)) == 0
        _, during = scrape(url)
        assert value(during, "nanoservices_sessions_open", **labels) == 2
        assert value(during, "nanoservices_streams_open", **labels) == 1
        ticks.close()
    _, after = scrape(url)
    assert value(after, "nanoservices_sessions_open", **labels) == 0
    assert value(after, "nanoservices_streams_open", **labels) == 0
    assert value(after, "nanoservices_stream_items_total", **labels) >= 1


def test_a_stream_is_one_request_timed_to_its_end(url: str) -> None:
    labels = {"service": "keeper", "transport": "http"}
    _, before = scrape(url)
    with connect(url, "keeper", token=TOKEN) as handle:
        assert list(handle.stream(3)) == [3, 2, 1]
    _, after = scrape(url)
    ok = value(after, "nanoservices_requests_total", **labels, outcome="ok")
    assert ok - value(before, "nanoservices_requests_total", **labels, outcome="ok") == 1
    items = value(after, "nanoservices_stream_items_total", **labels)
    assert items - value(before, "nanoservices_stream_items_total", **labels) == 3


def test_a_stream_that_fails_after_its_items_is_counted_failed(url: str) -> None:
    _, before = scrape(url)
    with connect(url, "leaky", token=TOKEN) as handle:
        items = handle.stream(3)
        assert [next(items) for _ in range(3)] == [0, 1, 2]
        with pytest.raises(ServiceFailedError):
            next(items)
    _, after = scrape(url)
    labels = {"service": "leaky", "transport": "http"}
    failed = value(after, "nanoservices_requests_total", **labels, outcome="failed")
    assert failed - value(before, "nanoservices_requests_total", **labels, outcome="failed") == 1


def test_replayed_entries_are_counted_apart_from_live_ones(url: str) -> None:
    service = {"service": "counter"}
    labels = {**service, "transport": "http"}
    _, before = scrape(url)
    with connect(url, "counter", token=TOKEN, key="replay-me") as handle:
        for n in (1, 2, 3):
            handle.call({"type": "Add", "n": n})
    with connect(url, "counter", token=TOKEN, key="replay-me") as handle:
        assert handle.call({"type": "Add", "n": 0}) == 6  # the state came back
    text, after = scrape(url)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("nanoservices_journal_entries_appended_total", **service) == 4
    assert grew("nanoservices_journal_entries_replayed_total", **service) == 3
    assert grew("nanoservices_requests_total", **labels, outcome="ok") == 4  # not 7
    assert grew("nanoservices_journal_append_duration_seconds_count", **service) == 4
    assert grew("nanoservices_journal_replay_duration_seconds_count", **service) == 2
    assert "replay-me" not in text


def test_labels_never_name_a_session_a_key_or_a_request(url: str) -> None:
    with connect(url, "keeper", token=TOKEN) as handle:
        handle.call("a-request-text")
        session = handle._wire.path.rsplit("/", 1)[1]
        text, samples = scrape(url)
    assert session not in text
    assert "a-request-text" not in text
    names = {name for (_, labels) in samples for name, _ in labels}
    assert names <= {"service", "transport", "outcome", "le"}


def test_an_unknown_service_in_the_path_adds_no_series(url: str) -> None:
    httpx.post(f"{url}/services/made-up-by-a-client/sessions/x/call", json=1, headers=AUTH)
    text, _ = scrape(url)
    assert "made-up-by-a-client" not in text


def test_metrics_off_serve_no_route(tmp_path: Path) -> None:
    with running([Served(keeper)], metrics=False) as base:
        assert httpx.get(f"{base}/metrics").status_code == 404
        assert "/metrics" not in httpx.get(f"{base}/openapi.json").json()["paths"]
    with running([Served(keeper)]) as base:
        assert "/metrics" in httpx.get(f"{base}/openapi.json").json()["paths"]
