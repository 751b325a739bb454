"""What time travel costs: moving to any step of a long journal.

A journal of ``steps`` entries (an SQLite file, written in batched mode) is
opened as a history whose checkpoints are taken every ``every`` entries. The
first read replays it whole (and takes the checkpoints); then ``at(n)`` for
random steps ``n`` restores the checkpoint before ``n`` and replays at most
``every`` entries, whatever ``n`` is. ``forward()`` runs one more entry. The
last row replays from the start with no checkpoints: the per-entry cost of a
history without ``snapshots=``.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nanoservices import service
from nanoservices.durable import Snapshots, SQLiteStore, durable, history

__all__ = ["GOAL_MS", "TravelFigures", "measure_time_travel", "render"]

#: The goal: ``at(n)`` in a 100,000-step journal, median at most this many ms.
GOAL_MS = 50.0


@service
def tally() -> Generator[Any, Any, None]:
    """Adds what it is sent; ``None`` reads the total, ``[n]`` sets it (the snapshots)."""
    total = 0
    reply: Any = None
    while True:
        request = yield reply
        if request is None:
            reply = total
        elif isinstance(request, list):
            total = request[0]
            reply = None
        else:
            total += request
            reply = total


SNAPSHOTS = Snapshots(
    take=lambda h: h.call(None), restore=lambda h, s: h.call([s]), every=10**12, state_type=int
)


@dataclass(frozen=True, slots=True)
class TravelFigures:
    """Milliseconds (``*_ms``) and microseconds (``*_us``), over ``samples`` moves."""

    steps: int
    every: int
    samples: int
    first_read_s: float  # the whole journal replayed once, checkpoints taken
    at_median_ms: float
    at_p90_ms: float
    at_max_ms: float
    forward_median_us: float
    replay_per_entry_us: float  # no checkpoints: at(n) costs n times this

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def measure_time_travel(
    steps: int = 100_000, every: int = 1000, samples: int = 200, seed: int = 7
) -> TravelFigures:
    """Write a journal of ``steps`` entries and time moving through its history."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "journal.sqlite"
        with SQLiteStore(path, "batched") as store:
            with durable(tally, key="k", store=store) as handle:
                for i in range(steps):
                    handle.call(i % 7)
            with history(tally, key="k", store=store, snapshots=SNAPSHOTS, every=every) as hist:
                first_read = _timed(lambda: hist.at(steps))
                rng = random.Random(seed)
                picks = [rng.randint(1, steps) for _ in range(samples)]
                at = sorted(_timed(lambda n=n: hist.at(n)) for n in picks)  # type: ignore[misc]
                hist.at(steps // 2)
                forward = [_timed(hist.forward) for _ in range(samples)]
            span = min(steps, 10 * every)
            with history(tally, key="k", store=store) as plain:
                linear = _timed(lambda: plain.at(span)) / span
    return TravelFigures(
        steps=steps,
        every=every,
        samples=samples,
        first_read_s=first_read,
        at_median_ms=statistics.median(at) * 1e3,
        at_p90_ms=at[int(len(at) * 0.9) - 1] * 1e3,
        at_max_ms=at[-1] * 1e3,
        forward_median_us=statistics.median(forward) * 1e6,
        replay_per_entry_us=linear * 1e6,
    )


def render(figures: TravelFigures) -> str:
    """The figures as a few lines of text (the benchmark's report)."""
    f = figures
    return "\n".join(
        [
            f"time travel: a {f.steps:,}-step journal, checkpoints every {f.every:,} entries "
            f"({f.samples} moves)",
            f"  first read (whole journal)   {f.first_read_s:8.2f} s",
            f"  at(n), random n: median      {f.at_median_ms:8.2f} ms   (goal <= {GOAL_MS:g} ms)",
            f"  at(n): p90 / max             {f.at_p90_ms:8.2f} / {f.at_max_ms:.2f} ms",
            f"  forward(): median            {f.forward_median_us:8.1f} us",
            f"  replay, no checkpoints       {f.replay_per_entry_us:8.1f} us per entry",
        ]
    )
