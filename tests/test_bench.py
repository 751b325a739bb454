"""Smoke tests of the benchmark (issue 2) and ``nanoservices bench`` (issue 8).

Tiny counts, so they cannot rot and stay fast. No speed asserts: speed is
checked by the benchmark itself, never by a timed unit test on a loaded machine.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

import nanoservices._bench as bench_pkg
from nanoservices._bench import BenchConfig, BenchResult
from nanoservices._bench._compose import BENCH_ROWS as COMPOSE_ROWS
from nanoservices._bench._mechanisms import MECHANISM_ROWS
from nanoservices._bench._memory import MEMORY_KINDS, traced_delta
from nanoservices._bench._services import primed_send
from nanoservices._bench._speed import SPEED_ROWS
from nanoservices._bench._timing import Batch, calibrate, interleave, summarize
from nanoservices._bench.output import write_outputs
from nanoservices._bench.report import render_text

TINY = BenchConfig(
    mode="tiny",
    rounds=3,
    target_batch_ns=20_000,
    max_batch=100,
    min_batch=10,
    slow_max_batch=5,
    slow_min_batch=2,
    memory_counts={
        "generator": 300,
        "service": 300,
        "md5": 300,
        "md5_untyped": 300,
        "asyncio_task": 50,
        "thread": 4,
    },
    million=2_000,
)

#: For the command-line tests: no child processes for memory.
TINY_IN_PROCESS = replace(TINY, rss=False, million=0)

ROOT = Path(__file__).resolve().parents[1]


#: One worker of a parallel run, so the tiny benchmark runs once (tests/conftest.py).
pytestmark = pytest.mark.xdist_group("bench")


@pytest.fixture
def result(tiny_bench: BenchResult) -> BenchResult:
    """The run's tiny benchmark (its progress reached its total: tests/conftest.py)."""
    return tiny_bench


def test_every_row_is_measured(result: BenchResult) -> None:
    keys = [row.key for row in result.speed]
    assert keys == [row.key for row in SPEED_ROWS + COMPOSE_ROWS + MECHANISM_ROWS]
    assert not result.skipped
    for row in result.speed:
        assert row.median_ns > 0
        assert row.q1_ns <= row.median_ns <= row.q3_ns
        assert row.rounds == TINY.rounds


def test_ratios_are_to_bare_send(result: BenchResult) -> None:
    base = result.row("bare_send")
    assert base.ratio == pytest.approx(1.0)
    assert base.net_ratio == pytest.approx(1.0)
    for row in result.speed:
        assert row.ratio == pytest.approx(row.median_ns / base.median_ns)


def test_interleave_runs_every_candidate_once_per_round_at_its_own_size() -> None:
    sent: dict[str, list[int]] = {"a": [], "b": []}

    def batch_of(key: str, send: Callable[[str], object]) -> Batch:
        def batch(n: int) -> None:
            sent[key].append(n)
            for _ in range(n):
                send("ping")

        return batch

    batches = {key: batch_of(key, primed_send()) for key in sent}
    times = interleave(batches, {"a": 20, "b": 30}, rounds=5)
    assert sent == {"a": [20] * 6, "b": [30] * 6}  # one unrecorded warm-up, then 5 rounds
    assert {key: len(samples) for key, samples in times.items()} == {"a": 5, "b": 5}
    assert all(t > 0 for samples in times.values() for t in samples)


def test_summarize_takes_median_and_quartiles() -> None:
    sample = summarize([5.0, 1.0, 3.0, 2.0, 4.0], batch=7)
    assert (sample.median_ns, sample.q1_ns, sample.q3_ns) == (3.0, 2.0, 4.0)
    assert (sample.rounds, sample.batch) == (5, 7)
    assert summarize([9.0], batch=1).median_ns == 9.0


def test_calibrate_stays_in_bounds() -> None:
    send = primed_send()

    def batch(n: int) -> None:
        for _ in range(n):
            send("ping")

    assert calibrate(batch, 10**12, 8, 64) == 64
    assert calibrate(batch, 0, 8, 64) == 8


def test_memory_rows(result: BenchResult) -> None:
    rows = {row.key: row for row in result.memory}
    assert list(rows) == [kind.key for kind in MEMORY_KINDS]
    assert rows["generator"].ratio == pytest.approx(1.0)
    for row in rows.values():
        assert row.traced_bytes > 0
        assert row.count == TINY.memory_counts[row.key]
    assert rows["service"].traced_bytes > rows["generator"].traced_bytes
    assert result.million is not None
    assert result.million.count == TINY.million


def test_traced_delta_counts_instances_not_the_holder() -> None:
    kind = next(kind for kind in MEMORY_KINDS if kind.key == "generator")
    small, large = traced_delta(kind.build, 100), traced_delta(kind.build, 1_000)
    assert 5 < large / small < 20


def test_targets_are_checked(result: BenchResult) -> None:
    names = " ".join(target.name for target in result.targets)
    for part in ("h.call(x)", "hot()", "thread+queue", "idle service", "live services"):
        assert part in names
    for target in result.targets:
        assert target.verdict in {"PASS", "MISS"}


def test_report_and_files(result: BenchResult, tmp_path: Path) -> None:
    text = render_text(result)
    for part in ("bare gen.send", "Pykka actor ask", "Goals"):
        assert part in text
    assert "issue" not in text.lower()  # the product speaks of the product only
    written = write_outputs(result, tmp_path)
    data = json.loads(written.json.read_text(encoding="utf-8"))
    assert {row["key"] for row in data["speed"]} >= {"bare_send", "call", "hot", "pykka_ask"}
    assert all("verdict" in target for target in data["targets"])
    png, svg = written.charts
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert b"<svg" in svg.read_bytes()[:2_000]
    assert written.text.read_text(encoding="utf-8") == text


def test_cli_bench_quick_writes_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nanoservices._cli import _register_commands, app

    monkeypatch.setattr(bench_pkg, "QUICK", TINY_IN_PROCESS)
    _register_commands()
    outcome = CliRunner().invoke(app, ["bench", "--quick", "--out", str(tmp_path)])
    assert outcome.exit_code == 0, outcome.output
    assert "x gen.send" in outcome.output
    for name in ("bench.json", "bench.txt", "bench.png", "bench.svg"):
        assert (tmp_path / name).stat().st_size > 0


def test_cli_bench_time_travel_adds_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nanoservices._bench import _travel
    from nanoservices._cli import _register_commands, app

    monkeypatch.setattr(bench_pkg, "QUICK", TINY_IN_PROCESS)
    measure = _travel.measure_time_travel
    monkeypatch.setattr(
        _travel, "measure_time_travel", lambda *a, **k: measure(steps=300, every=50, samples=5)
    )
    _register_commands()
    args = ["bench", "--quick", "--time-travel", "--out", str(tmp_path)]
    outcome = CliRunner().invoke(app, args)
    assert outcome.exit_code == 0, outcome.output
    assert "at(n), random n: median" in outcome.output
    assert "goal at(n) median <= 50 ms" in outcome.output
    figures = json.loads((tmp_path / "time-travel.json").read_text())
    assert figures["steps"] == 300


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_core", ROOT / "benchmarks/bench_core.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_main(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = _script()
    monkeypatch.setattr(script, "QUICK", TINY_IN_PROCESS)
    out = tmp_path / "bench.json"
    png = tmp_path / "bench.png"
    assert script.main(["--quick", "--json", str(out), "--png", str(png)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["config"]["mode"] == "tiny"
    assert png.read_bytes().startswith(b"\x89PNG")


def test_without_matplotlib_the_table_and_json_are_still_written(
    result: BenchResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain install has no matplotlib: no crash, and the user is told what to install."""
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ModuleNotFoundError
    written = write_outputs(result, tmp_path)
    assert written.charts == []
    assert written.missing is not None
    assert "pip install '.[bench]'" in written.missing  # from the clone: not on PyPI
    assert json.loads(written.json.read_text(encoding="utf-8"))["speed"]
    assert written.text.exists()
