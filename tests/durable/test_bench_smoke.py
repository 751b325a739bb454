"""Smoke run of benchmarks/durable.py so it cannot rot (no speed asserts)."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "durable.py"


def test_durable_benchmark_quick_run(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_durable", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.main(["--quick"])
    names = [name for name, _ in rows]
    assert names[:6] == [
        "plain call",
        "bare committed insert",
        "durable call, sync",
        "bare batched insert (1-byte rows)",
        "bare batched insert (the journal's rows)",
        "durable call, batched",
    ]
    assert all(value > 0 for _, value in rows)
    assert "x batched insert (the journal's rows)" in capsys.readouterr().out
