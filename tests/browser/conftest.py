"""The dashboard in a real browser: Debian's chromium driven by pytest-playwright.

No browser is downloaded: the system's ``chromium`` is used (``apt-get install
chromium``; ``.ci/run`` installs it when missing), or the one named by
``NANOSERVICES_CHROMIUM``. Without one, the group is skipped and says why.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserType, Playwright, sync_playwright


def chromium_path() -> str | None:
    """The system's chromium, if there is one."""
    named = os.environ.get("NANOSERVICES_CHROMIUM")
    if named:
        return named
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if chromium_path() is not None:
        return
    skip = pytest.mark.skip(reason="no chromium: apt-get install chromium (the browser group)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch the system's chromium (playwright's own browsers are never downloaded)."""
    return {
        **browser_type_launch_args,
        "executable_path": chromium_path(),
        "args": ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    }


# Playwright's sync API keeps an event loop running in the test's thread while it
# is started: pytest-playwright starts it for the whole session, which would stop
# every later test in that process from running its own loop (asyncio.run). Here
# it lives for one module: started, a browser launched, both gone at its end.


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="module")
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    browser: BrowserType = getattr(playwright, browser_name)
    return browser


@pytest.fixture(scope="module")
def browser(
    browser_type: BrowserType, browser_type_launch_args: dict[str, Any]
) -> Iterator[Browser]:
    launched = browser_type.launch(**browser_type_launch_args)
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def browser_context_args() -> dict[str, Any]:
    """A plain desktop context (pytest-playwright's asks the session's playwright)."""
    return {}
