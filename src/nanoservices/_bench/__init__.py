"""The nanoservices benchmark, shared by ``nanoservices bench`` and
``benchmarks/bench_core.py``.

What a request costs through every nanoservices call path and through what
people would use instead (threads and queues, asyncio, processes, actors), all
as ratios to a bare ``gen.send`` of the same echo body; and what an idle
service costs in memory. ``run_suite`` measures, ``report`` prints, ``chart``
draws, ``output`` writes files.
"""

from .core import FULL, QUICK, run_suite
from .results import BenchConfig, BenchResult, MemoryRow, MillionRow, SpeedRow, Target

__all__ = [
    "FULL",
    "QUICK",
    "BenchConfig",
    "BenchResult",
    "MemoryRow",
    "MillionRow",
    "SpeedRow",
    "Target",
    "run_suite",
]
