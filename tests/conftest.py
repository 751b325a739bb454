"""Settings and hooks for the whole test run."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# pgcluster.py (the throwaway PostgreSQL cluster) lives beside the services' tests,
# which import it by its own name; so do the durable tests and the benchmark.
sys.path.insert(0, str(Path(__file__).parent / "services"))
from pgcluster import PostgresCluster, find_bindir, throwaway_cluster

# The package's pytest plugin (start_service, fake_clock...): installing the
# package registers it as an entry point; naming it here also covers a checkout
# run from src/ (loaded once either way: the entry point has the module's name).
pytest_plugins = ["nanoservices.testing.plugin"]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL cluster per test process, shared by every module.

    Under pytest-xdist each worker has its own (a worker is a process), so a test
    that stops or restarts it affects only the tests of its own worker, which run
    one at a time. Tests share it through databases of unique names
    (``create_database(unique("people"))``), never through one fixed name: the
    same module may set its fixtures up twice in one worker.
    """
    pytest.importorskip("psycopg")
    if find_bindir() is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    with throwaway_cluster() as cluster:
        yield cluster


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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--ray-cluster",
        action="store_true",
        help="also run the multi-node Ray group (-m ray_cluster selects it alone)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The multi-node Ray group runs only when asked for; otherwise it shows as skipped."""
    markexpr = config.getoption("markexpr") or ""
    if config.getoption("--ray-cluster") or re.search(r"(?<!not )\bray_cluster\b", markexpr):
        return
    skip = pytest.mark.skip(
        reason="multi-node Ray group: run it with `pytest -m ray_cluster` (docs/ray.md)"
    )
    for item in items:
        if "ray_cluster" in item.keywords:
            item.add_marker(skip)
