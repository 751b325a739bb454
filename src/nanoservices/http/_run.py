"""Running a server: uvicorn bound to 127.0.0.1 unless told otherwise (or in a thread)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import uvicorn

from ._host import Served
from ._server import create_app

__all__ = ["running", "serve"]


def serve(
    services: Mapping[str, Any] | Iterable[Served],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    tokens: Iterable[str] = (),
    max_sessions: int = 1000,
    idle_timeout: float = 300.0,
    max_body: int = 1 << 20,
    log_level: str = "info",
) -> None:
    """Serve ``services`` until interrupted; on shutdown every service is closed.

    Binding anything but loopback without ``tokens`` lets anyone on the network
    start and drive your services: pass a token.
    """
    app = create_app(
        services,
        tokens=tokens,
        max_sessions=max_sessions,
        idle_timeout=idle_timeout,
        max_body=max_body,
    )
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5, lifespan="on"
    )
    uvicorn.Server(config).run()


class _ThreadServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # only the main thread takes signals
        pass


@contextlib.contextmanager
def running(
    services: Mapping[str, Any] | Iterable[Served], *, port: int = 0, **options: Any
) -> Iterator[str]:
    """Serve ``services`` on 127.0.0.1 in a background thread; yields the base URL.

    For tests, notebooks and examples. Leaving the block shuts the server down
    gracefully (every service is closed). ``options`` go to :func:`create_app`.
    """
    config = uvicorn.Config(
        create_app(services, **options),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = _ThreadServer(config)
    thread = threading.Thread(target=server.run, name="nanoservices-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start (see its log)")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
