"""The plugin works in a fresh project that installs the package from this clone.

A tiny project (a service module and test files, no conftest) in a temporary
folder; a fresh virtual environment with the package installed into it from
this clone (``pip install --no-deps --no-build-isolation --no-index``: offline,
and fast); pytest run in it. Its dependencies (pytest, httpx...) come from the
running environment's site-packages through a ``.pth`` file: ``venv
--system-site-packages`` would give the base interpreter's, not this
environment's. Only the entry point can have loaded the fixtures: nothing else
names the plugin.
"""

from __future__ import annotations

import importlib.util
import os
import site
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

# one worker of a parallel run: the fresh project and its venv are made once
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fresh-project")]

ROOT = Path(__file__).resolve().parents[2]

PYPROJECT = """[tool.pytest.ini_options]
addopts = "-ra -p no:cacheprovider"
"""

SERVICE = """
from collections.abc import Generator

from nanoservices import service


@service
def tally(start: int = 0) -> Generator[int, int, None]:
    total = start
    while True:
        step = yield total
        if step < 0:
            raise ValueError("a tally only goes up")
        total += step
"""

GOOD = """
from nanoservices.observe import EventKind
from tally_service import tally


def test_tally(start_service, service_events):
    h = start_service(tally, 10)
    assert h(5) == 15
    assert service_events.values(EventKind.REPLY) == [15]


def test_tally_graduates(start_on_transport):
    h = start_on_transport(tally, 1)
    assert h(2) == 3


def test_time_moves_by_hand(fake_clock):
    fake_clock.advance(2.5)
    assert fake_clock() == 2.5
"""

BAD = """
import pytest

from nanoservices import ServiceFailedError
from tally_service import tally


def test_leaves_the_service_failed(start_service):
    h = start_service(tally)
    with pytest.raises(ServiceFailedError):
        h(-1)
"""


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """The project folder, its venv's python, and an environment to run them in."""
    if importlib.util.find_spec("hatchling") is None:
        pytest.skip("needs hatchling in this environment to build offline (the dev extra)")
    base = tmp_path_factory.mktemp("fresh")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    venv = base / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], base, env)
    assert made.returncode == 0, made.stderr
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], base, env
    ).stdout.strip()
    here = dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"]])
    Path(purelib, "_running_env.pth").write_text("\n".join(here) + "\n", encoding="utf-8")
    installed = _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-build-isolation", "--no-index", str(ROOT)],
        base, env,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    where = _run([str(python), "-c", "import nanoservices as n; print(n.__file__)"], base, env)
    assert where.stdout.startswith(purelib), where.stdout + where.stderr  # not the clone's src/
    folder = base / "project"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(PYPROJECT)
    (folder / "tally_service.py").write_text(textwrap.dedent(SERVICE))
    (folder / "test_good.py").write_text(textwrap.dedent(GOOD))
    (folder / "test_bad.py").write_text(textwrap.dedent(BAD))
    return folder, python, env


def test_the_fixtures_work_after_pip_install(project: tuple[Path, Path, dict[str, str]]) -> None:
    folder, python, env = project
    done = _run([str(python), "-m", "pytest", "test_good.py"], folder, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed, 1 skipped" in done.stdout, done.stdout
    assert "Ray is" in done.stdout  # the ray run is skipped, saying why


def test_a_service_left_failed_fails_the_test(project: tuple[Path, Path, dict[str, str]]) -> None:
    folder, python, env = project
    done = _run([str(python), "-m", "pytest", "test_bad.py"], folder, env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed" in done.stdout, done.stdout
    assert "LeftoverError: the service 'tally' was left FAILED by ValueError" in done.stdout
