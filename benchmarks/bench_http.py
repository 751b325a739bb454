"""HTTP transport benchmark: remote calls vs a bare Starlette endpoint, streams, local vs remote.

Run: ``python benchmarks/bench_http.py [--quick]``. Every row uses the same
httpx.Client on loopback against uvicorn in its own process, so the
ratios compare like with like:

* remote call (inline) vs a bare ``async def`` Starlette endpoint doing the
  same work (decode JSON, add to a total, encode JSON): the cost of sessions,
  the handle and problem handling. Target: >= 0.8x the bare throughput.
* remote call (offload, the default for sync services) vs a bare sync ``def``
  endpoint (Starlette runs it in its thread pool too).
* streamed items per second over HTTP (JSON lines), and local vs remote cost.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nanoservices.examples.basics import countdown, counter
from nanoservices.http import Served, connect, create_app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(target: str) -> Iterator[str]:
    """Serve the app factory ``module:function`` of this folder from a separate process
    (no GIL shared with the client); the other HTTP benchmarks serve theirs through it."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", target, "--factory",
         "--app-dir", str(Path(__file__).parent), "--port", str(port), "--log-level", "warning"],
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url + "/health")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def nanoservices_app() -> Starlette:
    """The counter and countdown services, inline and offloaded."""
    return create_app(
        [
            Served(counter, offload=False),
            Served(countdown, offload=False),
            Served(counter, name="counter_t"),
            Served(countdown, name="countdown_t"),
        ]
    )


def bare_app() -> Starlette:
    """The same work as the counter service, with no nanoservices in the way."""
    totals = {"async": 0, "sync": 0}

    async def add_async(request: Request) -> Response:
        totals["async"] += msgspec.json.decode(await request.body())
        return Response(msgspec.json.encode(totals["async"]), media_type="application/json")

    def add_sync_work(body: bytes) -> bytes:
        totals["sync"] += msgspec.json.decode(body)
        return msgspec.json.encode(totals["sync"])

    async def add_sync(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        body = await run_in_threadpool(add_sync_work, await request.body())
        return Response(body, media_type="application/json")

    async def health(request: Request) -> Response:
        return Response(b"ok")

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/async", add_async, methods=["POST"]),
            Route("/sync", add_sync, methods=["POST"]),
        ]
    )


def _rate(fn: Callable[[], object], n: int, repeat: int) -> float:
    """Best operations per second over ``repeat`` runs of ``n``."""
    best = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = max(best, n / (time.perf_counter() - t0))
    return best


def main(
    argv: list[str] | None = None, calls: int | None = None, repeat: int = 3
) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    args = parser.parse_args(argv)
    n = calls or (300 if args.quick else 3000)
    items = n * 10
    rows: dict[str, float] = {}
    local = counter(0)
    rows["local call/s"] = _rate(lambda: local(1), n * 100, repeat)
    drain = countdown()
    rows["local items/s"] = _rate(lambda: sum(1 for _ in drain.stream(items)), 1, repeat) * items
    with (
        serving("bench_http:nanoservices_app") as ours,
        serving("bench_http:bare_app") as bare,
        httpx.Client() as http,
    ):
        for path in ("async", "sync"):
            rows[f"bare {path} endpoint call/s"] = _rate(
                lambda p=path: http.post(f"{bare}/{p}", content=b"1").json(), n, repeat
            )
        for name, label in (("counter", "inline"), ("counter_t", "offload")):
            with connect(ours, name, client=http) as h:
                rows[f"remote call/s ({label})"] = _rate(lambda h=h: h(1), n, repeat)
        for name, label in (("countdown", "inline"), ("countdown_t", "offload")):
            with connect(ours, name, client=http) as h:
                rows[f"remote items/s ({label})"] = (
                    _rate(lambda h=h: sum(1 for _ in h.stream(items)), 1, repeat) * items
                )
    ratios = {
        "remote_inline_vs_bare_async": rows["remote call/s (inline)"]
        / rows["bare async endpoint call/s"],
        "remote_offload_vs_bare_sync": rows["remote call/s (offload)"]
        / rows["bare sync endpoint call/s"],
        "remote_call_cost_in_local_calls": rows["local call/s"] / rows["remote call/s (inline)"],
        "remote_items_vs_local_items": rows["remote items/s (inline)"] / rows["local items/s"],
    }
    width = max(map(len, rows | ratios))
    for key, value in rows.items():
        print(f"{key:<{width}}  {value:>14,.0f}")
    for key, value in ratios.items():
        print(f"{key:<{width}}  {value:>14.3f}")
    return ratios


if __name__ == "__main__":
    main(sys.argv[1:])
