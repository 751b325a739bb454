"""``nanoservices serve``: services over HTTP (Starlette on uvicorn).

Routes (JSON bodies; errors are ``application/problem+json``)::

    GET    /health  /ready  /stats  /openapi.json  /services
    POST   /services/{name}/sessions                  {"args": [...], "kwargs": {...}}
    GET    /services/{name}/sessions/{id}             -> {"state": ...}
    DELETE /services/{name}/sessions/{id}             close (finally blocks run)
    POST   /services/{name}/sessions/{id}/call        request -> reply
    POST   /services/{name}/sessions/{id}/stream      request -> JSON lines, end/error frame
    DELETE /services/{name}/sessions/{id}/stream      cancel the open stream
    POST   /services/{name}/sessions/{id}/reset
    POST   /services/{name}/sessions/{id}/throw       {"type": "KeyError", "args": [...]}

Every session's service is driven through an ``AsyncHandle``: the server adds
JSON, sessions and auth, never its own protocol logic.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any

import anyio
import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from nanoservices.core import InvalidRequestError, ServiceError, Stream

from ._host import Served, start_instance
from ._openapi import openapi
from ._sessions import Session, SessionTable
from ._wire import (
    CLIENT_HEADER,
    NDJSON,
    STATE_HEADER,
    SessionOpen,
    ThrowRequest,
    jsonable,
    problem,
    problem_for,
)

__all__ = ["create_app"]

_JSON = "application/json"
_encode = msgspec.json.Encoder().encode
_decode_any = msgspec.json.Decoder().decode
_decode_open = msgspec.json.Decoder(SessionOpen).decode
_decode_throw = msgspec.json.Decoder(ThrowRequest).decode


class _Refused(Exception):
    """Raised inside an endpoint to answer with a problem document at once."""

    def __init__(self, doc: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(doc.get("detail"))
        self.doc = doc
        self.headers = headers

    def response(self) -> Response:
        return Response(
            _encode(self.doc),
            status_code=self.doc["status"],
            media_type="application/problem+json",
            headers=self.headers,
        )


def _refuse(status: int, kind: str, title: str, detail: str, **kw: Any) -> _Refused:
    kw.setdefault("error", "TransportError")
    kw.setdefault("service", None)
    return _Refused(problem(status, kind, title, detail, **kw))


def _guarded(
    endpoint: Callable[[Request], Any],
) -> Callable[[Request], Any]:
    async def run(request: Request) -> Response:
        try:
            response: Response = await endpoint(request)
            return response
        except _Refused as refused:
            return refused.response()

    return run


class _Stats:
    __slots__ = ("calls", "errors", "items", "opened", "streams")

    def __init__(self) -> None:
        self.calls = self.errors = self.items = self.opened = self.streams = 0


class _Server:
    """The state behind the routes: services, sessions, auth, limits, statistics."""

    def __init__(
        self,
        services: Mapping[str, Served],
        tokens: Iterable[str],
        max_sessions: int,
        idle_timeout: float,
        max_body: int,
    ) -> None:
        self.services = dict(services)
        self.tokens = tuple(tokens)
        self.sessions = SessionTable(max_sessions, idle_timeout)
        self.max_body = max_body
        self.shared: dict[str, Any] = {}
        self.stats = {name: _Stats() for name in self.services}
        self.ready = False
        self.started = time.time()

    # -- plumbing -----------------------------------------------------------------

    def owner(self, request: Request) -> str:
        """Who is asking: the bearer token (when auth is on) and the client id."""
        client = request.headers.get(CLIENT_HEADER, "")
        if not self.tokens:
            return client
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and any(
            secrets.compare_digest(token.encode(), t.encode()) for t in self.tokens
        ):
            return f"{token}\x00{client}"
        raise _Refused(
            problem(
                401,
                "unauthorized",
                "Unauthorized",
                "a valid bearer token is required (Authorization: Bearer <token>)",
                error="TransportError",
                service=None,
            ),
            {"WWW-Authenticate": 'Bearer realm="nanoservices"'},
        )

    def served(self, name: str) -> Served:
        served = self.services.get(name)
        if served is None:
            raise _refuse(404, "unknown-service", "Unknown service", f"no service named {name!r}")
        return served

    def session(self, request: Request) -> Session:
        owner = self.owner(request)
        name = request.path_params["name"]
        found = self.sessions.get(request.path_params["session"], owner)
        if isinstance(found, Session) and found.service == name:
            return found
        if found == "expired":
            raise _refuse(
                410,
                "session-expired",
                "Session expired",
                "the session expired after being idle; open a new one",
                service=name,
            )
        if found == "closed":
            raise _refuse(
                410,
                "closed",
                "ServiceClosedError",
                "cannot use it: the session was closed",
                error="ServiceClosedError",
                service=name,
                state="closed",
            )
        raise _refuse(404, "unknown-session", "Unknown session", "no such session", service=name)

    async def body(self, request: Request) -> bytes:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            raise self._too_large()
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                raise self._too_large()
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self) -> _Refused:
        return _refuse(
            413,
            "too-large",
            "Request too large",
            f"the request body is larger than {self.max_body} bytes",
            error="InvalidRequestError",
        )

    def decode(self, data: bytes, service: str) -> Any:
        if not data:
            raise _refuse(
                400, "malformed", "Malformed JSON", "the body is empty (send JSON)",
                error="InvalidRequestError", service=service,
            )  # fmt: skip
        try:
            return _decode_any(data)
        except msgspec.DecodeError as exc:
            raise _refuse(
                400, "malformed", "Malformed JSON", f"the body is not valid JSON: {exc}",
                error="InvalidRequestError", service=service,
            ) from None  # fmt: skip

    def request_value(self, session: Session, data: bytes) -> Any:
        """The request, converted to the service's declared type (e.g. a msgspec Struct)."""
        value = self.decode(data, session.service)
        spec = self.services[session.service].spec
        check = spec.check
        if check is None or check(value) is None:
            return value
        try:
            return msgspec.convert(value, spec.request_type, strict=False)
        except (msgspec.ValidationError, TypeError):
            error = InvalidRequestError(session.service, value, check(value) or "invalid")
            raise _Refused(problem_for(error, session.handle.state.value)) from None

    def failed(self, session: Session, exc: ServiceError) -> _Refused:
        self.stats[session.service].errors += 1
        return _Refused(problem_for(exc, session.handle.state.value))

    def reply(self, session: Session, value: Any, status: int = 200) -> Response:
        if type(value) is Stream:
            close = getattr(value.source, "close", None)
            if close is not None:
                close()
            raise _refuse(
                500, "stream-reply", "Reply is a stream",
                "the service replied with a stream: ask for it with stream()",
                error="ServiceError", service=session.service,
            )  # fmt: skip
        try:
            content = _encode(value)
        except (TypeError, msgspec.EncodeError, OverflowError) as exc:
            raise _refuse(
                500, "reply-not-json", "Reply is not JSON",
                f"the reply ({type(value).__name__}) has no JSON form: {exc}",
                error="ServiceError", service=session.service,
            ) from None  # fmt: skip
        return Response(
            content, status, media_type=_JSON, headers={STATE_HEADER: session.handle.state.value}
        )

    # -- endpoints ------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type=_JSON)

    async def readiness(self, request: Request) -> Response:
        if self.ready:
            return Response(b'{"ready":true}', media_type=_JSON)
        raise _refuse(503, "not-ready", "Not ready", "the server is starting or stopping")

    async def statistics(self, request: Request) -> Response:
        self.owner(request)
        open_by: dict[str, int] = {}
        for s in self.sessions.all():
            open_by[s.service] = open_by.get(s.service, 0) + 1
        doc = {
            "uptime_s": round(time.time() - self.started, 3),
            "sessions": len(self.sessions),
            "services": {
                name: {
                    "shared": self.services[name].shared,
                    "sessions_open": open_by.get(name, 0),
                    "sessions_opened": st.opened,
                    "calls": st.calls,
                    "streams": st.streams,
                    "items": st.items,
                    "errors": st.errors,
                }
                for name, st in self.stats.items()
            },
        }
        return Response(_encode(doc), media_type=_JSON)

    async def listing(self, request: Request) -> Response:
        self.owner(request)
        doc = [
            {"name": name, "shared": s.shared, "throwable": [c.__name__ for c in s.throwable]}
            for name, s in self.services.items()
        ]
        return Response(_encode(doc), media_type=_JSON)

    async def openapi_doc(self, request: Request) -> Response:
        return Response(_encode(openapi(self.services)), media_type=_JSON)

    async def open_session(self, request: Request) -> Response:
        owner = self.owner(request)
        name = request.path_params["name"]
        served = self.served(name)
        data = await self.body(request)
        try:
            opening = _decode_open(data) if data else SessionOpen()
        except msgspec.DecodeError as exc:
            status = 422 if isinstance(exc, msgspec.ValidationError) else 400
            raise _refuse(
                status, "bad-session-open", "Bad session request",
                f'expected {{"args": [...], "kwargs": {{...}}}}: {exc}',
                error="InvalidRequestError", service=name,
            ) from None  # fmt: skip
        if self.sessions.full():
            raise _refuse(
                429, "too-many-sessions", "Too many sessions",
                f"the server holds its limit of {self.sessions.max_sessions} sessions; "
                "close one or retry later",
                error="ServiceBusyError", service=name,
            )  # fmt: skip
        if served.shared:
            if opening.args or opening.kwargs:
                raise _refuse(
                    422, "shared-args", "Shared service",
                    "a shared service is configured by the server; send no arguments",
                    error="InvalidRequestError", service=name,
                )  # fmt: skip
            handle = self.shared[name]
        else:
            try:
                handle = await start_instance(served, tuple(opening.args), opening.kwargs)
            except ServiceError as exc:
                raise _Refused(problem_for(exc)) from None
        session = self.sessions.add(name, owner, handle, served.shared)
        self.stats[name].opened += 1
        doc = {
            "session": session.id,
            "service": name,
            "shared": served.shared,
            "state": handle.state.value,
            "greeting": jsonable(handle.greeting),
        }
        return Response(_encode(doc), 201, media_type=_JSON)

    async def session_state(self, request: Request) -> Response:
        session = self.session(request)
        doc = {"service": session.service, "state": session.handle.state.value}
        return Response(_encode(doc), media_type=_JSON)

    async def close_session(self, request: Request) -> Response:
        try:
            session = self.session(request)
        except _Refused as refused:
            if refused.doc["status"] == 410:  # closing twice is fine
                return Response(status_code=204)
            raise
        self.sessions.remove(session, "closed")
        await self._close(session)
        return Response(status_code=204, headers={STATE_HEADER: "closed"})

    async def _close(self, session: Session) -> None:
        with contextlib.suppress(ServiceError):
            if session.stream is not None and session.stream.is_open:
                await session.stream.aclose()
            if not session.shared:
                await session.handle.aclose()

    async def call(self, request: Request) -> Response:
        session = self.session(request)
        value = self.request_value(session, await self.body(request))
        self.stats[session.service].calls += 1
        try:
            reply = await session.handle.call(value)
        except ServiceError as exc:
            raise self.failed(session, exc) from None
        return self.reply(session, reply)

    async def stream(self, request: Request) -> Response:
        session = self.session(request)
        value = self.request_value(session, await self.body(request))
        self.stats[session.service].streams += 1
        items = session.handle.stream(value)
        try:
            await items.open()
        except ServiceError as exc:
            raise self.failed(session, exc) from None
        session.stream = items
        return StreamingResponse(
            self._frames(session, items),
            media_type=NDJSON,
            headers={STATE_HEADER: session.handle.state.value},
        )

    async def _frames(self, session: Session, items: Any) -> AsyncIterator[bytes]:
        stats = self.stats[session.service]
        try:
            async for item in items:
                stats.items += 1
                session.last_used = time.monotonic()
                yield _encode({"item": item}) + b"\n"
            yield _encode({"end": True, "state": session.handle.state.value}) + b"\n"
        except ServiceError as exc:
            stats.errors += 1
            doc = problem_for(exc, session.handle.state.value)
            yield _encode({"error": doc}) + b"\n"
        except (TypeError, msgspec.EncodeError, OverflowError) as exc:
            stats.errors += 1
            doc = problem(
                500, "reply-not-json", "Item is not JSON",
                f"a streamed item has no JSON form: {exc}",
                error="ServiceError", service=session.service,
            )  # fmt: skip
            yield _encode({"error": doc}) + b"\n"
        finally:
            if items.is_open:  # the client left (or an item failed to encode)
                with anyio.CancelScope(shield=True), contextlib.suppress(ServiceError):
                    await items.aclose()

    async def cancel_stream(self, request: Request) -> Response:
        session = self.session(request)
        items = session.stream
        if items is not None and items.is_open:
            try:
                await items.aclose()
            except ServiceError as exc:
                raise self.failed(session, exc) from None
        return Response(status_code=204, headers={STATE_HEADER: session.handle.state.value})

    async def reset(self, request: Request) -> Response:
        session = self.session(request)
        try:
            await session.handle.reset()
        except ServiceError as exc:
            raise self.failed(session, exc) from None
        return self.reply(session, {"state": session.handle.state.value})

    async def throw(self, request: Request) -> Response:
        session = self.session(request)
        data = await self.body(request)
        try:
            thrown = _decode_throw(data)
        except msgspec.DecodeError as exc:
            status = 422 if isinstance(exc, msgspec.ValidationError) else 400
            raise _refuse(
                status, "bad-throw", "Bad throw request",
                f'expected {{"type": "<exception name>", "args": [...]}}: {exc}',
                error="InvalidRequestError", service=session.service,
            ) from None  # fmt: skip
        cls = self.services[session.service].throwable_named(thrown.type)
        if cls is None:
            error = InvalidRequestError(
                session.service,
                thrown.type,
                f"{thrown.type} may not be thrown into this service (allowed: "
                f"{', '.join(c.__name__ for c in self.services[session.service].throwable)})",
            )
            raise _Refused(problem_for(error, session.handle.state.value))
        try:
            exception = cls(*thrown.args)
        except Exception as exc:  # the allowed class's own __init__ refused these args
            error = InvalidRequestError(
                session.service,
                {"type": thrown.type, "args": thrown.args},
                f"cannot make {thrown.type} from args {thrown.args!r}: {exc}",
            )
            raise _Refused(problem_for(error, session.handle.state.value)) from None
        try:
            reply = await session.handle.throw(exception)
        except ServiceError as exc:
            raise self.failed(session, exc) from None
        return self.reply(session, reply)

    # -- life cycle -------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        for name, served in self.services.items():
            if served.shared:
                self.shared[name] = await start_instance(
                    served, tuple(served.args), dict(served.kwargs)
                )
        sweeper = asyncio.create_task(self._sweep())
        self.ready = True
        try:
            yield
        finally:
            self.ready = False
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await self.close_all()

    async def close_all(self) -> None:
        """Close every session and shared instance, so every ``finally`` block runs."""
        for session in self.sessions.all():
            self.sessions.remove(session, "closed")
            await self._close(session)
        for handle in self.shared.values():
            with contextlib.suppress(ServiceError):
                await handle.aclose()

    async def _sweep(self) -> None:
        interval = min(max(self.sessions.idle_timeout / 4, 0.05), 30.0)
        while True:
            await asyncio.sleep(interval)
            for session in self.sessions.idle():
                self.sessions.remove(session, "expired")
                await self._close(session)


def create_app(
    services: Mapping[str, Any] | Iterable[Served],
    *,
    tokens: Iterable[str] = (),
    max_sessions: int = 1000,
    idle_timeout: float = 300.0,
    max_body: int = 1 << 20,
) -> Starlette:
    """The ASGI app serving ``services`` (factories by name, or :class:`Served` entries).

    Args:
        tokens: bearer tokens accepted; none means no auth (bind to 127.0.0.1 then).
        max_sessions: open sessions allowed at once (429 past it).
        idle_timeout: seconds after which an unused session is closed.
        max_body: largest request body accepted, in bytes (413 past it).
    """
    if isinstance(services, Mapping):
        entries = [
            v if isinstance(v, Served) else Served(v, name=name) for name, v in services.items()
        ]
    else:
        entries = list(services)
    server = _Server({s.name: s for s in entries}, tokens, max_sessions, idle_timeout, max_body)
    base = "/services/{name}/sessions/{session}"
    routes = [
        Route("/health", _guarded(server.health), methods=["GET"]),
        Route("/ready", _guarded(server.readiness), methods=["GET"]),
        Route("/stats", _guarded(server.statistics), methods=["GET"]),
        Route("/openapi.json", _guarded(server.openapi_doc), methods=["GET"]),
        Route("/services", _guarded(server.listing), methods=["GET"]),
        Route("/services/{name}/sessions", _guarded(server.open_session), methods=["POST"]),
        Route(base, _guarded(server.session_state), methods=["GET"]),
        Route(base, _guarded(server.close_session), methods=["DELETE"]),
        Route(base + "/call", _guarded(server.call), methods=["POST"]),
        Route(base + "/stream", _guarded(server.stream), methods=["POST"]),
        Route(base + "/stream", _guarded(server.cancel_stream), methods=["DELETE"]),
        Route(base + "/reset", _guarded(server.reset), methods=["POST"]),
        Route(base + "/throw", _guarded(server.throw), methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=server.lifespan)
    app.state.nanoservices = server
    return app
