"""The dashboard over plain HTTP: refused without the token, escaped, redacted, grouped,
updated by server-sent events (the browser's view is tests/browser)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import httpx
import pytest

from nanoservices import ServiceFailedError
from nanoservices.examples.basics import echo
from nanoservices.http import Served, connect, create_app, running
from tests.http import _dashboard_services
from tests.http._dashboard_services import cart, vault

pytestmark = pytest.mark.http

TOKEN = "dash-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}
HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    services = [Served(echo), Served(vault), Served(cart)]
    with running(services, tokens=[TOKEN], dashboard=True, dashboard_tick=0.05) as base:
        yield base


def page(url: str, path: str) -> httpx.Response:
    return httpx.get(f"{url}/dashboard{path}", headers=AUTH)


def ref_of(url: str, service: str) -> str:
    text = page(url, f"/services/{service}").text
    return text.split(f"/dashboard/services/{service}/sessions/")[1][:8]


def line_of(marker: str) -> int:
    source = inspect.getsource(_dashboard_services).splitlines()
    return next(n for n, line in enumerate(source, 1) if f"# {marker}" in line)


@pytest.mark.parametrize(
    "path", ["/", "/services/echo", "/services/echo/sessions/abcdefgh", "/events"]
)
def test_every_page_is_refused_without_the_token(url: str, path: str) -> None:
    for headers in ({}, {"authorization": "Bearer wrong"}, {"cookie": "nanoservices_dashboard=00"}):
        answer = httpx.get(f"{url}/dashboard{path}", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
    browser = httpx.get(f"{url}/dashboard{path}", headers=HTML)
    assert browser.status_code == 401
    assert 'name="token"' in browser.text  # a browser is asked to sign in
    assert "echo" not in browser.text


def test_a_browser_signs_in_with_a_form_and_keeps_a_sealed_cookie(url: str) -> None:
    with httpx.Client(base_url=url) as browser:
        wrong = browser.post("/dashboard/login", data={"token": "nope"})
        assert wrong.status_code == 401
        signed = browser.post("/dashboard/login", data={"token": TOKEN})
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"]
        assert TOKEN not in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert browser.get("/dashboard/").status_code == 200


def test_a_sign_in_posted_by_another_site_is_refused(url: str) -> None:
    answer = httpx.post(
        f"{url}/dashboard/login", data={"token": TOKEN}, headers={"origin": "https://evil.test"}
    )
    assert answer.status_code == 403
    assert "set-cookie" not in answer.headers


def test_pages_load_nothing_from_elsewhere(url: str) -> None:
    answer = page(url, "/")
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "http" not in answer.text.split("<main>")[0]  # head: no absolute URL
    for asset in ("htmx.min.js", "htmx-ext-sse.js", "dashboard.css"):
        assert httpx.get(f"{url}/dashboard/static/{asset}").status_code == 200


def test_the_overview_counts_sessions_by_state(url: str) -> None:
    with connect(url, "cart", token=TOKEN) as one, connect(url, "cart", token=TOKEN) as two:
        one.call("apple")
        with pytest.raises(ServiceFailedError):
            two.call("boom")
        text = page(url, "/").text
    row = text.split('data-service="cart"')[1].split("</tr>")[0]
    assert "ready 1" in row
    assert "failed 1" in row


def test_a_service_page_groups_its_sessions_by_where_they_wait(url: str) -> None:
    handles = [connect(url, "cart", token=TOKEN) for _ in range(3)]
    try:
        for handle in handles:
            handle.call("pear")
        handles[0].call("checkout")
        handles[1].call("checkout")
        text = page(url, "/services/cart").text
    finally:
        for handle in handles:
            handle.close()
    checkout = f"_dashboard_services.py:{line_of('CHECKOUT')}"
    filling = f"_dashboard_services.py:{line_of('FILLING')}"
    assert f"<strong>2</strong> sessions parked at <code>{checkout}</code>" in text
    assert f"<strong>1</strong> session parked at <code>{filling}</code>" in text


def test_a_request_with_markup_is_shown_escaped(url: str) -> None:
    with connect(url, "echo", token=TOKEN) as handle:
        handle.call("<script>alert('x')</script>")
        text = page(url, f"/services/echo/sessions/{ref_of(url, 'echo')}").text
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(" in text


def test_a_secret_local_never_appears(url: str) -> None:
    with connect(url, "vault", token=TOKEN) as handle:
        handle.call("hello")
        text = page(url, f"/services/vault/sessions/{ref_of(url, 'vault')}").text
        updates = events(url, f"view=session&name=vault&ref={ref_of(url, 'vault')}")
    for shown in (text, updates):
        assert "password" in shown  # the name is shown...
        assert "hunter2" not in shown  # ...never the value
        assert "tok-never-shown" not in shown


def test_a_failure_is_shown_with_its_location(url: str) -> None:
    with connect(url, "cart", token=TOKEN) as handle:
        with pytest.raises(ServiceFailedError):
            handle.call("boom")
        text = page(url, f"/services/cart/sessions/{ref_of(url, 'cart')}").text
    failure = text.split("Last failure")[1]
    assert "ValueError" in failure
    assert "the cart broke" in failure
    assert "_dashboard_services.py" in failure


def events(url: str, query: str) -> str:
    """The first update of a page's event stream."""
    with httpx.stream("GET", f"{url}/dashboard/events?{query}", headers=AUTH) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines: list[str] = []
        for line in stream.iter_lines():
            lines.append(line)
            if line == "" and any(x.startswith("event: update") for x in lines):
                return "\n".join(lines)
    raise AssertionError("the stream ended before an update")


def test_updates_come_as_server_sent_events(url: str) -> None:
    with connect(url, "echo", token=TOKEN) as handle:
        handle.call(1)
        update = events(url, "view=overview")
    assert 'data: <tr data-service="echo">' in update


def test_the_dashboard_is_off_by_default() -> None:
    with running([Served(echo)]) as base:
        assert httpx.get(f"{base}/dashboard/").status_code == 404


def test_the_dashboard_needs_the_metrics() -> None:
    with pytest.raises(ValueError, match="metrics"):
        create_app([Served(echo)], dashboard=True, metrics=False)
