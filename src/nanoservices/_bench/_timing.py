"""Interleaved batch timing: the method behind every speed row.

Each candidate is a *batch*: a callable that makes ``n`` requests. A batch is
timed with ``perf_counter_ns`` and divided by ``n``; the candidates take turns
(round-robin, the starting one rotating every round) so that clock drift, CPU
frequency changes and noisy neighbours hit all of them alike; the median over
rounds is reported. The garbage collector is off while timing, so no candidate
pays for another's garbage.
"""

from __future__ import annotations

import gc
import statistics
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from time import perf_counter_ns

__all__ = ["Batch", "Candidate", "Sample", "calibrate", "gc_off", "interleave", "summarize"]

#: Makes ``n`` requests, one after the other.
Batch = Callable[[int], None]

#: Called after each round with (rounds done, rounds in all).
RoundHook = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One row of the speed table: how to set it up and what it stands for.

    ``setup`` is a context manager giving the batch; leaving it tears down
    threads, processes and loops. ``group`` is ``baseline``, ``nanoservices``
    or ``alternative`` (what people would use instead).
    """

    key: str
    label: str
    group: str
    setup: Callable[[], AbstractContextManager[Batch]]
    slow: bool = False  # crosses a thread or process: smaller batches


@dataclass(frozen=True, slots=True)
class Sample:
    """What the rounds measured for one candidate, in ns per request."""

    median_ns: float
    q1_ns: float
    q3_ns: float
    rounds: int
    batch: int


class gc_off(AbstractContextManager[None]):
    """Collect once, then keep the garbage collector off inside the block."""

    def __enter__(self) -> None:
        gc.collect()
        self._was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc_info: object) -> None:
        if self._was_enabled:
            gc.enable()


def time_batch(batch: Batch, n: int) -> int:
    """Nanoseconds one batch of ``n`` requests takes."""
    start = perf_counter_ns()
    batch(n)
    return perf_counter_ns() - start


def calibrate(batch: Batch, target_ns: int, smallest: int, largest: int) -> int:
    """The batch size (between ``smallest`` and ``largest``) that takes about
    ``target_ns``: long enough to dwarf the timer's own cost, short enough for
    many rounds."""
    n = smallest
    while n < largest:
        elapsed = time_batch(batch, n)
        if elapsed >= target_ns:
            break
        grow = target_ns / max(elapsed, 1)
        n = min(largest, max(n * 2, int(n * min(grow, 10.0))))
    return min(n, largest)


def _rotations(keys: Sequence[str], rounds: int) -> Iterator[list[str]]:
    for r in range(rounds):
        shift = r % len(keys)
        yield [*keys[shift:], *keys[:shift]]


def interleave(
    batches: dict[str, Batch],
    sizes: dict[str, int],
    rounds: int,
    on_round: RoundHook | None = None,
) -> dict[str, list[float]]:
    """Run ``rounds`` round-robin rounds (one batch per candidate each) and
    return every candidate's per-request times (ns), one per round."""
    keys = list(batches)
    samples: dict[str, list[float]] = {key: [] for key in keys}
    with gc_off():
        for key in keys:  # warm-up round, not recorded
            batches[key](sizes[key])
        for done, order in enumerate(_rotations(keys, rounds), start=1):
            for key in order:
                n = sizes[key]
                samples[key].append(time_batch(batches[key], n) / n)
            if on_round is not None:
                on_round(done, rounds)
    return samples


def summarize(times: Sequence[float], batch: int) -> Sample:
    """Median and quartiles of one candidate's per-round times."""
    if len(times) >= 2:
        q1, _, q3 = statistics.quantiles(times, n=4, method="inclusive")
    else:
        q1 = q3 = times[0]
    return Sample(statistics.median(times), q1, q3, len(times), batch)
