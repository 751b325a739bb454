"""The folders are the architecture: each module imports only what its folder may.

ARCHITECTURE.md draws the map; this test reads every module's imports with
``ast`` (``import`` and ``from ... import``, relative ones resolved, those under
``if TYPE_CHECKING`` and inside functions included) and fails on any import
that breaks it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import nanoservices

PACKAGE = "nanoservices"
SRC = Path(nanoservices.__file__).parent

#: The public face of each subpackage (its ``__init__``), and the core's one seam.
FACES = {
    f"{PACKAGE}.{name}"
    for name in ("core", "aio", "compose", "observe", "http", "ray", "durable", "sessions")
}
SEAM = f"{PACKAGE}.core.seam"
APPLICATION_FACES = (
    FACES
    | {PACKAGE}
    | {f"{PACKAGE}.{name}" for name in ("services", "examples", "testing", "recipes")}
)

DURABLE = f"{PACKAGE}.durable"
#: The module that names the implementation of keyed sessions (the durable layer).
SESSION_STORES = f"{PACKAGE}._session_stores"

#: Folder -> what it may import besides its own modules (exact module names).
MAY_IMPORT: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "aio": frozenset({f"{PACKAGE}.core", SEAM}),
    "compose": frozenset({f"{PACKAGE}.core", SEAM}),
    "observe": frozenset({f"{PACKAGE}.core", SEAM, f"{PACKAGE}.aio"}),
    # the transports know keyed sessions by their protocol (``sessions``) and get them
    # from the one module that names the implementation, never from durable itself
    "http": frozenset({PACKAGE, SEAM, SESSION_STORES} | FACES),
    "ray": frozenset({PACKAGE, SEAM, SESSION_STORES} | FACES),
    # the protocol of keyed sessions: neutral, above the core and asyncio only
    "sessions": frozenset({PACKAGE, f"{PACKAGE}.core", f"{PACKAGE}.aio"}),
    # durable services build on the public names only (a handle kind of their own)
    "durable": frozenset({PACKAGE} | FACES),
    "services": frozenset(APPLICATION_FACES),
    "examples": frozenset(APPLICATION_FACES),
    "testing": frozenset(APPLICATION_FACES),
    # the package's own tools may also use the seam (install hints)
    "_cli": frozenset(APPLICATION_FACES | {SEAM}),
    "_bench": frozenset(APPLICATION_FACES | {SEAM}),
    # Top-level modules: the package's face, ``recipes``, ``__main__``.
    "": frozenset(FACES | {f"{PACKAGE}._cli"}),
}
#: Folders that use the library as its users do: any public module (no ``_`` part).
APPLICATION = frozenset({"services", "examples", "testing", "_cli", "_bench"})


def _public(module: str) -> bool:
    return module != SEAM and not any(part.startswith("_") for part in module.split(".")[1:])


#: Private packages one folder may open whole (the CLI runs the benchmark).
MAY_OPEN = {"_cli": (f"{PACKAGE}._bench",)}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(module: str, source: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """Every module ``source`` imports, absolute; ``from X import y`` yields ``X.y``
    too when ``y`` may be a submodule (the caller decides which one counts)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if node.module is None or (node.level == 0 and target == PACKAGE):
                # ``from . import _steps``: each name may be a submodule.
                for alias in node.names:
                    candidate = f"{target}.{alias.name}"
                    if (SRC.parent / candidate.replace(".", "/")).exists() or (
                        SRC.parent / (candidate.replace(".", "/") + ".py")
                    ).exists():
                        yield node.lineno, candidate
                    else:
                        yield node.lineno, target
            else:
                yield node.lineno, target


def _folder(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and _is_package(module)) else ""


def _is_package(module: str) -> bool:
    return (SRC.parent / module.replace(".", "/") / "__init__.py").exists()


def violations(module: str, source: str, is_package: bool = False) -> list[str]:
    """What in ``source`` (the text of ``module``) breaks the import rule."""
    folder = _folder(module)
    allowed = MAY_IMPORT[folder]
    found = []
    for lineno, target in _imports(module, source, is_package):
        if target != PACKAGE and not target.startswith(PACKAGE + "."):
            continue  # the standard library and third parties
        own = f"{PACKAGE}.{folder}"
        if folder and (target == own or target.startswith(own + ".")):
            continue  # its own folder
        if target in allowed:
            continue
        if folder in APPLICATION and _public(target):
            continue
        if any(target == p or target.startswith(p + ".") for p in MAY_OPEN.get(folder, ())):
            continue
        found.append(f"{module}:{lineno} imports {target}")
    return found


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SRC.rglob("*.py")):
        yield _module_name(path), path


def test_every_module_imports_only_what_its_folder_may() -> None:
    broken = [
        problem
        for module, path in _modules()
        for problem in violations(module, path.read_text(), path.name == "__init__.py")
    ]
    assert not broken, "\n".join(broken)


def test_every_folder_is_in_the_map() -> None:
    folders = {_folder(module) for module, _ in _modules()}
    assert folders <= set(MAY_IMPORT), folders - set(MAY_IMPORT)


@pytest.mark.parametrize(
    ("module", "source"),
    [
        # a transport reaching into a private module of the core
        ("nanoservices.http._server", "from nanoservices.core._errors import ServiceError\n"),
        # the same, relative, hidden in a function and under TYPE_CHECKING
        ("nanoservices.ray._host", "def f():\n    from ..core._state import Op\n"),
        (
            "nanoservices.http._client",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from nanoservices.aio._engine import AsyncGenEngine\n",
        ),
        # the core importing another subpackage
        ("nanoservices.core._handle", "from nanoservices.observe import trace\n"),
        ("nanoservices.core._handle", "from .. import compose\n"),
        # composition importing an observer
        ("nanoservices.compose._router", "import nanoservices.observe._trace\n"),
        # an application folder importing a private module
        ("nanoservices._cli._repl", "from nanoservices.observe._inspect import FrameView\n"),
    ],
)
def test_the_rule_catches_a_broken_import(module: str, source: str) -> None:
    assert violations(module, source), f"{module} should not be allowed: {source!r}"


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("nanoservices.http._server", "from nanoservices.core import ServiceError\n"),
        ("nanoservices.http._client", "from nanoservices.core.seam import Op, refusal\n"),
        ("nanoservices.core._handle", "from ._steps import run\nfrom . import _protocol\n"),
        ("nanoservices.observe._trace", "from ..core import Event\n"),
    ],
)
def test_the_rule_allows_public_names_and_the_seam(module: str, source: str) -> None:
    assert not violations(module, source)
