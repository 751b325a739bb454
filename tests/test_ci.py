"""``.ci/run`` checks every supported Python version, and says so when one is missing (issue 20).

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
