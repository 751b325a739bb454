"""Running a server: uvicorn bound to 127.0.0.1 unless told otherwise."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import uvicorn

from ._host import Served
from ._server import create_app

__all__ = ["serve"]


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
