"""Composition costs, side by side in one run.

* a call through a keyed router, and through two nested routers, against a
  direct call to the same service and a bare ``gen.send``;
* items per second through a 5-stage push pipeline against the same five
  functions called by hand.

Targets: a router adds at most one bare send's worth per level; a pipeline
reaches at least half the hand-written throughput. Run: ``python
benchmarks/bench_compose.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

from nanoservices import service
from nanoservices._pipeline import collect, transform
from nanoservices._router import menu, router


def echo() -> Generator[Any, Any, None]:
    reply = None
    while True:
        reply = yield reply


def _best(fn: Callable[[int], None], n: int, repeat: int) -> float:
    """Best seconds per operation over ``repeat`` runs of ``n`` operations."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(n)
        best = min(best, time.perf_counter() - start)
    return best / n


def _calls(send: Callable[[Any], Any], request: Any) -> Callable[[int], None]:
    def run(n: int) -> None:
        for _ in range(n):
            send(request)

    return run


def echo_until_falsy() -> Generator[Any, Any, None]:
    reply = None
    while request := (yield reply):
        reply = request


def router_rows(n: int, repeat: int) -> list[tuple[str, float]]:
    gen = echo()
    next(gen)
    direct = service(echo)()
    menu_h = menu({"echo": echo_until_falsy}).service(raw=False)()
    menu_h("echo")
    bare = router({"echo": echo})()
    next(bare)
    unchecked = router({"echo": echo}).service(validate=False)()
    checked = router({"echo": echo}).service()()
    inner = router({"echo": echo}, name="inner")
    two = router({"in": inner}, name="outer").service(validate=False)()
    two_checked = router({"in": inner}, name="outer").service()()
    return [
        ("bare gen.send", _best(_calls(gen.send, 1), n, repeat)),
        ("direct handle call", _best(_calls(direct.call, 1), n, repeat)),
        ("menu (yield from), handle", _best(_calls(menu_h.call, 1), n, repeat)),
        ("keyed router, bare generator", _best(_calls(bare.send, ("echo", 1)), n, repeat)),
        ("keyed router, handle", _best(_calls(unchecked.call, ("echo", 1)), n, repeat)),
        ("keyed router, handle + check", _best(_calls(checked.call, ("echo", 1)), n, repeat)),
        ("2 keyed routers, handle", _best(_calls(two.call, ("in", ("echo", 1))), n, repeat)),
        (
            "2 keyed routers, handle + check",
            _best(_calls(two_checked.call, ("in", ("echo", 1))), n, repeat),
        ),
    ]


def _fns() -> list[Callable[[int], int]]:
    return [
        lambda x: x + 1,
        lambda x: x * 3,
        lambda x: x - 2,
        lambda x: x ^ 5,
        lambda x: x & 0xFFFF,
    ]


def pipeline_rows(n: int, repeat: int) -> list[tuple[str, float]]:
    f1, f2, f3, f4, f5 = _fns()
    sink: list[int] = []

    def by_hand(count: int) -> None:
        sink.clear()
        append = sink.append
        for x in range(count):
            append(f5(f4(f3(f2(f1(x))))))

    chain = transform(f1) | transform(f2) | transform(f3) | transform(f4) | transform(f5)
    definition = chain | collect()

    def piped(count: int) -> None:
        with definition.open() as running:
            running.feed(range(count))

    return [
        ("5 functions by hand", _best(by_hand, n, repeat)),
        ("5-stage pipeline", _best(piped, n, repeat)),
    ]


def _table(title: str, rows: list[tuple[str, float]], unit: str) -> Iterator[str]:
    base = rows[0][1]
    yield f"\n{title}"
    yield f"{'':34}{unit:>14}{'ratio':>9}"
    for label, seconds in rows:
        value = f"{seconds * 1e9:.1f} ns" if unit == "per call" else f"{1 / seconds / 1e6:.2f} M/s"
        yield f"{label:34}{value:>14}{seconds / base:>8.2f}x"


def main(
    argv: list[str] | None = None, *, calls: int | None = None, repeat: int = 5
) -> dict[str, float]:
    """Run every row; print the tables; return the headline ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer calls, for a quick look")
    args = parser.parse_args(argv)
    n = calls or (50_000 if args.quick else 500_000)
    routers = router_rows(n, repeat)
    pipes = pipeline_rows(n, repeat)
    for line in _table("routers (time per call, ratio to a bare send)", routers, "per call"):
        print(line)
    for line in _table("pipelines (throughput, time ratio to by hand)", pipes, "items/s"):
        print(line)
    costs = dict(routers)
    bare, direct = costs["bare gen.send"], costs["direct handle call"]
    one, two = costs["keyed router, handle"], costs["2 keyed routers, handle"]
    ratios = {
        "menu_level_cost_in_bare_sends": (costs["menu (yield from), handle"] - direct) / bare,
        "router_level_cost_in_bare_sends": (one - direct) / bare,
        "second_level_cost_in_bare_sends": (two - one) / bare,
        "check_cost_in_bare_sends": (costs["keyed router, handle + check"] - one) / bare,
        "pipeline_throughput_vs_hand": pipes[0][1] / pipes[1][1],
    }
    print()
    for key, value in ratios.items():
        print(f"{key:36}{value:6.2f}")
    return ratios


if __name__ == "__main__":
    main()
