"""Durable sessions over ``serve``: a real server process killed with SIGKILL under load,
started again, and every key reopened by its client: in ``sync`` mode no acknowledged
request is lost and each state matches the model.

The server is ``nanoservices serve --durable`` in a child process (uvicorn on
127.0.0.1, a free port); the test waits for its ready line, never a sleep. The
kill comes when the clients have had a chosen number of replies (an event), while
their next requests are in flight.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from nanoservices import ServiceBusyError, TransportError
from nanoservices.http import connect

pytestmark = [pytest.mark.http, pytest.mark.slow]

ROOT = Path(__file__).parents[2]
KEYS = ("acct-0", "acct-1", "acct-2")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(location: str, *extra: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``nanoservices serve --durable LOCATION`` of the durable tests' counter, once it
    says it listens; interrupted (or already killed) on leaving."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "nanoservices", "serve", "tests.durable.services:counter",
         "--port", str(port), "--durable", location, *extra],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stderr is not None
    seen: list[str] = []
    for line in process.stderr:  # the ready line: uvicorn logs it once the socket listens
        seen.append(line)
        if "Uvicorn running on" in line:
            break
    else:
        process.wait()
        pytest.fail("the server did not start:\n" + "".join(seen))
    drain = threading.Thread(target=process.stderr.read, daemon=True)  # keep the pipe empty
    drain.start()
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        drain.join(timeout=60)
        process.stderr.close()


def _drive(url: str, key: str, seed: int, acked: list[int], ack: threading.Event, n: int) -> None:
    """Add to ``key`` until the server dies; ``acked`` gets each acknowledged amount."""
    rng = random.Random(f"{seed}/{key}")
    try:
        with connect(url, "counter", key=key, timeout=60) as handle:
            while True:
                amount = rng.randint(1, 1000)
                handle.call({"type": "Add", "n": amount})
                acked.append(amount)
                if len(acked) >= n:
                    ack.set()
    except TransportError:
        return  # the server was killed under us: the request in flight is unknown


@pytest.mark.parametrize("seed", [1, 2])
def test_sigkilled_server_loses_no_acknowledged_request(tmp_path: Path, seed: int) -> None:
    location = str(tmp_path / "journal.sqlite")
    acked: dict[str, list[int]] = {key: [] for key in KEYS}
    with server(location) as (url, process):
        readies = {key: threading.Event() for key in KEYS}
        drivers = [
            threading.Thread(target=_drive, args=(url, key, seed, acked[key], readies[key], 20))
            for key in KEYS
        ]
        for driver in drivers:
            driver.start()
        for ready in readies.values():  # every client has had 20 replies, and goes on
            ready.wait(timeout=120)
        process.send_signal(signal.SIGKILL)
        process.wait()
        for driver in drivers:
            driver.join(timeout=60)
    with server(location) as (url, _process):
        for key in KEYS:
            model = acked[key]
            assert len(model) >= 20
            with connect(url, "counter", key=key) as handle:
                count, total = handle.call({"type": "Get"})
            # Every acknowledged Add is there; at most the one in flight is too.
            assert count in (len(model), len(model) + 1), (key, count, len(model))
            if count == len(model):
                assert total == sum(model)
            else:
                assert total > sum(model)  # the in-flight Add (1..1000) landed


def test_durable_session_survives_a_graceful_restart_and_refuses_a_second_holder(
    tmp_path: Path,
) -> None:
    location = str(tmp_path / "journal.sqlite")
    with server(location) as (url, _process), connect(url, "counter", key="k") as handle:
        handle.call({"type": "Add", "n": 5})
        assert list(handle.stream({"type": "Count", "upto": 3})) == [1, 2, 3]
        with pytest.raises(ServiceBusyError, match="held by another session"):
            connect(url, "counter", key="k")
    with server(location) as (url, _process), connect(url, "counter", key="k") as handle:
        assert handle.call({"type": "Get"}) == [1, 11]


def test_batched_mode_is_an_operator_choice(tmp_path: Path) -> None:
    location = str(tmp_path / "journal.sqlite")
    with (
        server(location, "--durable-mode", "batched") as (url, _process),
        connect(url, "counter", key="b") as handle,
    ):
        handle.call({"type": "Add", "n": 2})
    with server(location) as (url, _process), connect(url, "counter", key="b") as handle:
        assert handle.call({"type": "Get"}) == [1, 2]  # closing commits the group
