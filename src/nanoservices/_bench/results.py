"""What one benchmark run measured: its configuration, its rows, its goals, and
the result that holds them all (plain data, shared by the report, the chart,
the files and the tests)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["BenchConfig", "BenchResult", "MemoryRow", "MillionRow", "SpeedRow", "Target"]


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """How hard to measure. ``QUICK`` and ``FULL`` are the presets; tests use
    tiny ones."""

    mode: str
    rounds: int
    target_batch_ns: int  # each batch runs about this long
    max_batch: int  # in-process rows: at most this many calls per batch
    min_batch: int
    slow_max_batch: int  # rows that cross a thread or process
    slow_min_batch: int
    memory_counts: dict[str, int] = field(default_factory=dict)
    million: int = 0  # live services for the total-memory target; 0: skip
    million_md5: int = 0  # live bundled md5 services (typed) for their target; 0: skip
    rss: bool = True  # also measure RSS deltas in fresh child processes


@dataclass(frozen=True, slots=True)
class Target:
    """One target: ``measured`` must be at most (or, with ``at_least``, at
    least) ``limit``."""

    name: str
    measured: float
    limit: float
    unit: str  # "x" for ratios, "sends" (bare sends added), "bytes"
    at_least: bool = False

    @property
    def passed(self) -> bool:
        """Whether the measured value meets the limit."""
        if self.at_least:
            return self.measured >= self.limit
        return self.measured <= self.limit

    @property
    def verdict(self) -> str:
        """``PASS`` or ``MISS``."""
        return "PASS" if self.passed else "MISS"

    @property
    def margin(self) -> float:
        """How far from the limit, as a ratio (> 1 means met by that factor)."""
        if self.measured == 0 or self.limit == 0:
            return float("inf")
        return self.measured / self.limit if self.at_least else self.limit / self.measured


@dataclass(frozen=True, slots=True)
class SpeedRow:
    """One speed row: median ns per request, quartiles, and ratios to bare send."""

    key: str
    label: str
    group: str
    median_ns: float
    q1_ns: float
    q3_ns: float
    ratio: float  # median / bare send's median
    net_ratio: float | None  # the same with the empty loop's cost taken off both
    batch: int
    rounds: int


@dataclass(frozen=True, slots=True)
class MemoryRow:
    """One memory row: bytes per live idle instance."""

    key: str
    label: str
    count: int
    traced_bytes: float  # tracemalloc, per instance
    rss_bytes: float | None  # RSS growth in a fresh process, per instance
    ratio: float  # traced bytes / a bare primed generator's


@dataclass(frozen=True, slots=True)
class MillionRow:
    """The total-memory target: many live services in one fresh process."""

    count: int
    rss_delta_bytes: int | None
    rss_total_bytes: int | None


@dataclass(slots=True)
class BenchResult:
    """Everything one run measured, plus where and how."""

    config: BenchConfig
    speed: list[SpeedRow]
    memory: list[MemoryRow]
    million: MillionRow | None
    targets: list[Target]
    environment: dict[str, Any]
    skipped: dict[str, str]  # row key -> why it could not run
    million_md5: MillionRow | None = None  # the typed services' total-memory target

    def row(self, key: str) -> SpeedRow:
        """The speed row called ``key``."""
        for row in self.speed:
            if row.key == key:
                return row
        raise KeyError(key)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``json.dump``."""
        return asdict(self)
