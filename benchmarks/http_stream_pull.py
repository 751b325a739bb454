"""How far an HTTP stream's server runs ahead of its reader, and bulk stream speed.

Run: ``python benchmarks/http_stream_pull.py [--items N] [--repeat R]``. The
server runs in its own process (uvicorn on 127.0.0.1); the client:

* reads 3 items of an endless stream, stops reading for ``--pause`` seconds,
  and asks the server how many items the endless source had produced by then
  (a lazy stream: the first window's items; an eager one: thousands);
* reads a stream of ``--items`` items to its end, best of ``--repeat`` runs,
  and prints items per second (a service run inline in the server's loop, and
  one offloaded to threads, the default for sync services).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Generator, Iterator
from typing import Any

import httpx
from bench_http import serving
from starlette.applications import Starlette

from nanoservices import service, streamed
from nanoservices.examples.basics import countdown
from nanoservices.http import Served, connect, create_app

PRODUCED = [0]


def _endless() -> Iterator[int]:
    for n in itertools.count():
        PRODUCED[0] = n + 1
        yield n


@service
def endless() -> Generator[Any, object, None]:
    """Streams 0, 1, 2, ... for ever for any request but ``"produced"``, which
    replies with how many items the endless sources have produced so far."""
    reply: Any = None
    while True:
        request = yield reply
        reply = PRODUCED[0] if request == "produced" else streamed(_endless())


def app() -> Starlette:
    return create_app(
        [
            Served(countdown, offload=False),
            Served(countdown, name="countdown_t"),
            Served(endless, offload=False),
        ]
    )


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pause", type=float, default=0.5)
    args = parser.parse_args(argv)
    rows: dict[str, float] = {}
    with serving("http_stream_pull:app") as url, httpx.Client() as http:
        with connect(url, "endless", client=http) as reader, connect(url, "endless") as asker:
            items = reader.stream(None)
            read = [next(items) for _ in range(3)]
            assert read == [0, 1, 2], read
            time.sleep(args.pause)
            rows["produced for 3 read"] = asker("produced")
            items.cancel()
        for name, label in (("countdown", "inline"), ("countdown_t", "offload")):
            with connect(url, name, client=http) as h:
                best = 0.0
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    count = sum(1 for _ in h.stream(args.items))
                    best = max(best, count / (time.perf_counter() - t0))
                rows[f"items/s ({args.items:,} items, {label})"] = best
    for key, value in rows.items():
        print(f"{key:<36} {value:>12,.0f}")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
