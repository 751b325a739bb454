"""Composition costs, side by side in one run.

* a call through a keyed router, and through two nested routers, against a
  direct call to the same service and a bare ``gen.send``;
* items per second through a 5-stage push pipeline against the same five
  functions called by hand.

Every row is timed interleaved with the others (round-robin batches, medians;
see ``nanoservices._bench._compose``), so a noisy neighbour hits them alike.
Targets (issue 15): a router adds at most 1.5 bare sends per level; a 5-stage
pipeline reaches at least 0.8x the hand-written throughput. Run: ``python
benchmarks/bench_compose.py [--quick] [--rounds N]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from nanoservices._bench._compose import COMPOSE_ROWS, ComposeResult, measure_compose

ROUTER_ROWS = ("bare_send", "call", "menu", "router_bare", "router", "router_checked", "router2")
ROUTER_ROWS += ("router2_checked",)
PIPELINE_ROWS = ("by_hand", "pipeline")
TARGETS = {
    "router_level_cost_in_bare_sends": ("<=", 1.5),
    "pipeline_throughput_vs_hand": (">=", 0.8),
}


def _table(result: ComposeResult, title: str, keys: tuple[str, ...], unit: str) -> Iterator[str]:
    base = result.ns(keys[0])
    yield f"\n{title}"
    yield f"{'':34}{unit:>14}{'ratio':>9}{'q1-q3':>16}"
    for key in keys:
        sample = result.samples[key]
        ns = sample.median_ns
        value = f"{ns:.1f} ns" if unit == "per call" else f"{1e3 / ns:.2f} M/s"
        spread = f"{sample.q1_ns:.0f}-{sample.q3_ns:.0f} ns"
        yield f"{result.labels[key]:34}{value:>14}{ns / base:>8.2f}x{spread:>16}"


def main(
    argv: list[str] | None = None, *, calls: int | None = None, repeat: int | None = None
) -> dict[str, float]:
    """Run every row interleaved; print the tables; return the headline ratios.

    ``calls`` caps the batch size and ``repeat`` sets the rounds (tests use tiny ones).
    """
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for a quick look")
    parser.add_argument("--rounds", type=int, help="round-robin rounds (default 600, quick 60)")
    args = parser.parse_args(argv)
    rounds = repeat or args.rounds or (60 if args.quick else 600)
    largest = calls or 10_000
    # short batches, many rounds: on a shared machine a batch shorter than a
    # scheduler time slice is more often timed whole, unpreempted
    result = measure_compose(
        rounds=rounds,
        target_batch_ns=250_000,
        min_batch=min(100, largest),
        max_batch=largest,
    )
    assert {row.key for row in COMPOSE_ROWS} == set(ROUTER_ROWS + PIPELINE_ROWS)
    for line in _table(
        result, "routers (time per call, ratio to a bare send)", ROUTER_ROWS, "per call"
    ):
        print(line)
    for line in _table(
        result, "pipelines (throughput, time ratio to by hand)", PIPELINE_ROWS, "items/s"
    ):
        print(line)
    ratios = result.ratios
    print(f"\n{rounds} interleaved rounds; medians")
    for key, value in ratios.items():
        target = TARGETS.get(key)
        verdict = ""
        if target is not None:
            sign, limit = target
            met = value <= limit if sign == "<=" else value >= limit
            verdict = f"  target {sign} {limit}: {'PASS' if met else 'MISS'}"
        print(f"{key:36}{value:6.2f}{verdict}")
    return ratios


if __name__ == "__main__":
    main()
