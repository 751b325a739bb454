"""The live view of a server: a read-only dashboard at ``/dashboard`` (``serve --dashboard``).

Server-rendered pages (Jinja2, every value escaped) that update themselves by
server-sent events, with htmx and its SSE extension shipped in this package:
nothing loads from anywhere but the server (its Content-Security-Policy says
so). The pages:

- ``/dashboard/``: the services, their sessions by state, calls per second,
  error rate, p50/p90/p99, restarts and open streams;
- ``/dashboard/services/{name}``: a service's sessions, grouped by where each
  one waits (its innermost frame's file and line);
- ``/dashboard/services/{name}/sessions/{ref}``: a session's frames with their
  locals (secrets redacted as ``inspect_service`` redacts), its figures and
  its last failure with its location.

The dashboard is behind the server's token: an API client sends it as a bearer
token; a browser signs in once with a form, and keeps a cookie holding the
token sealed with a secret of this server's run (HMAC), never the token itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib.resources import files
from typing import Any, Final
from urllib.parse import parse_qs

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from nanoservices.http._problems import Refused
from nanoservices.http._routes import Endpoints

from ._views import (
    find_session,
    overview,
    service_sessions,
    session_detail,
)
from ._window import SPAN, Window

__all__ = ["ROOT", "dashboard_routes"]

#: Where the dashboard is served.
ROOT: Final = "/dashboard"
#: The cookie a signed-in browser keeps.
COOKIE: Final = "nanoservices_dashboard"
#: Seconds between two live updates of a page.
TICK: Final = 1.0
#: Largest sign-in form accepted, in bytes.
_MAX_FORM: Final = 4096

#: Every page's headers: nothing from elsewhere, never framed, never sniffed.
SECURITY_HEADERS: Final = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",  # (no-referrer would make a form's Origin null)
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}

Endpoint = Callable[[Request], Awaitable[Response]]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "\N{EN DASH}"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _seconds(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("nanoservices.http.dashboard", "templates"),
        autoescape=True,  # every value a client sent is escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["duration"] = _duration
    env.filters["seconds"] = _seconds
    env.filters["basename"] = os.path.basename
    env.globals["root"] = ROOT
    env.globals["span"] = SPAN
    return env


class _Gate:
    """Who may see the dashboard: anyone without tokens (bind loopback then); else a
    request with a valid bearer token, or a browser holding a sealed token."""

    def __init__(self, endpoints: Endpoints) -> None:
        self._auth = endpoints.auth
        self._secret = secrets.token_bytes(32)  # this run's: a restart signs everyone out
        self._sealed = self._auth.sealed(self._secret)

    def allows(self, request: Request) -> bool:
        if not self._auth.on:
            return True
        if "authorization" in request.headers:
            try:
                self._auth.owner(request)
            except Refused:
                return False
            return True
        try:
            given = bytes.fromhex(request.cookies.get(COOKIE, ""))
        except ValueError:
            return False
        matched = False
        for sealed in self._sealed:
            matched |= secrets.compare_digest(given, sealed)
        return matched

    def cookie(self, token: str) -> str | None:
        """The cookie's value for ``token``, or None when it is not one of the server's."""
        if not self._auth.accepts(token):
            return None
        return self._auth.seal(self._secret, token).hex()


class Dashboard:
    """The dashboard's pages and their live updates, over the server's state."""

    def __init__(self, endpoints: Endpoints, tick: float = TICK) -> None:
        if endpoints.metrics is None:
            raise ValueError("the dashboard reads the server's metrics: serve them too")
        self.endpoints = endpoints
        self.tick = tick
        self.window = Window(endpoints.metrics.totals)
        self.gate = _Gate(endpoints)
        self.env = _templates()

    # -- answering --------------------------------------------------------------------

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(**values)
        return HTMLResponse(html, status, headers=SECURITY_HEADERS)

    def refused(self, request: Request, wrong: bool = False) -> Response:
        """No valid token: a browser gets the sign-in page, a program the problem."""
        if "text/html" in request.headers.get("accept", ""):
            return self.render("login.html", 401, wrong=wrong)
        return Refused(
            {
                "type": "about:blank",
                "title": "Unauthorized",
                "status": 401,
                "detail": "the dashboard needs one of the server's tokens (a bearer token)",
            },
            {"www-authenticate": "Bearer"},
        ).response()

    def guarded(self, page: Endpoint) -> Endpoint:
        async def run(request: Request) -> Response:
            if not self.gate.allows(request):
                return self.refused(request)
            return await page(request)

        return run

    # -- the pages --------------------------------------------------------------------

    def _overview(self) -> dict[str, Any]:
        return {"rows": overview(self.endpoints, self.window.rates())}

    def _service(self, name: str) -> dict[str, Any]:
        parked, sessions = service_sessions(self.endpoints, name)
        return {"name": name, "parked": parked, "sessions": sessions}

    def _session(self, name: str, ref: str) -> dict[str, Any]:
        session = find_session(self.endpoints, name, ref)
        detail = session_detail(session) if session is not None else None
        return {"name": name, "ref": ref, "detail": detail}

    async def overview_page(self, request: Request) -> Response:
        return self.render("overview.html", **self._overview())

    def _served(self, request: Request) -> str | None:
        name = request.path_params["name"]
        return name if name in self.endpoints.services else None

    async def service_page(self, request: Request) -> Response:
        name = self._served(request)
        if name is None:
            return self.render("gone.html", 404, what="No such service.")
        return self.render("service.html", **self._service(name))

    async def session_page(self, request: Request) -> Response:
        name = self._served(request)
        ref = request.path_params["ref"]
        if name is None or find_session(self.endpoints, name, ref) is None:
            return self.render("gone.html", 404, what="No such session (it may have ended).")
        return self.render("session.html", **self._session(name, ref))

    async def login(self, request: Request) -> Response:
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
            return self.render("login.html", 403, wrong=False)  # another site posted it
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > _MAX_FORM:
                return self.render("login.html", 413, wrong=True)
        tokens = parse_qs(body.decode("utf-8", "replace")).get("token", [""])
        value = self.gate.cookie(tokens[0])
        if value is None:
            return self.render("login.html", 401, wrong=True)
        answer = RedirectResponse(f"{ROOT}/", 303, headers=SECURITY_HEADERS)
        answer.set_cookie(
            COOKIE,
            value,
            path=ROOT,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return answer

    # -- live updates ----------------------------------------------------------------

    async def events(self, request: Request) -> Response:
        """The page's fragment, rendered again every tick, as server-sent events."""
        view = request.query_params.get("view", "overview")
        name = request.query_params.get("name", "")
        if view != "overview" and name not in self.endpoints.services:
            return Response(status_code=204)  # tells EventSource to stop
        fragment: Callable[[], str]
        if view == "service":
            template = self.env.get_template("service_body.html")
            fragment = lambda: template.render(**self._service(name))  # noqa: E731
        elif view == "session":
            ref = request.query_params.get("ref", "")
            template = self.env.get_template("session_body.html")
            fragment = lambda: template.render(**self._session(name, ref))  # noqa: E731
        else:
            template = self.env.get_template("overview_rows.html")
            fragment = lambda: template.render(**self._overview())  # noqa: E731
        headers = {**SECURITY_HEADERS, "x-accel-buffering": "no"}
        return StreamingResponse(
            self._updates(fragment), media_type="text/event-stream", headers=headers
        )

    async def _updates(self, fragment: Callable[[], str]) -> AsyncIterator[bytes]:
        stopping = self.endpoints.stopping
        yield b"retry: 2000\n\n"
        while stopping is None or not stopping.is_set():
            lines = fragment().splitlines() or [""]
            yield ("event: update\n" + "".join(f"data: {line}\n" for line in lines) + "\n").encode()
            if stopping is None:
                await asyncio.sleep(self.tick)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.tick)


def dashboard_routes(endpoints: Endpoints, tick: float = TICK) -> list[BaseRoute]:
    """The dashboard's routes, under [`ROOT`][], over the server's ``endpoints``."""
    board = Dashboard(endpoints, tick)
    static = StaticFiles(directory=str(files("nanoservices.http.dashboard") / "static"))
    guard = board.guarded

    async def to_overview(request: Request) -> Response:
        return RedirectResponse(f"{ROOT}/", 308)

    return [
        Route(ROOT, to_overview, methods=["GET"]),
        Route(f"{ROOT}/", guard(board.overview_page), methods=["GET"]),
        Route(f"{ROOT}/login", board.login, methods=["POST"]),
        Route(f"{ROOT}/events", guard(board.events), methods=["GET"]),
        Route(f"{ROOT}/services/{{name}}", guard(board.service_page), methods=["GET"]),
        Route(
            f"{ROOT}/services/{{name}}/sessions/{{ref}}",
            guard(board.session_page),
            methods=["GET"],
        ),
        Mount(f"{ROOT}/static", static, name="dashboard-static"),
    ]
