"""The dashboard in a real browser: Debian's chromium driven by pytest-playwright.

No browser is downloaded: the system's ``chromium`` is used (``apt-get install
chromium``; ``.ci/run`` installs it when missing), or the one named by
``NANOSERVICES_CHROMIUM``. Without one, the group is skipped and says why.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest


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
