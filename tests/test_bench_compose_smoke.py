"""The composition benchmark still runs (tiny counts; no speed asserts)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).parent.parent / "benchmarks" / "bench_compose.py"


def test_bench_compose_runs_with_tiny_counts(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_compose", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ratios = module.main(["--quick"], calls=50, repeat=1)
    out = capsys.readouterr().out
    assert "keyed router" in out
    assert "5-stage pipeline" in out
    assert set(ratios) >= {"router_level_cost_in_bare_sends", "pipeline_throughput_vs_hand"}
