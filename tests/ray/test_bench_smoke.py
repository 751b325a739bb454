"""The Ray benchmark runs end to end at a tiny size, so that it cannot rot (no speed asserts)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ray, pytest.mark.slow]

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "bench_ray.py"


def test_bench_ray_runs_at_a_tiny_size(local_ray: None, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_ray", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_ray", bench)  # its dataclasses look their module up
    spec.loader.exec_module(bench)
    figures = bench.run(bench.TINY)
    assert figures["call_ratio"] > 0
    assert figures["stream_items_per_s"] > 0
    assert figures["bytes_per_service_1000"] > 0
    assert "host actor memory" in capsys.readouterr().out
