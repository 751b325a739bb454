"""The pytest plugin is installed the way docs/testing.md says: the ``testing`` extra.

The package installs from the clone, and ``pip install .`` brings no pytest; the
``testing`` extra does (``pip install '.[testing]'``), and the docs say so.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _extras() -> dict[str, list[str]]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        extras: dict[str, list[str]] = tomllib.load(f)["project"]["optional-dependencies"]
    return extras


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!~\[;]", requirement, maxsplit=1)[0] for requirement in requirements}


def test_the_testing_extra_brings_pytest() -> None:
    assert "pytest" in _names(_extras()["testing"])


def test_the_dev_extra_includes_the_testing_extra() -> None:
    assert any(
        re.fullmatch(r"nanoservices\[.*\btesting\b.*\]", requirement.replace(" ", ""))
        for requirement in _extras()["dev"]
    )


def test_docs_testing_says_to_install_the_extra() -> None:
    opening = (ROOT / "docs" / "testing.md").read_text().split("\n## ")[0]
    assert "pip install '.[testing]'" in opening
    assert "`pip install nanoservices`" not in opening


def test_the_readme_lists_the_testing_extra() -> None:
    assert "'.[testing]'" in (ROOT / "README.md").read_text()
