"""Settings and hooks for the whole test run."""

from __future__ import annotations

import sys

import pytest


def pytest_runtest_setup(item: pytest.Item) -> None:
    """The docs' Ray page joins the suite's local Ray, which stays on loopback.

    (Its own ``ray.init()`` would put Ray on the machine's outward address.)
    """
    if item.name.endswith("[ray.md]"):
        from tests.ray.cluster import ensure_local_ray

        ensure_local_ray()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Shut down the local Ray if the run started one (the module is loaded only then)."""
    cluster = sys.modules.get("tests.ray.cluster")
    if cluster is not None:
        cluster.shutdown_local_ray()
