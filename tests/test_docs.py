"""The docs cannot rot: every ```python block of every page (and of the README) runs
(the site's build is checked by tests/test_site.py).

Each page is one test. Its ``python`` blocks run in order in one namespace, like
a doctest session, with the page's directory unchanged and a fresh temporary
directory as the working directory (so examples may write files). Examples show
results with ``assert``: a wrong output fails the test.

A block is skipped only when it needs something the suite cannot give every
run (the real network, a PostgreSQL server, a Ray cluster). Mark it with an
HTML comment on the line before the fence, saying why::

    <!-- skip: needs the real WMO server -->
    ```python
    ...
    ```

Blocks in other languages (``bash``, ``text``, ``pycon``) are not run.

A ``python`` block titled with a file name (```` ```python title="bank.py" ````)
is a file of the reader's project: it is saved under that name in the working
directory (importable by the blocks after it, and by the commands they run)
instead of being run in the page's namespace.
"""

from __future__ import annotations

import gc
import re
import sys
import textwrap
import tomllib
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"

# A fence opening: ```python, optionally with attributes (title="..."), at any indent.
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,}|~{3,})\s*(?P<info>[^\n`]*)$")
_SKIP = re.compile(r"<!--\s*skip:\s*(?P<why>[^>]*?)\s*-->")
_TITLED_FILE = re.compile(r'title="(?P<file>[\w-]+\.py)"')
#: Why skipping is allowed at all: what the suite cannot start on every run.
_ALLOWED_SKIP_REASONS = ("network", "postgres", "ray")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    code: str
    skip: str | None  # the reason, when the block is marked skip
    file: str | None = None  # a file name the block is saved as (title="name.py")


def blocks_of(page: Path) -> list[Block]:
    """The fenced ``python`` blocks of ``page``, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        ticks, info, indent = match["ticks"], match["info"].strip(), match["indent"]
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not (
            lines[i].strip().startswith(ticks) and lines[i].strip().strip(ticks[0]) == ""
        ):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        language = info.split(maxsplit=1)[0].lower() if info else ""
        if language not in ("python", "py"):
            continue
        previous = next((line for line in reversed(lines[:start]) if line.strip()), "")
        skip = _SKIP.search(previous)
        code = textwrap.dedent("\n".join(line.removeprefix(indent) for line in body))
        titled = _TITLED_FILE.search(info)
        found.append(
            Block(page, start + 1, code, skip["why"] if skip else None, titled and titled["file"])
        )
    return found


#: Pages whose examples cannot run yet, and why. Each is an expected failure
#: (strict: once the page runs, the test fails until its entry is removed), so
#: the debt stays visible without hiding other pages' failures.
PENDING: dict[str, str] = {}


def pages() -> list[Path]:
    """Every page of the site, then the README (a newcomer's first page)."""
    return [*sorted(DOCS.rglob("*.md")), README]


def _page_param(page: Path) -> object:
    reason = PENDING.get(_page_id(page))
    marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    return pytest.param(page, id=_page_id(page), marks=marks)


def _page_id(page: Path) -> str:
    if page == README:
        return "README.md"
    return page.relative_to(DOCS).as_posix()


def test_docs_have_examples() -> None:
    """The harness finds pages and blocks (a broken regex must not pass silently)."""
    total = sum(len(blocks_of(page)) for page in pages())
    assert len(pages()) >= 10
    assert total >= 50


@pytest.mark.parametrize("doc_page", [_page_param(page) for page in pages()])
def test_page_examples_run(doc_page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every python block of ``doc_page`` runs, in order, in one namespace."""
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType("__docs__")
    namespace = module.__dict__
    # Dataclasses and pickling look classes up in sys.modules[cls.__module__].
    monkeypatch.setitem(sys.modules, "__docs__", module)
    # The working directory is importable, as for `python` run in a folder: a
    # page's titled files, and any module an example writes there.
    monkeypatch.syspath_prepend(str(tmp_path))
    ran = 0
    for block in blocks_of(doc_page):
        if block.file is not None:
            (tmp_path / block.file).write_text(block.code, encoding="utf-8")
            continue
        if block.skip is not None:
            assert any(word in block.skip.lower() for word in _ALLOWED_SKIP_REASONS), (
                f"{_page_id(doc_page)}:{block.line}: skip only for network, PostgreSQL or Ray, "
                f"not {block.skip!r}"
            )
            continue
        source = "\n" * (block.line) + block.code  # tracebacks point at the page's line
        try:
            exec(compile(source, str(doc_page), "exec"), namespace)
        except BaseException as exc:
            raise AssertionError(
                f"{_page_id(doc_page)}, block at line {block.line} failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        ran += 1
    # Close what the page left open (generators, handles, local servers) while
    # the page's names still exist: a generator's except clauses may need them.
    for value in list(namespace.values()):
        closer = getattr(value, "close", None)
        if closer is not None and (
            isinstance(value, types.GeneratorType)
            or type(value).__module__.startswith("nanoservices")
        ):
            try:
                closer()
            except Exception:
                pass
    namespace.clear()
    for name, loaded in list(sys.modules.items()):  # forget the page's own modules
        if Path(getattr(loaded, "__file__", None) or "/").parent == tmp_path:
            sys.modules.pop(name, None)
    gc.collect()


def test_a_titled_block_is_a_file_of_the_page(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        'Save this:\n\n```python title="greet.py"\nWHO = "you"\n```\n\n'
        "```python\nfrom greet import WHO\n```\n",
        encoding="utf-8",
    )
    saved, run = blocks_of(page)
    assert (saved.file, saved.code) == ("greet.py", 'WHO = "you"')
    assert run.file is None


def test_a_how_to_shows_typed_commands_on_every_path() -> None:
    """Several kinds of command as one tagged msgspec.Struct union: the how-to runs it
    locally, over HTTP, durably and through ``nanoservices run`` (its blocks assert)."""
    page = DOCS / "howto" / "typed-commands.md"
    code = "\n".join(block.code for block in blocks_of(page))
    assert "msgspec.Struct, tag=" in code
    for used in ("connect(", "durable(", '"run"'):
        assert used in code, used
    assert any(block.file for block in blocks_of(page))
    assert "typed-commands.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


def test_skips_are_rare() -> None:
    """Skipped blocks stay the exception: at most one in ten."""
    all_blocks = [block for page in pages() for block in blocks_of(page)]
    skipped = [block for block in all_blocks if block.skip is not None]
    assert len(skipped) * 10 <= len(all_blocks), [f"{b.page.name}:{b.line}" for b in skipped]


def test_the_readme_runs_as_the_docs_do() -> None:
    """The README's examples are run by the same harness (a newcomer copies them first)."""
    assert README in pages()
    assert len([block for block in blocks_of(README) if block.skip is None]) >= 5


def test_the_docs_extra_brings_a_signature_formatter() -> None:
    """``separate_signature`` makes mkdocstrings format signatures with Black or Ruff,
    so ``pip install '.[docs]'`` alone must bring one for ``mkdocs build``."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    docs = project["optional-dependencies"]["docs"]
    names = {re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower() for requirement in docs}
    assert names & {"black", "ruff"}, docs
