"""The folders are the architecture: each module imports only what its folder may,
and the modules of one folder stand in layers, with no circle of imports.

ARCHITECTURE.md draws the map; this test reads every module's imports with
``ast`` (``import`` and ``from ... import``, relative ones resolved, those under
``if TYPE_CHECKING`` and inside functions included) and fails on any import
that breaks it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

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
    "http": frozenset({PACKAGE, SEAM, SESSION_STORES} | FACES - {DURABLE}),
    "ray": frozenset({PACKAGE, SEAM, SESSION_STORES} | FACES - {DURABLE}),
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


#: Where an import stands: at module level, inside a function (it runs when the
#: function does) or under ``if TYPE_CHECKING`` (it never runs: it names types).
Where = Literal["module", "function", "types"]


def _import_nodes(
    nodes: Iterable[ast.AST], where: Where = "module"
) -> Iterator[tuple[ast.stmt, Where]]:
    """Every import statement in ``nodes`` (and below them), and where it stands."""
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, where
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from _import_nodes(node.body, "types")
            yield from _import_nodes(node.orelse, where)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            inside: Where = "types" if where == "types" else "function"
            yield from _import_nodes(ast.iter_child_nodes(node), inside)
        else:
            yield from _import_nodes(ast.iter_child_nodes(node), where)


def _is_module(candidate: str) -> bool:
    """Whether ``candidate`` names a module or package of the source tree (a compiled
    extension counts by its C source or its built file)."""
    path = SRC.parent / candidate.replace(".", "/")
    return path.exists() or any(path.parent.glob(path.name + ".*"))


def _imports(module: str, source: str, is_package: bool) -> Iterator[tuple[int, str, Where]]:
    """Every module ``source`` imports, absolute, and where the import stands;
    ``from X import y`` yields ``X.y`` when ``y`` is a submodule."""
    package = module if is_package else module.rpartition(".")[0]
    for node, where in _import_nodes([ast.parse(source)]):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, where
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
                    yield node.lineno, candidate if _is_module(candidate) else target, where
            else:
                yield node.lineno, target, where


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
    for lineno, target, _ in _imports(module, source, is_package):
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


#: Imports under ``if TYPE_CHECKING`` that may close a circle, each with why. They
#: never run, so they decide no load order; but each is a place where two modules
#: know each other, so each is named here rather than allowed wholesale.
TYPES_ONLY_BACK_REFERENCES: dict[tuple[str, str], str] = {
    (f"{PACKAGE}.core._shared", f"{PACKAGE}.core._handle"): (
        "a shared handle wraps a local one and LocalHandle.shared() makes one: "
        "the two classes name each other in their signatures"
    ),
}

Graph = dict[str, dict[str, set[Where]]]


def folder_graph() -> Graph:
    """Each module -> the modules of its own folder it imports, and where each import
    stands (the folder's face, its ``__init__``, is one of its modules)."""
    graph: Graph = {}
    for module, path in _modules():
        folder = _folder(module)
        edges = graph.setdefault(module, {})
        if not folder:
            continue  # the top-level modules are no folder
        own = f"{PACKAGE}.{folder}"
        for _, target, where in _imports(module, path.read_text(), path.name == "__init__.py"):
            if target != module and (target == own or target.startswith(own + ".")):
                edges.setdefault(target, set()).add(where)
    return graph


def circles(graph: Graph, allowed: Iterable[tuple[str, str]] = ()) -> list[list[str]]:
    """The circles of ``graph``: sets of two or more modules that import each other,
    directly or round a loop (Tarjan's strongly connected components). An edge in
    ``allowed`` does not count when every import behind it is a ``types`` one."""
    skip = set(allowed)

    def counts(source: str, target: str) -> bool:
        return (source, target) not in skip or graph[source][target] != {"types"}

    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        order[node] = low[node] = len(order)
        stack.append(node)
        for target in graph.get(node, {}):
            if not counts(node, target):
                continue
            if target not in order:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], order[target])
        if low[node] == order[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(graph):
        if node not in order:
            visit(node)
    return found


def _describe(graph: Graph, circle: list[str]) -> str:
    ties = [
        f"    {source} -> {target} ({', '.join(sorted(where))})"
        for source in circle
        for target, where in sorted(graph[source].items())
        if target in circle
    ]
    return "circle of " + ", ".join(circle) + ":\n" + "\n".join(ties)


def test_no_folder_has_a_circle_of_imports() -> None:
    """A folder's modules stand in layers: imports at module level, inside functions
    and under TYPE_CHECKING all count (only the listed types-only references not)."""
    graph = folder_graph()
    found = circles(graph, TYPES_ONLY_BACK_REFERENCES)
    assert not found, "\n".join(_describe(graph, circle) for circle in found)


def test_each_types_only_back_reference_exists_and_names_types_only() -> None:
    graph = folder_graph()
    for source, target in TYPES_ONLY_BACK_REFERENCES:
        assert graph[source].get(target) == {"types"}, (source, target, graph[source].get(target))


@pytest.mark.parametrize(
    "sources",
    [
        # at module level
        {"a": "from ._b import x\n", "_b": "import nanoservices.core.a\n"},
        # round a loop of three, one import inside a function
        {
            "a": "from ._b import x\n",
            "_b": "from ._c import y\n",
            "_c": "def f():\n    from .a import z\n",
        },
        # held together by a TYPE_CHECKING import that is not on the list
        {
            "a": "from ._b import x\n",
            "_b": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import y\n",
        },
    ],
)
def test_the_circle_check_catches_a_circle(sources: dict[str, str]) -> None:
    graph: Graph = {}
    for name, source in sources.items():
        module = f"{PACKAGE}.core.{name}"
        edges = graph.setdefault(module, {})
        for _, target, where in _imports(module, source, False):
            edges.setdefault(target, set()).add(where)
    for module in sources:
        graph.setdefault(f"{PACKAGE}.core.{module}", {})
    assert circles(graph)


def test_a_listed_types_only_reference_closes_no_circle() -> None:
    graph: Graph = {"a": {"b": {"module"}}, "b": {"a": {"types"}}}
    assert circles(graph) == [["a", "b"]]
    assert circles(graph, [("b", "a")]) == []
    graph["b"]["a"].add("function")  # it runs now: the listing no longer covers it
    assert circles(graph, [("b", "a")]) == [["a", "b"]]


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
        # a transport importing the durable layer (it knows keyed sessions only)
        ("nanoservices.http._keyed", "from nanoservices.durable import JournalError\n"),
        ("nanoservices.http._host", "def f():\n    from ..durable import JournalStore\n"),
        # a transport that knows durability rather than the session protocol
        ("nanoservices.ray._host", "from nanoservices.durable import durable\n"),
        ("nanoservices.ray._host", "def f():\n    import nanoservices.durable\n"),
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
        ("nanoservices.http._keyed", "from nanoservices.sessions import KeyHeldError\n"),
        ("nanoservices.http._keyed", "from nanoservices._session_stores import sessions_at\n"),
        ("nanoservices.ray._host", "from nanoservices._session_stores import sessions_at\n"),
        ("nanoservices.ray._host", "from nanoservices.sessions import KeyedSessions\n"),
    ],
)
def test_the_rule_allows_public_names_and_the_seam(module: str, source: str) -> None:
    assert not violations(module, source)


#: The transports: they know sessions opened with a key only by their protocol.
TRANSPORTS = ("http", "ray")


@pytest.mark.parametrize("folder", TRANSPORTS)
def test_no_transport_imports_the_durable_layer(folder: str) -> None:
    """No module under a transport's folder imports ``nanoservices.durable``: HTTP and
    Ray speak the keyed-session protocol (``nanoservices.sessions``), durable services
    implement it, and ``nanoservices._session_stores`` names the implementation."""
    assert DURABLE not in MAY_IMPORT[folder]
    found = [
        problem
        for module, path in _modules()
        if _folder(module) == folder
        for problem in violations(module, path.read_text(), path.name == "__init__.py")
        if problem.endswith(f" imports {DURABLE}") or f" imports {DURABLE}." in problem
    ]
    assert not found, "\n".join(found)
