"""Smoke run of benchmarks/deadlines.py so it cannot rot (no speed asserts)."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

SCRIPT = pathlib.Path(__file__).parent.parent / "benchmarks" / "deadlines.py"


@pytest.mark.http
def test_the_deadline_benchmark_runs_every_row_once(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("deadlines_bench", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(["--runs", "1", "--no-ray"])
    assert list(results)[:2] == ["local", "shared"]
    assert "http (async service)" in results
    for found in results.values():
        assert set(found) == {"stops", "deaf", "cancel"}
        assert all(len(values) == 1 for values in found.values())
    assert "cancel -> finally" in capsys.readouterr().out
