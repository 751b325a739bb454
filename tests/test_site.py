"""The built site: a sitemap with every page's URL, the pages in its nav, the reference."""

from __future__ import annotations

import dataclasses
import enum
import html
import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


#: One worker of a parallel run, so the site is built once (tests/conftest.py).
pytestmark = pytest.mark.xdist_group("site")


@pytest.fixture
def site(built_site: Path) -> Path:
    """The site as ``mkdocs build --strict`` built it, once for the run."""
    return built_site


def test_mkdocs_build_strict(built_site: Path) -> None:
    """``mkdocs build --strict`` passes: no broken link, no missing page, no bad reference
    (the build itself asserts its exit status: tests/conftest.py)."""
    assert (built_site / "index.html").is_file()
    assert (built_site / "reference" / "index.html").is_file()


def test_the_sitemap_lists_pages_under_the_site_url(site: Path) -> None:
    sitemap = (site / "sitemap.xml").read_text(encoding="utf-8")
    assert sitemap.count("<loc>https://") > 20


def test_the_service_contract_page_is_in_the_site_and_its_nav(site: Path) -> None:
    """The contract (requests convert to the declared type, errors, the handle API) is
    what a service author reads: published, searchable, and reachable from the nav."""
    page = site / "api-contract" / "index.html"
    assert page.is_file()
    assert "api-contract" in (site / "search" / "search_index.json").read_text("utf-8")
    home = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="api-contract/"' in home  # the nav on every page links it


def test_the_typed_commands_how_to_is_in_the_nav(site: Path) -> None:
    home = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="howto/typed-commands/"' in home


def test_the_benchmark_chart_is_served_as_svg(site: Path) -> None:
    page = (site / "comparison" / "index.html").read_text(encoding="utf-8")
    assert "img/bench.svg" in page
    assert (site / "img" / "bench.svg").is_file()


# --- The rendered reference: what a reader sees, checked on the built HTML ---

#: A Sphinx role left as text: ``:meth:`stop``` renders as ``:meth:<code>stop</code>``.
RAW_ROLE = re.compile(
    r":(?:py:)?(?:meth|class|func|data|attr|exc|mod|obj|const|ref|term):(?:<code>|`)"
)
#: A reStructuredText literal-block marker left as text: a paragraph ``::`` or ending in ``::``.
STRAY_LITERAL_MARKER = re.compile(r"::</p>")
#: Control characters (a docstring that is not raw turns ``\x00`` into one).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: A ``_``-prefixed name (a private sentinel or class), not an attribute after a dot.
PRIVATE_NAME = re.compile(r"(?<![\w.])_[A-Za-z]\w*")
SIGNATURE = re.compile(r'<div class="doc-signature[^"]*">(.*?)</div>', re.S)
HEADING = re.compile(r'<h\d id="(nanoservices\.[\w.]+)" class="doc doc-heading">')


def _pages(site: Path) -> dict[str, str]:
    return {
        str(path.relative_to(site)): path.read_text(encoding="utf-8")
        for path in sorted(site.rglob("*.html"))
    }


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def _import(dotted: str) -> object:
    """The object a reference heading's id names (a module path, then attributes), or None."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
        return obj
    raise ImportError(dotted)


def test_no_raw_sphinx_role_or_literal_marker_is_left_as_text(site: Path) -> None:
    found = [
        f"{page}: {match.group(0)}"
        for page, text in _pages(site).items()
        for pattern in (RAW_ROLE, STRAY_LITERAL_MARKER)
        for match in pattern.finditer(text)
    ]
    assert not found, found


def test_no_control_character_is_rendered(site: Path) -> None:
    found = [
        f"{page}: {match.group(0)!r}"
        for page, text in _pages(site).items()
        for match in CONTROL.finditer(text)
    ]
    assert not found, found


def test_no_private_name_in_a_rendered_signature(site: Path) -> None:
    found = [
        f"{page}: {name} in {_text(sig).split('(')[0].strip()}"
        for page, text in _pages(site).items()
        for sig in SIGNATURE.findall(text)
        for name in PRIVATE_NAME.findall(_text(sig))
    ]
    assert not found, found


def test_every_public_enum_member_and_record_field_is_listed(site: Path) -> None:
    missing: list[str] = []
    checked = 0
    for page, text in _pages(site).items():
        if not page.startswith("reference/"):
            continue
        ids = set(re.findall(r'id="(nanoservices\.[\w.]+)"', text))
        for heading in HEADING.findall(text):
            obj = _import(heading)
            if not isinstance(obj, type):
                continue
            if issubclass(obj, enum.Enum):
                names = [member.name for member in obj]
            elif dataclasses.is_dataclass(obj):
                names = [f.name for f in dataclasses.fields(obj) if not f.name.startswith("_")]
            elif issubclass(obj, tuple) and hasattr(obj, "_fields"):
                names = list(obj._fields)
            else:
                continue
            checked += 1
            missing += [f"{page}: {heading}.{n}" for n in names if f"{heading}.{n}" not in ids]
    assert checked >= 3  # State, EventKind and Event at least
    assert not missing, missing


#: What a code block shows without scrolling sideways in the content column at
#: 1280 px (80 characters of the code font, measured in Chromium).
CODE_COLUMNS = 80
COPY_BUTTON_COLUMNS = 6


def _published(site: Path, page: Path) -> bool:
    path = page.relative_to(ROOT / "docs").with_suffix("")
    built = site / (path.parent if path.name == "index" else path) / "index.html"
    return built.is_file()


def test_code_blocks_in_the_docs_fit_the_page_at_1280_px(site: Path) -> None:
    """Lines of fenced code fit the column; program output marked ``.wrap`` wraps."""
    long: list[str] = []
    pages = [page for page in sorted((ROOT / "docs").rglob("*.md")) if _published(site, page)]
    assert len(pages) > 30
    for page in pages:
        fence, first = "", False
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith("```"):
                fence, first = ("", False) if fence else (stripped, True)
                continue
            # the copy button covers the last columns of a block's first line
            room = CODE_COLUMNS - COPY_BUTTON_COLUMNS if first else CODE_COLUMNS
            first = False
            if fence and ".wrap" not in fence and len(line) > room:
                long.append(f"{page.relative_to(ROOT)}:{number}: {len(line)} characters")
    assert not long, long


def test_the_site_has_a_logo_a_favicon_and_an_install_section(site: Path) -> None:
    home = (site / "index.html").read_text(encoding="utf-8")
    assert 'class="md-header__button md-logo"' in home
    assert "img/logo.svg" in home
    assert 'rel="icon" href="img/favicon.svg"' in home
    assert (site / "img" / "logo.svg").is_file()
    assert (site / "img" / "favicon.svg").is_file()
    headings = re.findall(r'<h2 id="([\w-]+)"', home)
    assert headings[0] == "install", headings  # the first section, near the top


def test_the_404_page_links_resolve_under_the_site_url(site: Path) -> None:
    """The 404 page is served at any depth, so its links are absolute under site_url."""
    page = (site / "404.html").read_text(encoding="utf-8")
    local = [
        link
        for link in re.findall(r'(?:href|src)="([^"#]+)"', page)
        if not link.startswith(("http://", "https://", "data:"))
    ]
    assert local
    for link in local:
        assert link.startswith("/nanoservices/"), link
        target = site / link.removeprefix("/nanoservices/")
        assert target.is_file() or (target / "index.html").is_file(), link


def test_defaults_read_well_in_help_too() -> None:
    """The sentinels' reprs are their names, so ``help()`` shows what the docs show."""
    from nanoservices import service
    from nanoservices.aio import aservice
    from nanoservices.core import ServiceFactory
    from nanoservices.observe import Recorder

    shown = " ".join(
        str(inspect.signature(f))
        for f in (service, aservice, ServiceFactory.with_options, Recorder.expect)
    )
    assert shown.count("' = FROM_ANNOTATION") == 2  # service, aservice
    assert shown.count("' = UNCHANGED") == 2  # with_options: restart, request_type
    assert "' = ANY_VALUE" in shown
    assert not PRIVATE_NAME.search(shown), shown


def test_no_attribute_renders_its_constructor_assignment(site: Path) -> None:
    """``self.request = request`` is how the class stores it, not what a reader needs."""
    found = [
        f"{page}: {text}"
        for page, html_text in _pages(site).items()
        for sig in SIGNATURE.findall(html_text)
        if (text := _text(sig).strip())
        and (match := re.fullmatch(r"(\w+)(?::[^=]*)? = (\w+|\(.*\))", text, re.S))
        and match.group(2) not in ("None", "True", "False")
    ]
    assert not found, found
