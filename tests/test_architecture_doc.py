"""ARCHITECTURE.md says no more than the code keeps: every folder and module it names
exists, its table of imports is the architecture test's table, and every rule it
states names the test of ``tests/test_architecture.py`` that enforces it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from . import test_architecture as architecture
from .test_architecture import APPLICATION, APPLICATION_FACES, FACES, MAY_IMPORT, MAY_OPEN, PACKAGE

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "ARCHITECTURE.md").read_text()
SRC = architecture.SRC

#: The words the table's last column may use for a set of modules.
THE_FACES = "the faces"
PUBLIC_MODULES = "public modules"


def _section(title: str) -> str:
    """The text under the heading ``## title``, up to the next heading of that level."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", PAGE, re.M | re.S)
    assert match, f"ARCHITECTURE.md has no section {title!r}"
    return match.group(1)


def _table() -> dict[str, str]:
    """Folder -> the table's "May import" cell."""
    rows = re.findall(r"^\| `([a-z_]+)/` \|.*\| (.+?) \|$", PAGE, re.M)
    return dict(rows)


def _names(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def test_every_folder_it_names_exists() -> None:
    # ``core/`` in the text and in the picture alike (not ``tests/`` of a path)
    folders = set(re.findall(r"(?<![\w./-])([a-z_]+)/(?![\w.])", PAGE))
    assert folders, "the page names no folder"
    missing = {f for f in folders if not (SRC / f).is_dir()}
    assert not missing, f"ARCHITECTURE.md names folders that do not exist: {sorted(missing)}"


def test_every_module_it_names_exists() -> None:
    paths = [name for name in _names(PAGE) if re.fullmatch(r"[\w/]+\.py", name)]
    assert paths, "the page names no module"
    missing = [
        path
        for path in paths
        if not (ROOT / path).exists()
        and not (SRC / path).exists()
        and not any(SRC.rglob(Path(path).name))
    ]
    assert not missing, f"ARCHITECTURE.md names modules that do not exist: {missing}"


def test_the_table_has_every_folder_of_the_map() -> None:
    assert set(_table()) == set(MAY_IMPORT) - {""}


def _documented(cell: str) -> tuple[set[str], bool]:
    """The modules a "May import" cell allows, and whether it says public modules."""
    modules: set[str] = set()
    public = False
    for part in (p.strip() for p in cell.split(",")):
        if part == "nothing":
            continue
        if part == THE_FACES:
            modules |= FACES
        elif part.startswith(f"{THE_FACES} but "):  # the faces but `nanoservices.durable`
            but = re.fullmatch(r"`([\w.]+)`", part.removeprefix(f"{THE_FACES} but "))
            assert but, f"the table's cell {cell!r} has {part!r}: the faces but `a face`"
            modules |= FACES - {but.group(1)}
        elif part == PUBLIC_MODULES:
            public = True
        else:
            name = re.fullmatch(r"`([\w.]+)`", part)
            assert name, f"the table's cell {cell!r} has {part!r}: a `module` or a known phrase"
            modules.add(name.group(1))
    return modules, public


@pytest.mark.parametrize("folder", sorted(set(MAY_IMPORT) - {""}))
def test_the_table_says_what_the_test_allows(folder: str) -> None:
    modules, public = _documented(_table()[folder])
    assert public == (folder in APPLICATION), folder
    documented = modules | (APPLICATION_FACES if public else set())
    allowed = MAY_IMPORT[folder] | set(MAY_OPEN.get(folder, ()))
    assert documented == allowed, (
        f"{folder}/: the page says {sorted(documented)}, the test allows {sorted(allowed)}"
    )


def test_the_faces_it_lists_are_the_tests_faces() -> None:
    sentence = PAGE[PAGE.index(f'"{THE_FACES}"') :].split(";")[0]
    listed = {
        f"{PACKAGE}.{name}"
        for name in _names(sentence)
        if name.isidentifier() and not name.startswith("_")
    }
    assert listed == FACES


def test_every_rule_names_the_test_that_enforces_it() -> None:
    rules = re.findall(r"^- \*\*(.+?)\*\*(.*?)(?=^- |\Z)", _section("Rules"), re.M | re.S)
    assert rules, "the page states no rule"
    for title, text in rules:
        tests = [name for name in _names(text) if name.startswith("test_")]
        assert tests, f"the rule {title!r} names no test"
        for name in tests:
            assert callable(getattr(architecture, name, None)), (
                f"the rule {title!r} names {name}, which tests/test_architecture.py lacks"
            )


def test_it_holds_no_figures() -> None:
    """Line counts, name counts, sizes: figures go stale as the code moves; the page
    names things and the test checks them instead."""
    figures = re.findall(r"^.*\d.*$", PAGE, re.M)
    assert not figures, f"ARCHITECTURE.md has figures: {figures}"
