"""Smoke run of benchmarks/bench_observe.py so it cannot rot (no speed asserts)."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

SCRIPT = pathlib.Path(__file__).parent.parent / "benchmarks" / "bench_observe.py"


def test_bench_observe_quick_run(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_observe", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(["--quick"])
    assert [name for name, _ in results][:2] == ["bare gen.send", "handle, tracing off"]
    assert len(results) == 5
    assert all(ns > 0 for _, ns in results)
    assert "x untraced" in capsys.readouterr().out
