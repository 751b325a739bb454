"""Running a server: uvicorn bound to 127.0.0.1 unless told otherwise (or in a thread).

uvicorn's defaults hold a slow client for ever (it has no timeout for a request's
headers); [`config`][] sets safe limits, documented in docs/http.md:

========================  ========  ==================================================
limit                     default   effect
========================  ========  ==================================================
``header_timeout``        10 s      a request's headers must arrive in time (else closed)
``timeout_keep_alive``    5 s       an idle keep-alive connection is closed
``limit_concurrency``     1000      connections + tasks; past it new requests get 503
``body_timeout``          30 s      a request body must arrive in time (408)
``max_body``              1 MiB     largest request body (413)
``h11 event size``        16 KiB    largest request line + headers (uvicorn's default)
========================  ========  ==================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import h11
import uvicorn
import uvicorn.config
from uvicorn.protocols.http.h11_impl import H11Protocol

from . import _problems
from ._host import Served
from ._server import create_app
from ._wire import PROBLEM_JSON, encode

__all__ = ["Server", "config", "running", "serve"]

#: Seconds a client has to send a request's headers (uvicorn has no such limit).
HEADER_TIMEOUT = 10.0


class _HeaderTimeout(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request headers are too slow,
    and answering a request that is not valid HTTP with a problem document."""

    header_timeout = HEADER_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self.cycle is None or self.cycle.response_complete:  # still no whole request
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm()  # the headers are in: the request runs
        else:
            self._arm()  # bytes of a request whose headers are not all in yet

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to what h11 refused (a malformed request line or header, a
        NUL in a header, two Content-Lengths, a bad chunk size...), as a problem document
        instead of its text/plain: called while h11's ``RemoteProtocolError`` is handled."""
        error = sys.exc_info()[1]
        if not isinstance(error, h11.RemoteProtocolError):
            super().send_400_response(msg)
            return
        status = error.error_status_hint if 400 <= error.error_status_hint < 500 else 400
        doc = _problems.not_http(status, str(error) or msg)
        body = encode(doc.doc)
        headers = [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        self.transport.write(self.conn.send(h11.Response(status_code=status, headers=headers)))
        self.transport.write(self.conn.send(h11.Data(data=body)))
        self.transport.write(self.conn.send(h11.EndOfMessage()))
        self.transport.close()


class Server(uvicorn.Server):
    """uvicorn's server, telling the app first when it stops (so open streams end with
    an error frame instead of being cut off after the grace period)."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        state = getattr(getattr(self.config.app, "state", None), "nanoservices", None)
        if state is not None:
            state.begin_shutdown()
        await super().shutdown(sockets)


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, and the ``nanoservices`` loggers on the same stream with the
    same format (a service's failure is logged there at ERROR, with its traceback)."""
    logs = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    logs["loggers"]["nanoservices"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return logs


def config(
    app: Any, *, host: str, port: int, log_level: str = "info", own_logs: bool = False
) -> uvicorn.Config:
    """The uvicorn configuration with the safe limits above; with ``own_logs`` the
    process's logging is set up too (uvicorn's, and the server's own)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=_log_config() if own_logs else uvicorn.config.LOGGING_CONFIG,
        lifespan="on",
        http=_HeaderTimeout,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=5,
        limit_concurrency=1000,
    )


def serve(
    services: Mapping[str, Any] | Iterable[Served],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    tokens: Iterable[str] = (),
    max_sessions: int = 1000,
    max_sessions_per_client: int = 100,
    idle_timeout: float = 300.0,
    max_body: int = 1 << 20,
    log_level: str = "info",
    dashboard: bool = False,
) -> None:
    """Serve ``services`` until interrupted; on shutdown every service is closed.

    A service's failure is logged at ERROR (the service, the session, the request
    shortened, the full traceback) on the ``nanoservices.http`` logger, which
    writes where uvicorn does.

    Binding anything but loopback without ``tokens`` lets anyone on the network
    start and drive your services: pass a token.
    """
    app = create_app(
        services,
        tokens=tokens,
        max_sessions=max_sessions,
        max_sessions_per_client=max_sessions_per_client,
        idle_timeout=idle_timeout,
        max_body=max_body,
        dashboard=dashboard,
    )
    Server(config(app, host=host, port=port, log_level=log_level, own_logs=True)).run()


@contextlib.contextmanager
def serving_app(app: Any, *, port: int = 0) -> Iterator[str]:
    """Serve an app on 127.0.0.1 in a background thread; yields the base URL."""
    server = Server(config(app, host="127.0.0.1", port=port, log_level="warning"))
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


@contextlib.contextmanager
def running(
    services: Mapping[str, Any] | Iterable[Served], *, port: int = 0, **options: Any
) -> Iterator[str]:
    """Serve ``services`` on 127.0.0.1 in a background thread; yields the base URL.

    For tests, notebooks and examples. Leaving the block shuts the server down
    gracefully (every service is closed). ``options`` go to [`create_app`][].
    """
    with serving_app(create_app(services, **options), port=port) as url:
        yield url
