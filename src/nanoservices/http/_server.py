"""``nanoservices serve``: services over HTTP (Starlette on uvicorn).

Routes (JSON bodies; errors are ``application/problem+json``):

```text
GET    /health  /ready  /stats  /metrics  /openapi.json  /services
POST   /services/{name}/sessions                  {"args": [...], "kwargs": {...}, "key": "..."}
GET    /services/{name}/sessions/{id}             -> {"state": ...}
DELETE /services/{name}/sessions/{id}             close (finally blocks run)
POST   /services/{name}/sessions/{id}/call        request -> reply
POST   /services/{name}/sessions/{id}/stream      request -> JSON lines, end/error frame
                                                  (?window=N: N items, then a more frame)
POST   /services/{name}/sessions/{id}/stream/next the open stream's next page (?window=N)
DELETE /services/{name}/sessions/{id}/stream      cancel the open stream
POST   /services/{name}/sessions/{id}/reset
POST   /services/{name}/sessions/{id}/throw       {"type": "KeyError", "args": [...]}
POST   /services/{name}/sessions/{id}/restart     -> {"state": ..., "greeting": ...}
```

This module wires the app: the routes (each endpoint in
[`nanoservices.http._routes`][], guarded so that every error is a problem
document) and the server's life: shared instances and durable stores opened
at the start, idle sessions swept, every session closed at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nanoservices.core import ServiceError
from nanoservices.core.seam import missing_extra

from . import _problems
from ._auth import Auth
from ._decoding import BodyReader
from ._host import Served, start_instance
from ._metrics import ServerMetrics
from ._problems import Refused
from ._routes import Endpoints
from ._sessions import SessionTable, close_quietly

__all__ = ["create_app"]

_log = logging.getLogger("nanoservices.http")

Endpoint = Callable[[Request], Awaitable[Response]]


def _guarded(endpoint: Endpoint) -> Endpoint:
    """The endpoint, answering every error with a problem document (never text/plain)."""

    async def run(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Refused as refused:
            return refused.response()
        except RecursionError:
            return _problems.too_deep().response()
        except Exception:
            _log.exception("%s %s failed", request.method, request.url.path)
            return _problems.internal().response()

    return run


def _route(path: str, **endpoints: Endpoint) -> Route:
    """One route per path, its methods dispatched here: a 405 then names every method
    the path has (``Allow``), exactly those the OpenAPI document lists (no implicit HEAD)."""
    guarded = {method: _guarded(endpoint) for method, endpoint in endpoints.items()}

    async def dispatch(request: Request) -> Response:
        return await guarded[request.method](request)

    route = Route(path, dispatch, methods=list(endpoints))
    route.methods = set(endpoints)  # Starlette adds HEAD to GET routes: not served here
    return route


async def _http_problem(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (no such route or method) as problem documents."""
    assert isinstance(exc, HTTPException)
    return _problems.no_route(exc.status_code, str(exc.detail), exc.headers).response()


async def _internal_problem(request: Request, exc: Exception) -> Response:
    return _problems.internal().response()


class _Server:
    """The server's life: what opens at its start, is swept while it runs, closes at its end."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        state = self.endpoints
        state.stopping = asyncio.Event()
        await state.keyed.start()
        metrics = state.metrics
        undo = (
            [metrics.timing_appends(store) for store in state.keyed.stores()]
            if metrics is not None
            else []
        )
        for name, served in state.services.items():
            if served.shared:
                state.shared[name] = await start_instance(
                    served, tuple(served.args), dict(served.kwargs)
                )
        sweeper = asyncio.create_task(self._sweep())
        state.ready = True
        try:
            yield
        finally:
            state.ready = False
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            try:
                await self.close_all()
            finally:
                for undo_timing in undo:
                    undo_timing()
                await state.keyed.stop()

    def begin_shutdown(self) -> None:
        """The server stops: open streams end now with an error frame that says so.

        Called by [`nanoservices.http._run.Server`][] in the server's loop before
        uvicorn waits for open responses (which would otherwise run until cut off).
        """
        self.endpoints.ready = False
        if self.endpoints.stopping is not None:
            self.endpoints.stopping.set()

    async def close_all(self) -> None:
        """Close every session and shared instance, so every ``finally`` block runs."""
        sessions = self.endpoints.sessions
        for session in sessions.all():
            sessions.remove(session, "closed")
            await close_quietly(session, "at shutdown")
        for name, handle in self.endpoints.shared.items():
            try:
                await handle.aclose()
            except ServiceError:
                pass
            except Exception:
                _log.exception("closing shared service %r at shutdown raised", name)

    async def _sweep(self) -> None:
        sessions = self.endpoints.sessions
        interval = min(max(sessions.idle_timeout / 4, 0.05), 30.0)
        while True:
            await asyncio.sleep(interval)
            for session in sessions.idle():
                sessions.remove(session, "expired")
                await close_quietly(session, "an idle")


def create_app(
    services: Mapping[str, Any] | Iterable[Served],
    *,
    tokens: Iterable[str] = (),
    max_sessions: int = 1000,
    idle_timeout: float = 300.0,
    max_body: int = 1 << 20,
    max_sessions_per_client: int = 100,
    body_timeout: float = 30.0,
    metrics: bool = True,
    dashboard: bool = False,
    dashboard_tick: float = 1.0,
) -> Starlette:
    """The ASGI app serving ``services`` (factories by name, or [`Served`][] entries).

    Args:
        tokens: bearer tokens accepted; none means no auth (bind to 127.0.0.1 then).
        max_sessions: open sessions allowed at once (429 past it).
        idle_timeout: seconds after which an unused session is closed.
        max_body: largest request body accepted, in bytes (413 past it).
        max_sessions_per_client: open sessions one client may hold (429 past it); a
            client is its bearer token with auth on, else its IP address.
        body_timeout: seconds a request body may take to arrive (408 past it).
        metrics: serve Prometheus metrics at ``/metrics`` (behind the token); off, the
            calls and streams are not measured at all.
        dashboard: serve the read-only live dashboard at ``/dashboard/`` (behind the
            token; it reads the metrics, so needs them on).
        dashboard_tick: seconds between two live updates of a dashboard page.
    """
    if dashboard and not metrics:
        raise ValueError("the dashboard reads the server's metrics: keep metrics on")
    if isinstance(services, Mapping):
        entries = [
            v if isinstance(v, Served) else Served(v, name=name) for name, v in services.items()
        ]
    else:
        entries = list(services)
    endpoints = Endpoints(
        {s.name: s for s in entries},
        Auth(tokens),
        SessionTable(max_sessions, idle_timeout),
        BodyReader(max_body, body_timeout),
        max_sessions_per_client,
    )
    server = _Server(endpoints)
    e = endpoints
    measured: Callable[[Endpoint], Endpoint] = lambda endpoint: endpoint  # noqa: E731
    if metrics:
        e.metrics = ServerMetrics(e.services, e.sessions, e.counters)
        measured = e.metrics.measured
    base = "/services/{name}/sessions/{session}"
    routes: list[BaseRoute] = [
        _route("/health", GET=e.health),
        _route("/ready", GET=e.readiness),
        _route("/stats", GET=e.statistics),
        _route("/openapi.json", GET=e.openapi_doc),
        _route("/services", GET=e.listing),
        _route("/services/{name}/sessions", POST=e.open_session),
        _route(base, GET=e.session_state, DELETE=e.close_session),
        _route(base + "/call", POST=measured(e.call)),
        _route(base + "/stream", POST=measured(e.stream), DELETE=e.cancel_stream),
        _route(base + "/stream/next", POST=e.stream_page),
        _route(base + "/reset", POST=e.reset),
        _route(base + "/restart", POST=e.restart),
        _route(base + "/throw", POST=e.throw),
    ]
    if metrics:
        routes.insert(3, _route("/metrics", GET=e.metrics_text))
    if dashboard:
        try:  # Jinja2 is loaded only for the dashboard
            from .dashboard import dashboard_routes
        except ModuleNotFoundError as exc:
            raise missing_extra("the dashboard", "Jinja2", "dashboard", exc.name or "") from None
        routes.extend(dashboard_routes(e, dashboard_tick))
    app = Starlette(
        routes=routes,
        lifespan=server.lifespan,
        exception_handlers={HTTPException: _http_problem, Exception: _internal_problem},
    )
    app.state.nanoservices = server
    return app
