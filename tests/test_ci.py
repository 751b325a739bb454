"""``.ci/run`` checks every supported Python version, and says so when one is missing.

The versions live in three places that must agree: ``.ci/run``'s list, the
classifiers in ``pyproject.toml``, and the README. The dry run shows which
interpreter each version would use, without installing anything.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CI = ROOT / ".ci" / "run"


def supported_by_ci() -> list[str]:
    match = re.search(r"^SUPPORTED=\(([^)]*)\)", CI.read_text(encoding="utf-8"), re.MULTILINE)
    assert match is not None
    return match[1].split()


def test_ci_classifiers_and_readme_name_the_same_versions() -> None:
    versions = supported_by_ci()
    assert versions == ["3.11", "3.12", "3.13"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    prefix = "Programming Language :: Python :: "
    classified = [c.removeprefix(prefix) for c in project["classifiers"] if c.startswith(prefix)]
    assert [v for v in classified if v != "3"] == versions
    assert project["requires-python"] == f">={versions[0]}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "Supported Python versions: 3.11, 3.12 and 3.13." in readme


def test_a_missing_version_is_reported_not_skipped(tmp_path: Path) -> None:
    """Only this interpreter (as ``python3``) and the system's: the other versions are MISSING."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    env = dict(os.environ)
    env.update(
        PATH=f"{bin_dir}:/usr/bin:/bin",
        PYENV_ROOT=str(tmp_path / "no-pyenv"),
        CI_DRY_RUN="1",
    )
    mine = f"{sys.version_info[0]}.{sys.version_info[1]}"
    done = subprocess.run(
        ["bash", str(CI)], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert f"python {mine}: the README command" in done.stdout
    others = [v for v in supported_by_ci() if v != mine]
    missing = [v for v in others if f"python {v}: MISSING" in done.stdout]
    found = [v for v in others if f"python {v}: /" in done.stdout]
    assert sorted(missing + found) == sorted(others), done.stdout  # each one is accounted for
    assert missing, done.stdout  # no pyenv: at least one is not on this PATH
    env["CI_REQUIRE_ALL_PYTHONS"] = "1"
    required = subprocess.run(
        ["bash", str(CI)], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert required.returncode == 1, required.stdout


GROUPED = """
import os

import pytest

pytestmark = pytest.mark.xdist_group("one")


@pytest.mark.parametrize("i", range(8))
def test_where(i):
    print("worker", os.environ["PYTEST_XDIST_WORKER"])
"""


def test_a_parallel_run_keeps_an_xdist_group_on_one_worker(tmp_path: Path) -> None:
    """scripts/check and .ci/run count on ``--dist loadgroup``: the Ray tests share one
    Ray, the site is built once. A pytest that the installed pytest-xdist cannot group
    for would spread them silently; this fails instead."""
    (tmp_path / "test_grouped.py").write_text(GROUPED, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v",
         "-p", "no:cacheprovider", "-p", "no:nanoservices.testing.plugin", "test_grouped.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    workers = {line.split()[0] for line in done.stdout.splitlines() if " PASSED " in line}
    assert len(workers) == 1, done.stdout


def test_the_plan_runs_every_version_in_parallel_and_the_cluster_group_once() -> None:
    """The dry run prints the plan from the variables the real run uses."""
    env = dict(os.environ, CI_DRY_RUN="1")
    done = subprocess.run(
        ["bash", str(CI)], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    versions = [line for line in lines if line.startswith("python ")]
    assert len(versions) == len(supported_by_ci())
    for line in versions:
        if "MISSING" not in line:
            assert "pytest -n auto --dist loadgroup" in line, line
    (readme,) = [line for line in versions if "the README command" in line]
    assert "./scripts/check" in readme
    others = [line for line in versions if "/" in line.split(":", 1)[1].split("(")[0]]
    for line in others:  # what the other versions leave out is said, and only that
        assert "--ignore=tests/test_site.py" in line
        assert "--deselect tests/http/test_openapi.py::test_schemathesis_finds_nothing" in line
    assert sum("pytest -m ray_cluster" in line for line in lines) == 1
    assert any(line.startswith("pure-Python pass:") for line in lines)
    check = (ROOT / "scripts" / "check").read_text(encoding="utf-8")
    assert '-n "${NANOSERVICES_TEST_WORKERS:-auto}" --dist loadgroup' in check


def test_pytest_collecting_nothing_fails_the_run() -> None:
    """pytest's exit status 5 (no tests collected) checks nothing: a failure."""
    text = CI.read_text(encoding="utf-8")
    assert re.search(r'^\s*5\) echo "FAIL', text, re.MULTILINE)
