"""A uvicorn server in a thread, on 127.0.0.1 and a free port (for tests and benchmarks)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from nanoservices.http import Served, create_app
from nanoservices.http._host import discover


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # a thread cannot take signals
        pass


@contextmanager
def serving_app(app: Any) -> Iterator[str]:
    """Serve ``app`` in a thread; yields its base URL; stops it gracefully on exit."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="on",
        timeout_graceful_shutdown=5,
    )  # fmt: skip
    server = _Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextmanager
def serving(target: str, **options: Any) -> Iterator[str]:
    """Serve the services of ``target`` (``module`` or ``module:factory``)."""
    offload = options.pop("offload", True)
    services = [Served(f, offload=offload) for f in discover(target).values()]
    with serving_app(create_app(services, **options)) as url:
        yield url
