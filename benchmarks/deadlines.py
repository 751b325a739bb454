"""Deadlines per transport: how far past its deadline a caller waits, and how soon
a cancelled stream's ``finally`` has run.

Run: ``python benchmarks/deadlines.py [--quick] [--runs N] [--no-ray] [--only NAME]``. Every
row drives ``nanoservices.examples.basics.patient`` (its async twin for the
async rows) on one transport, ``--runs`` times, and prints median and max:

* **stops**: a service that stops itself when ``remaining()`` reaches 0 (an
  async one is cancelled at its ``await`` and handles it), deadline 50 ms: how
  long after the deadline the caller's wait ends;
* **deaf**: a service that sleeps 200 ms and ignores the deadline (50 ms): the
  same. Where the service runs in the caller's thread it cannot be interrupted
  (about 150 ms late, by design); elsewhere the caller gives up at its deadline;
* **cancel**: from ``cancel()`` on an open stream to its return, which comes
  once the service's ``finally`` has run (the tests check it does).

The async rows are driven from a sync caller through an event loop thread (as
the behaviour suite does), so they include one thread hop per step. HTTP runs
uvicorn in a thread of this process; Ray a one-host pool on a local Ray.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any

from nanoservices import DeadlineExceeded
from nanoservices.aio import to_async
from nanoservices.examples import abasics, basics
from nanoservices.testing._loop import LoopThread, SyncFacade

DEADLINE = 0.05  # seconds
NAP = 0.2  # what the deaf service sleeps, deadline or not

Start = Callable[[], Any]


@contextmanager
def _plain(make: Start) -> Iterator[Start]:
    yield make


@contextmanager
def _looped(make: Callable[[LoopThread], Any]) -> Iterator[Start]:
    runner = LoopThread()
    try:
        yield lambda: make(runner)
    finally:
        runner.stop()


def _async_service(runner: LoopThread) -> SyncFacade:
    async def started() -> Any:
        return await abasics.patient()

    return SyncFacade(runner, runner.run(started()))


@contextmanager
def _http(factory: Any) -> Iterator[Start]:
    from nanoservices.http import Served, connect, create_app
    from nanoservices.http._run import serving_app

    with serving_app(create_app([Served(factory, offload=True)])) as url:
        yield lambda: connect(url, "patient")


@contextmanager
def _ray(factory: Any) -> Iterator[Start]:
    import ray

    from nanoservices.ray import ServiceHostPool

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        with ServiceHostPool(1, num_cpus=0.1) as pool:
            yield lambda: pool.start(factory)
    finally:
        ray.shutdown()


def transports(with_ray: bool) -> list[tuple[str, Callable[[], AbstractContextManager[Start]]]]:
    """(name, session) per transport; ``session()`` yields a ``start()`` of a fresh patient."""
    rows: list[tuple[str, Callable[[], AbstractContextManager[Start]]]] = [
        ("local", lambda: _plain(basics.patient)),
        ("shared", lambda: _plain(lambda: basics.patient().shared())),
        ("async", lambda: _looped(_async_service)),
        ("async-wrapped", lambda: _looped(lambda r: SyncFacade(r, to_async(basics.patient())))),
        (
            "async-offload",
            lambda: _looped(lambda r: SyncFacade(r, to_async(basics.patient(), offload=True))),
        ),
        ("http (sync service)", lambda: _http(basics.patient)),
        ("http (async service)", lambda: _http(abasics.patient)),
    ]
    if with_ray:
        rows.append(("ray (sync service)", lambda: _ray(basics.patient)))
        rows.append(("ray (async service)", lambda: _ray(abasics.patient)))
    return rows


def _late(h: Any, request: object) -> float:
    """Seconds past the deadline when the caller's wait for ``request`` ended."""
    start = time.perf_counter()
    try:
        h.call(request, timeout=DEADLINE)
    except DeadlineExceeded:
        pass
    return time.perf_counter() - start - DEADLINE


def _cancel(h: Any) -> float:
    """Seconds from ``cancel()`` of an open stream until it returned (its finally ran)."""
    items = h.stream(["ticks", None])
    next(items)
    start = time.perf_counter()
    items.cancel()
    took = time.perf_counter() - start
    if h.call("notes") != ["finally"]:
        raise AssertionError("the stream's finally did not run before cancel() returned")
    return took


def measure(start: Start, runs: int) -> dict[str, list[float]]:
    """The three measures, ``runs`` times each, on fresh handles from ``start``."""
    found: dict[str, list[float]] = {"stops": [], "deaf": [], "cancel": []}
    with ExitStack() as stack:
        h = stack.enter_context(start())
        h.call("notes")  # warm up: connections, first calls
        for _ in range(runs):
            found["stops"].append(_late(h, ["until", 5.0]))
            h.call("notes")
            found["deaf"].append(_late(h, ["nap", NAP]))
            h.reset()  # an async service left FAILED by the cancellation restarts
            h.call(["note", "sync"])  # waits for the step still running elsewhere
            h.call("notes")
            found["cancel"].append(_cancel(h))
    return found


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1e3:7.1f} {max(values) * 1e3:7.1f}"


def main(argv: list[str] | None = None) -> dict[str, dict[str, list[float]]]:
    """Measure every transport; print one table; return the samples (seconds)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 runs per row")
    parser.add_argument("--runs", type=int, help="runs per row (default 30)")
    parser.add_argument("--no-ray", action="store_true", help="leave out the Ray rows")
    parser.add_argument("--only", help="only the rows whose name contains this (say: ray)")
    args = parser.parse_args(argv)
    runs = args.runs or (5 if args.quick else 30)
    results: dict[str, dict[str, list[float]]] = {}
    print(f"deadline {DEADLINE * 1e3:.0f} ms; deaf service sleeps {NAP * 1e3:.0f} ms; {runs} runs")
    print(f"{'':22}{'past deadline (ms): stops':>26}{'deaf':>17}{'cancel -> finally':>20}")
    print(f"{'transport':22}{'median     max':>26}{'median     max':>17}{'median     max':>20}")
    for name, session in transports(with_ray=not args.no_ray):
        if args.only and args.only not in name:
            continue
        with session() as start:
            found = measure(start, runs)
        results[name] = found
        print(
            f"{name:22}{_ms(found['stops']):>26}{_ms(found['deaf']):>17}{_ms(found['cancel']):>20}"
        )
    return results


if __name__ == "__main__":
    main()
