"""Settings and hooks for the whole test run."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# pgcluster.py (the throwaway PostgreSQL cluster) lives beside the services' tests,
# which import it by its own name; so do the durable tests and the benchmark.
sys.path.insert(0, str(Path(__file__).parent / "services"))
from pgcluster import PostgresCluster, find_bindir, throwaway_cluster

if TYPE_CHECKING:
    from nanoservices._bench import BenchResult

ROOT = Path(__file__).resolve().parents[1]

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


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``mkdocs build --strict`` into a temporary folder, once per test process.

    tests/test_site.py checks that it builds and reads what it built; its tests
    are the xdist group ``site``, so a parallel run builds it once.
    """
    out = tmp_path_factory.mktemp("site")
    mkdocs = shutil.which("mkdocs")
    command = [mkdocs] if mkdocs else [sys.executable, "-m", "mkdocs"]
    done = subprocess.run(
        [*command, "build", "--strict", "--quiet", "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.fixture(scope="session")
def tiny_bench() -> BenchResult:
    """One run of the benchmark at tiny counts (``tests.test_bench.TINY``), once per test
    process, for the benchmark's smoke tests (the xdist group ``bench``)."""
    from nanoservices._bench import run_suite
    from tests.test_bench import TINY

    steps: list[tuple[str, int, int]] = []
    done = run_suite(TINY, lambda what, step, total: steps.append((what, step, total)))
    assert steps[-1][1] == steps[-1][2]  # the progress reaches its total
    return done


def _is_the_docs_ray_page(item: pytest.Item) -> bool:
    """tests/test_docs.py's run of docs/ray.md, by its ``doc_page`` parameter (not by its id:
    another plugin may add a parameter of its own to the id, as pytest-playwright does)."""
    callspec = getattr(item, "callspec", None)
    page = callspec.params.get("doc_page") if callspec is not None else None
    return isinstance(page, Path) and page.name == "ray.md" and page.parent.name == "docs"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """The docs' Ray page joins the suite's local Ray, which stays on loopback.

    (Its own ``ray.init()`` would put Ray on the machine's outward address.)
    """
    if _is_the_docs_ray_page(item):
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


#: The xdist group of every test that uses the local Ray: a parallel run
#: (``pytest -n N --dist loadgroup``, as scripts/check runs it) gives them all to
#: one worker, so the run starts one Ray, not one per worker (each is several
#: processes and seconds of CPU on a small machine).
RAY_GROUP = "ray"


def _uses_local_ray(item: pytest.Item) -> bool:
    """Marked ``ray`` (or the docs' Ray page), and not a run of pytest inside the test
    (``pytester``), which starts a Ray of its own in its own process."""
    if "pytester" in getattr(item, "fixturenames", ()):
        return False
    return "ray" in item.keywords or _is_the_docs_ray_page(item)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups off the items
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The Ray tests share one xdist worker; the multi-node Ray group runs only when
    asked for (otherwise it shows as skipped)."""
    if config.pluginmanager.hasplugin("xdist"):
        group = pytest.mark.xdist_group(RAY_GROUP)
        for item in items:
            if _uses_local_ray(item):
                item.add_marker(group)
    markexpr = config.getoption("markexpr") or ""
    if config.getoption("--ray-cluster") or re.search(r"(?<!not )\bray_cluster\b", markexpr):
        return
    skip = pytest.mark.skip(
        reason="multi-node Ray group: run it with `pytest -m ray_cluster` (docs/ray.md)"
    )
    for item in items:
        if "ray_cluster" in item.keywords:
            item.add_marker(skip)
