"""The dashboard as a person sees it, in chromium: one server for the module.

Waits are on the page's own events (an element's text changing as a server-sent
event arrives), never on sleeps. The screenshots of docs/operating.md are taken
here: set ``NANOSERVICES_SCREENSHOTS`` to a folder (docs/images) to keep them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Error, Page, expect

from nanoservices import ServiceFailedError
from nanoservices.examples.basics import echo
from nanoservices.http import RemoteHandle, Served, connect, running
from tests.http._dashboard_services import cart, vault

pytestmark = [pytest.mark.browser, pytest.mark.http, pytest.mark.xdist_group("browser")]

TOKEN = "browser-token"
MARKUP = "<script>window.pwned = 1</script><b id=injected>bold</b>"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    services = [Served(echo), Served(vault), Served(cart)]
    with running(services, tokens=[TOKEN], dashboard=True, dashboard_tick=0.1) as base:
        yield base


@pytest.fixture(scope="module")
def sessions(url: str) -> Iterator[dict[str, RemoteHandle[object, object]]]:
    """Sessions for the pages to show: a cart filling, two at checkout, one failed, a
    vault with secrets in its locals, an echo that was sent markup."""
    handles = {
        "filling": connect(url, "cart", token=TOKEN),
        "checkout-1": connect(url, "cart", token=TOKEN),
        "checkout-2": connect(url, "cart", token=TOKEN),
        "failed": connect(url, "cart", token=TOKEN),
        "vault": connect(url, "vault", token=TOKEN),
        "echo": connect(url, "echo", token=TOKEN),
    }
    for name in ("filling", "checkout-1", "checkout-2", "failed"):
        handles[name].call("apple")
    handles["checkout-1"].call("checkout")
    handles["checkout-2"].call("checkout")
    with pytest.raises(ServiceFailedError):
        handles["failed"].call("boom")
    handles["vault"].call("hello")
    handles["echo"].call(MARKUP)
    yield handles
    for handle in handles.values():
        handle.close()


@pytest.fixture
def errors(page: Page) -> list[str]:
    """The page's console errors and uncaught exceptions (a blocked load is one)."""
    seen: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.append(message.text)

    def thrown(error: Error) -> None:
        seen.append(str(error))

    page.on("console", console)
    page.on("pageerror", thrown)
    return seen


def sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}/dashboard/")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Services")


def signed_in(page: Page, url: str, errors: list[str]) -> None:
    """Signed in; the sign-in page's own 401 (logged by the browser) forgotten."""
    sign_in(page, url)
    errors.clear()


def session_ref(page: Page, url: str, service: str, where: str = "") -> str:
    page.goto(f"{url}/dashboard/services/{service}")
    row = page.locator("tbody tr", has_text=where).first
    return row.locator("td code").first.inner_text()


def wait_for_update(page: Page, selector: str) -> None:
    """Until the next server-sent event has replaced ``selector``'s content."""
    page.evaluate(f"document.querySelector({selector!r}).firstElementChild.dataset.stale = '1'")
    expect(page.locator(f"{selector} > [data-stale]")).to_have_count(0)


def screenshot(page: Page, name: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("NANOSERVICES_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"dashboard-{name}.png"), full_page=True)


def test_no_token_is_refused(page: Page, url: str) -> None:
    answer = page.goto(f"{url}/dashboard/")
    assert answer is not None
    assert answer.status == 401
    expect(page.locator("#token")).to_be_visible()
    expect(page.locator("table")).to_have_count(0)
    page.fill("#token", "not-the-token")
    page.click("button[type=submit]")
    expect(page.locator(".failure")).to_contain_text("not one of the server's")
    assert page.goto(f"{url}/dashboard/services/echo") is not None
    expect(page.locator("#sessions")).to_have_count(0)


def test_pages_load_with_no_console_error(
    page: Page,
    url: str,
    sessions: dict[str, RemoteHandle[object, object]],
    errors: list[str],
    tmp_path: Path,
) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    signed_in(page, url, errors)
    wait_for_update(page, "#services")
    screenshot(page, "overview", tmp_path)
    # Followed in one step inside the page: a live update may replace the link
    # between a mouse press and its release, which would lose a simulated click.
    page.evaluate("document.querySelector(\"a[href='/dashboard/services/cart']\").click()")
    expect(page.locator("h1")).to_have_text("cart")
    wait_for_update(page, "#sessions")
    screenshot(page, "service", tmp_path)
    page.goto(f"{url}/dashboard/services/cart/sessions/{session_ref(page, url, 'cart', 'failed')}")
    wait_for_update(page, "#session")
    expect(page.locator(".failure")).to_contain_text("the cart broke")
    screenshot(page, "session-failed", tmp_path)
    checkout = session_ref(page, url, "cart", "_dashboard_services.py")
    page.goto(f"{url}/dashboard/services/cart/sessions/{checkout}")
    wait_for_update(page, "#session")
    expect(page.locator(".locals").first).to_contain_text("items")
    screenshot(page, "session", tmp_path)
    assert errors == []


def test_a_call_by_another_client_shows_up_without_a_reload(
    page: Page, url: str, sessions: dict[str, RemoteHandle[object, object]], errors: list[str]
) -> None:
    signed_in(page, url, errors)
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads
    opened = page.locator("tr[data-service='echo'] [data-field='sessions']")
    expect(opened).to_have_text("1")
    with connect(url, "echo", token=TOKEN) as other:
        other.call("from another client")
        expect(opened).to_have_text("2")
    expect(opened).to_have_text("1")
    assert page.evaluate("window.loadedOnce") is True
    assert errors == []


def test_a_request_with_markup_is_shown_escaped(
    page: Page, url: str, sessions: dict[str, RemoteHandle[object, object]], errors: list[str]
) -> None:
    signed_in(page, url, errors)
    page.goto(f"{url}/dashboard/services/echo/sessions/{session_ref(page, url, 'echo')}")
    expect(page.locator(".locals")).to_contain_text(MARKUP)  # shown as text
    wait_for_update(page, "#session")  # and again after a live update
    expect(page.locator(".locals")).to_contain_text(MARKUP)
    expect(page.locator("#injected")).to_have_count(0)
    assert page.evaluate("window.pwned") is None
    assert errors == []


def test_a_secret_local_never_appears(
    page: Page, url: str, sessions: dict[str, RemoteHandle[object, object]]
) -> None:
    sign_in(page, url)
    page.goto(f"{url}/dashboard/services/vault/sessions/{session_ref(page, url, 'vault')}")
    wait_for_update(page, "#session")
    expect(page.locator(".locals").first).to_contain_text("password")
    text = page.content()
    assert "hunter2" not in text
    assert "tok-never-shown" not in text


@pytest.mark.parametrize("width", [400, 1280])
def test_nothing_overflows(
    page: Page,
    url: str,
    sessions: dict[str, RemoteHandle[object, object]],
    width: int,
    tmp_path: Path,
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, url)
    cart_ref = session_ref(page, url, "cart", "failed")
    echo_ref = session_ref(page, url, "echo")
    for path in (
        "/",
        "/services/cart",
        f"/services/cart/sessions/{cart_ref}",
        f"/services/echo/sessions/{echo_ref}",
    ):
        page.goto(f"{url}/dashboard{path}")
        page.wait_for_load_state()
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} is {overflow}px wider than a {width}px window"
    if width == 400:
        page.goto(f"{url}/dashboard/")
        screenshot(page, "narrow", tmp_path)
