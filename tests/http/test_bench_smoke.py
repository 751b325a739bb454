"""The HTTP benchmark still runs (tiny counts; no speed asserts)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).parent.parent.parent / "benchmarks" / "bench_http.py"

pytestmark = pytest.mark.http


def test_bench_http_runs_with_tiny_counts(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_http", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ratios = module.main(["--quick"], calls=20, repeat=1)
    assert "remote call/s (inline)" in capsys.readouterr().out
    assert set(ratios) >= {"remote_inline_vs_bare_async", "remote_items_vs_local_items"}
