"""Issue 7's benchmark: what a nanoservice on Ray costs, against Ray itself.

One run, on a local Ray it starts (a one-node ``LoopbackCluster``: loopback,
logs in a temp dir):

* calls: a call through a ``RayHandle`` against a raw Ray actor method doing
  the same work (times five, state kept in the actor), interleaved rounds,
  medians; a local handle call for scale. Target: at most 1.1x the raw call.
* streams: items per second through ``RayHandle.stream`` (batched pulls, and
  one item per round trip) against a raw Ray streaming generator
  (``num_returns="streaming"``) yielding the same items.
* memory: a host actor's resident memory with 0, then N, then 10N idle
  services (``counter``), and the bytes each hosted service costs.

    python benchmarks/bench_ray.py --quick
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import ray

from nanoservices.examples import basics
from nanoservices.ray import LoopbackCluster, ServiceHostPool

B = "nanoservices.examples.basics"


@dataclass(frozen=True)
class Scale:
    """How much to measure."""

    calls: int  # per round
    rounds: int
    stream_items: int
    services: int  # first memory step; the second is ten times more


TINY = Scale(calls=20, rounds=2, stream_items=200, services=100)
QUICK = Scale(calls=300, rounds=7, stream_items=20_000, services=10_000)
FULL = Scale(calls=2_000, rounds=9, stream_items=200_000, services=10_000)


class RawTimesFive:
    """The raw Ray baseline: the same work as ``basics.times_five``, as an actor method."""

    def __init__(self) -> None:
        self.calls = 0

    def work(self, request: Any) -> Any:
        self.calls += 1
        return request * 5

    def items(self, n: int) -> Iterator[int]:
        # Ray drives it with send(): a real loop, since `yield from range` would fail
        for item in range(n, 0, -1):  # noqa: UP028
            yield item


def _per_call(fn: Callable[[int], Any], calls: int) -> float:
    start = time.perf_counter()
    for i in range(calls):
        fn(i)
    return (time.perf_counter() - start) / calls


def _paired(
    first: Callable[[int], Any], second: Callable[[int], Any], calls: int
) -> tuple[float, float]:
    """Per-call times of two call paths, alternated call by call: on a busy
    2-core machine, drift and noise then hit both alike."""
    clock = time.perf_counter
    a = b = 0.0
    for i in range(calls):
        t0 = clock()
        first(i)
        t1 = clock()
        second(i)
        t2 = clock()
        a += t1 - t0
        b += t2 - t1
    return a / calls, b / calls


def _items_per_second(items: Callable[[], Iterator[Any]], expected: int) -> float:
    start = time.perf_counter()
    count = sum(1 for _ in items())
    elapsed = time.perf_counter() - start
    assert count == expected, (count, expected)
    return count / elapsed


def _table(title: str, rows: list[tuple[str, str, str]]) -> None:
    print(f"\n{title}")
    width = max(len(r[0]) for r in rows)
    for name, value, ratio in rows:
        print(f"  {name:<{width}}  {value:>14}  {ratio:>9}")


def run(scale: Scale) -> dict[str, float]:
    """Measure every row; print the tables; return the figures."""
    figures: dict[str, float] = {}
    if __name__ != "__main__":  # imported (the smoke test): workers cannot import this file
        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    started = None if ray.is_initialized() else LoopbackCluster(head_cpus=2).start()
    try:
        with ServiceHostPool(1, num_cpus=0.1) as pool:
            raw = ray.remote(RawTimesFive).options(num_cpus=0.1).remote()
            handle = pool.start(basics.times_five)
            raw_call = raw.work.remote
            raw_stream = raw.items.options(num_returns="streaming").remote

            def raw_fn(i: int) -> Any:
                return ray.get(raw_call(i))

            for fn in (raw_fn, handle.call):  # warm both up
                _per_call(fn, 20)
            ray_times: list[float] = []
            raw_times: list[float] = []
            for _ in range(scale.rounds):
                raw_time, ray_time = _paired(raw_fn, handle.call, scale.calls)
                raw_times.append(raw_time)
                ray_times.append(ray_time)
            local = basics.times_five()
            local_time = min(_per_call(local.call, 100_000) for _ in range(3))
            raw_us = statistics.median(raw_times) * 1e6
            ray_us = statistics.median(ray_times) * 1e6
            figures.update(raw_call_us=raw_us, ray_call_us=ray_us, local_call_us=local_time * 1e6)
            figures["call_ratio"] = ray_us / raw_us
            _table(
                "calls (median per call; ratio to the raw Ray actor call)",
                [
                    ("raw Ray actor method", f"{raw_us:,.1f} us", "1.00x"),
                    ("RayHandle.call", f"{ray_us:,.1f} us", f"{ray_us / raw_us:.3f}x"),
                    (
                        "LocalHandle.call (scale)",
                        f"{local_time * 1e9:,.0f} ns",
                        f"{local_time * 1e6 / raw_us:.5f}x",
                    ),
                ],
            )
            target = "PASS" if figures["call_ratio"] <= 1.1 else "MISS"
            print(f"  target: RayHandle.call <= 1.1x raw actor call: {target}")

            n = scale.stream_items
            countdown = pool.start(f"{B}:countdown")
            one_by_one = pool.start(f"{B}:countdown", batch=1)
            small = max(n // 20, 10)
            rows = {
                "RayHandle.stream (batched pulls)": (lambda: countdown.stream(n), n),
                "RayHandle.stream (batch=1)": (lambda: one_by_one.stream(small), small),
                "raw Ray streaming generator": (
                    lambda: (ray.get(ref) for ref in raw_stream(small)),
                    small,
                ),
            }
            rates = {name: _items_per_second(fn, k) for name, (fn, k) in rows.items()}
            base = rates["raw Ray streaming generator"]
            _table(
                "streamed items per second (ratio to a raw Ray streaming generator)",
                [(name, f"{rate:,.0f} /s", f"{rate / base:.2f}x") for name, rate in rates.items()],
            )
            figures["stream_items_per_s"] = rates["RayHandle.stream (batched pulls)"]
            figures["stream_items_per_s_batch1"] = rates["RayHandle.stream (batch=1)"]
            figures["raw_stream_items_per_s"] = base

        with ServiceHostPool(1, num_cpus=0.1) as hosts:
            host = hosts.actors[0]
            empty = ray.get(host.memory.remote())["rss"]
            rows_mem: list[tuple[str, str, str]] = [("0 services", f"{empty / 2**20:,.1f} MiB", "")]
            total = 0
            for step in (scale.services, 9 * scale.services):
                ray.get(host.open_many.remote(f"{B}:counter", step, (), {}))
                total += step
                rss = ray.get(host.memory.remote())["rss"]
                per = (rss - empty) / total
                figures[f"bytes_per_service_{total}"] = per
                rows_mem.append((f"{total:,} services", f"{rss / 2**20:,.1f} MiB", f"{per:,.0f} B"))
            _table("host actor memory (RSS; bytes per hosted idle service)", rows_mem)
    finally:
        if started is not None:
            started.shutdown()
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (a missed target is reported, not fatal)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="seconds, not minutes")
    args = parser.parse_args(argv)
    run(QUICK if args.quick else FULL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
