"""What observing a service costs: tracing off, statistics on, tracing on.

Standalone: ``python benchmarks/bench_observe.py`` (``--quick`` for a smoke
run). All rows are measured in one run and shown as ns per call and as ratios
to a bare ``gen.send`` and to the untraced handle call.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable, Generator
from typing import Any

from nanoservices import service
from nanoservices.observe import LoggingTracer, Recorder, measure, trace


@service
def echo() -> Generator[Any, Any, None]:
    request = yield None
    while True:
        request = yield request


def _bare() -> Generator[Any, Any, None]:
    request = yield None
    while True:
        request = yield request


def _best_ns(fn: Callable[[int], None], loops: int, repeats: int) -> float:
    """The fastest of ``repeats`` runs, in ns per call (the least disturbed run)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter_ns()
        fn(loops)
        best = min(best, (time.perf_counter_ns() - start) / loops)
    return best


def _loop(call: Callable[[Any], Any]) -> Callable[[int], None]:
    def run(n: int) -> None:
        for i in range(n):
            call(i)

    return run


def rows(loops: int, repeats: int) -> list[tuple[str, float]]:
    """(name, ns per call) for every configuration, in one run."""
    gen = _bare()
    next(gen)
    off = echo()
    stats = echo()
    measure(stats)
    recorded = echo()
    recorder = Recorder()
    trace(recorded, recorder)
    logged = echo()
    null = logging.getLogger("nanoservices.bench.null")
    null.addHandler(logging.NullHandler())
    null.setLevel(logging.DEBUG)
    null.propagate = False
    trace(logged, LoggingTracer(null))

    def recorder_run(n: int) -> None:
        _loop(recorded)(n)
        recorder.clear()  # keep memory flat between repeats

    configs: list[tuple[str, Callable[[int], None]]] = [
        ("bare gen.send", _loop(gen.send)),
        ("handle, tracing off", _loop(off)),
        ("handle, statistics on", _loop(stats)),
        ("handle, tracing to Recorder", recorder_run),
        ("handle, tracing to logging (NullHandler)", _loop(logged)),
    ]
    return [(name, _best_ns(fn, loops, repeats)) for name, fn in configs]


def main(argv: list[str] | None = None) -> list[tuple[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tiny run, to check it works")
    args = parser.parse_args(argv)
    loops, repeats = (200, 2) if args.quick else (200_000, 7)
    results = rows(loops, repeats)
    bare, off = results[0][1], results[1][1]
    print(f"{'configuration':42} {'ns/call':>9} {'x bare send':>12} {'x untraced':>11}")
    for name, ns in results:
        print(f"{name:42} {ns:9.0f} {ns / bare:12.2f} {ns / off:11.2f}")
    return results


if __name__ == "__main__":
    main()
