"""The built site: a sitemap with every page's URL, and internal pages kept out (issue 18)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``mkdocs build --strict`` into a temporary directory, once for the module."""
    out = tmp_path_factory.mktemp("site")
    mkdocs = shutil.which("mkdocs")
    command = [mkdocs] if mkdocs else [sys.executable, "-m", "mkdocs"]
    subprocess.run([*command, "build", "--strict", "--quiet", "-d", str(out)], cwd=ROOT, check=True)
    return out


def test_the_sitemap_lists_pages_under_the_site_url(site: Path) -> None:
    sitemap = (site / "sitemap.xml").read_text(encoding="utf-8")
    assert sitemap.count("<loc>https://") > 20


def test_the_internal_api_contract_page_is_not_published(site: Path) -> None:
    assert not (site / "api-contract" / "index.html").exists()
    assert "api-contract" not in (site / "search" / "search_index.json").read_text("utf-8")


def test_the_benchmark_chart_is_served_as_svg(site: Path) -> None:
    page = (site / "comparison" / "index.html").read_text(encoding="utf-8")
    assert "img/bench.svg" in page
    assert (site / "img" / "bench.svg").is_file()
