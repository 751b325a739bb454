"""The benchmark suite: the presets, and one run of every row into a result.

``run_suite(config)`` sets every speed row up at once, sizes each row's batch,
times them interleaved (see ``_timing``), then measures idle memory (see
``_memory``) and checks the targets. The result is plain data: the CLI, the
``benchmarks/bench_core.py`` script and the tests all share it.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from ._compose import BENCH_ROWS as COMPOSE_ROWS
from ._mechanisms import MECHANISM_ROWS
from ._memory import MEMORY_KINDS, rss_delta, traced_delta
from ._speed import SPEED_ROWS
from ._timing import Batch, Candidate, Sample, calibrate, interleave, summarize
from .results import BenchConfig, BenchResult, MemoryRow, MillionRow, SpeedRow
from .targets import check_targets

__all__ = ["FULL", "QUICK", "Progress", "run_suite"]

BASELINE = "bare_send"

#: Told (what is happening, steps done, steps in all) as the run goes.
Progress = Callable[[str, int, int], None]


QUICK = BenchConfig(
    mode="quick",
    rounds=40,
    target_batch_ns=400_000,
    max_batch=2_000,
    min_batch=100,
    slow_max_batch=200,
    slow_min_batch=10,
    memory_counts={
        "generator": 20_000,
        "service": 20_000,
        "md5": 20_000,
        "md5_untyped": 20_000,
        "asyncio_task": 10_000,
        "thread": 200,
    },
)

FULL = BenchConfig(
    mode="full",
    rounds=300,
    target_batch_ns=2_000_000,
    max_batch=10_000,
    min_batch=1_000,
    slow_max_batch=2_000,
    slow_min_batch=10,
    memory_counts={
        "generator": 100_000,
        "service": 100_000,
        "md5": 100_000,
        "md5_untyped": 100_000,
        "asyncio_task": 100_000,
        "thread": 1_000,
    },
    million=1_000_000,
    million_md5=1_000_000,
)


def environment() -> dict[str, Any]:
    """Where the numbers come from: they mean little without it."""
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def _open_rows(
    stack: ExitStack, rows: tuple[Candidate, ...], skipped: dict[str, str]
) -> dict[str, tuple[Candidate, Batch]]:
    opened: dict[str, tuple[Candidate, Batch]] = {}
    for row in rows:
        try:
            opened[row.key] = (row, stack.enter_context(row.setup()))
        except ImportError as exc:  # an optional mechanism (Pykka) is not installed
            skipped[row.key] = f"not installed: {exc.name or exc}"
    return opened


def _speed_rows(
    samples: dict[str, Sample], opened: dict[str, tuple[Candidate, Batch]]
) -> list[SpeedRow]:
    base = samples[BASELINE].median_ns
    loop = samples["loop"].median_ns if "loop" in samples else None
    rows = []
    for key, sample in samples.items():
        row = opened[key][0]
        net = None
        if loop is not None and base > loop:
            net = (sample.median_ns - loop) / (base - loop)
        rows.append(
            SpeedRow(
                key=key,
                label=row.label,
                group=row.group,
                median_ns=sample.median_ns,
                q1_ns=sample.q1_ns,
                q3_ns=sample.q3_ns,
                ratio=sample.median_ns / base,
                net_ratio=net,
                batch=sample.batch,
                rounds=sample.rounds,
            )
        )
    return rows


def measure_speed(
    config: BenchConfig, step: Callable[[str], None], skipped: dict[str, str]
) -> list[SpeedRow]:
    """Open every speed row, size its batches, time them all interleaved."""
    with ExitStack() as stack:
        step("starting threads, a process, a loop and an actor")
        opened = _open_rows(stack, SPEED_ROWS + COMPOSE_ROWS + MECHANISM_ROWS, skipped)
        step("sizing batches")
        sizes = {
            key: calibrate(
                batch,
                config.target_batch_ns,
                config.slow_min_batch if row.slow else config.min_batch,
                config.slow_max_batch if row.slow else config.max_batch,
            )
            for key, (row, batch) in opened.items()
        }
        batches = {key: batch for key, (_, batch) in opened.items()}
        times = interleave(batches, sizes, config.rounds, lambda done, _: step(f"round {done}"))
        samples = {key: summarize(times[key], sizes[key]) for key in batches}
        return _speed_rows(samples, opened)


def measure_memory(config: BenchConfig, step: Callable[[str], None]) -> list[MemoryRow]:
    """Bytes per live idle instance of every memory kind."""
    measured: list[tuple[str, str, int, float, float | None]] = []
    for kind in MEMORY_KINDS:
        count = config.memory_counts.get(kind.key, 0)
        if count <= 0:
            continue
        step(f"memory: {count:,} x {kind.label}")
        traced = traced_delta(kind.build, count) / count
        rss = rss_delta(kind.key, count)[0] if config.rss else None
        measured.append((kind.key, kind.label, count, traced, None if rss is None else rss / count))
    base = next((m[3] for m in measured if m[0] == "generator"), None)
    return [
        MemoryRow(key, label, count, traced, rss, traced / base if base else float("nan"))
        for key, label, count, traced, rss in measured
    ]


def measure_million(config: BenchConfig, step: Callable[[str], None]) -> MillionRow | None:
    """Total RSS of a fresh process holding ``config.million`` live services."""
    if config.million <= 0:
        return None
    step(f"memory: {config.million:,} live services")
    delta, total = rss_delta("service", config.million)
    return MillionRow(config.million, delta, total)


def measure_million_md5(config: BenchConfig, step: Callable[[str], None]) -> MillionRow | None:
    """Total RSS of a fresh process holding ``config.million_md5`` bundled md5 services."""
    if config.million_md5 <= 0:
        return None
    step(f"memory: {config.million_md5:,} live md5 services")
    delta, total = rss_delta("md5", config.million_md5)
    return MillionRow(config.million_md5, delta, total)


def total_steps(config: BenchConfig) -> int:
    """How many progress steps ``run_suite`` reports."""
    memory = sum(1 for kind in MEMORY_KINDS if config.memory_counts.get(kind.key, 0) > 0)
    millions = (config.million > 0) + (config.million_md5 > 0)
    return 2 + config.rounds + memory + millions


def run_suite(config: BenchConfig = QUICK, progress: Progress | None = None) -> BenchResult:
    """Run every row of the benchmark once and check the targets."""
    total = total_steps(config)
    done = 0

    def step(what: str) -> None:
        nonlocal done
        if progress is not None:
            progress(what, done, total)
        done += 1

    skipped: dict[str, str] = {}
    speed = measure_speed(config, step, skipped)
    memory = measure_memory(config, step)
    million = measure_million(config, step)
    million_md5 = measure_million_md5(config, step)
    if progress is not None:
        progress("done", total, total)
    result = BenchResult(config, speed, memory, million, [], environment(), skipped, million_md5)
    result.targets = check_targets(result)
    return result
