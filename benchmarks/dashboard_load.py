"""The HTTP load (50 clients x 200 calls) with the dashboard's event stream connected, and without.

Run: ``python benchmarks/dashboard_load.py [--rounds 3]``. The server runs in its
own process (``nanoservices serve ... --dashboard``), the clients in threads of
this one; the configurations alternate, round after round, so that a machine's
changing load falls on each alike:

* ``off``: served without ``--dashboard``;
* ``on, no page``: served with ``--dashboard``, no page open;
* ``overview open``: one overview page's event stream connected (a render a tick);
* ``service page open``: one page of the loaded service connected (its 50
  sessions inspected every tick).

Prints the calls per second of each run, the median per configuration and its
ratio to ``off``.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from nanoservices.http import connect

CLIENTS = 50
CALLS = 200
TOKEN = "load-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(dashboard: bool) -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, "-m", "nanoservices", "serve",
               "nanoservices.examples.basics:counter", "--port", str(port), "--token", TOKEN,
               "--inline", "--client-args", "--max-sessions-per-client", "1000"]  # fmt: skip
    if dashboard:
        command.append("--dashboard")
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    assert process.stderr is not None
    for line in process.stderr:
        if "Uvicorn running on" in line:
            break
    threading.Thread(target=process.stderr.read, daemon=True).start()  # keep it drained
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def page_open(url: str, view: str | None) -> Iterator[None]:
    """One dashboard page's event stream, read as a browser would, while the block runs."""
    if view is None:
        yield
        return
    done = threading.Event()
    updates = [0]

    def read() -> None:
        with httpx.stream("GET", f"{url}/dashboard/events?{view}", headers=AUTH, timeout=None) as s:
            for line in s.iter_lines():
                if line.startswith("event: update"):
                    updates[0] += 1
                if done.is_set():
                    return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield
    finally:
        done.set()
    if updates[0] == 0:
        raise RuntimeError("the page received no update")


def load(url: str) -> float:
    """Calls per second of 50 clients x 200 calls (each its own session)."""
    barrier = threading.Barrier(CLIENTS + 1)
    errors: list[str] = []

    def client(n: int) -> None:
        try:
            with connect(url, "counter", n, token=TOKEN) as handle:
                barrier.wait()
                for i in range(1, CALLS + 1):
                    if handle(1) != n + i:
                        errors.append(f"client {n}: a wrong total")
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    barrier.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(errors[:3])
    return CLIENTS * CALLS / elapsed


CONFIGS = [
    ("off", False, None),
    ("on, no page", True, None),
    ("overview open", True, "view=overview"),
    ("service page open", True, "view=service&name=counter"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    print(f"load before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
    rates: dict[str, list[float]] = {name: [] for name, _, _ in CONFIGS}
    for r in range(rounds):
        for name, dashboard, view in CONFIGS:
            with serving(dashboard) as url, page_open(url, view):
                rate = load(url)
            rates[name].append(rate)
            print(f"round {r + 1}  {name:<18} {rate:8,.0f} calls/s")
    base = statistics.median(rates["off"])
    print(f"\n{'configuration':<18} {'median calls/s':>15} {'vs off':>8}")
    for name, _, _ in CONFIGS:
        median = statistics.median(rates[name])
        print(f"{name:<18} {median:15,.0f} {median / base:7.2f}x")
    print(f"load after: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
