"""`nanoservices serve` from the command line: the operator's --set, and no client arguments."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from nanoservices import InvalidRequestError
from nanoservices.http import connect

pytestmark = pytest.mark.http


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "nanoservices", "serve", "nanoservices.examples.basics:counter",
         "--port", str(port), "--set", "start=100"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stderr is not None
    for line in process.stderr:  # wait for the server to say it listens (no sleeps)
        if "Uvicorn running on" in line:  # logged once the socket listens
            break
    else:
        pytest.fail("the server did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def test_serve_uses_the_operators_arguments_and_refuses_the_clients(served: str) -> None:
    with connect(served, "counter") as h:
        assert h.greeting == 100
        assert h(1) == 101
    with pytest.raises(InvalidRequestError, match="operator"):
        connect(served, "counter", 5)


def test_serve_dashboard_is_behind_the_token() -> None:
    import httpx

    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "nanoservices", "serve", "nanoservices.examples.basics:counter",
         "--port", str(port), "--token", "cli-token", "--dashboard"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stderr is not None
    said = []
    for line in process.stderr:
        said.append(line)
        if "Uvicorn running on" in line:
            break
    try:
        assert any("/dashboard/" in line for line in said)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/dashboard/").status_code == 401
        assert httpx.get(f"{base}/metrics").status_code == 401
        bearer = {"authorization": "Bearer cli-token"}
        assert httpx.get(f"{base}/dashboard/", headers=bearer).status_code == 200
        assert "nanoservices_requests_total" in httpx.get(f"{base}/metrics", headers=bearer).text
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


@pytest.mark.parametrize("mode", ["sync", "batched"])
def test_a_durable_store_that_cannot_open_is_a_usage_error(tmp_path: object, mode: str) -> None:
    """A journal location the server cannot open is refused before it serves: one
    line naming the option and the cause, no traceback, exit status 2."""
    missing = os.path.join(str(tmp_path), "no-such-folder", "journal.sqlite")
    done = subprocess.run(
        [sys.executable, "-m", "nanoservices", "serve", "nanoservices.examples.ledger:ledger",
         "--port", str(_free_port()), "--durable", missing, "--durable-mode", mode],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "serving" not in done.stderr  # refused before it says it serves
    assert done.stderr.startswith("error: --durable: cannot open the journal store: ")
    assert "unable to open database file" in done.stderr
