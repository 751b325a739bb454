"""``nanoservices serve``: services over HTTP (Starlette on uvicorn).

Routes (JSON bodies; errors are ``application/problem+json``):

```text
GET    /health  /ready  /stats  /openapi.json  /services
POST   /services/{name}/sessions                  {"args": [...], "kwargs": {...}}
GET    /services/{name}/sessions/{id}             -> {"state": ...}
DELETE /services/{name}/sessions/{id}             close (finally blocks run)
POST   /services/{name}/sessions/{id}/call        request -> reply
POST   /services/{name}/sessions/{id}/stream      request -> JSON lines, end/error frame
DELETE /services/{name}/sessions/{id}/stream      cancel the open stream
POST   /services/{name}/sessions/{id}/reset
POST   /services/{name}/sessions/{id}/throw       {"type": "KeyError", "args": [...]}
POST   /services/{name}/sessions/{id}/restart     -> {"state": ..., "greeting": ...}
```

Every session's service is driven through an ``AsyncHandle``: the server adds
JSON, sessions and auth, never its own protocol logic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any, Final

import anyio
import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from nanoservices.core import InvalidRequestError, ServiceError, Stream, StreamReplyError
from nanoservices.core.seam import deadlines
from nanoservices.durable import JournalError, JournalStore
from nanoservices.observe import statistics

from ._durable import check_key, close_stores, journal_problem, open_stores, start_durable
from ._host import Served, start_for_client, start_instance
from ._openapi import openapi
from ._sessions import Session, SessionTable
from ._wire import (
    CLIENT_HEADER,
    NDJSON,
    STATE_HEADER,
    TIMEOUT_HEADER,
    SessionOpen,
    ThrowRequest,
    jsonable,
    problem,
    problem_for,
)

__all__ = ["create_app"]

_log = logging.getLogger("nanoservices.http")

_JSON = "application/json"
_STOPPING = "the server is stopping: the stream ended before its end; open a new session later"
_encode_json = msgspec.json.Encoder().encode

#: Characters that JSON leaves unescaped but line readers (``str.splitlines``,
#: httpx's ``iter_lines``) take for line breaks: escaped, so that one frame
#: stays one line. In UTF-8 these bytes only ever stand inside JSON strings.
_LINE_BREAKS: Final = ((b"\xc2\x85", b"\\u0085"), (b"\xe2\x80\xa8", b"\\u2028"),
                       (b"\xe2\x80\xa9", b"\\u2029"))  # fmt: skip


def _encode(value: object) -> bytes:
    """``value`` as JSON on one line, whatever its strings hold."""
    data = _encode_json(value)
    if b"\xc2\x85" in data or b"\xe2\x80" in data:
        for raw, escaped in _LINE_BREAKS:
            data = data.replace(raw, escaped)
    return data


#: Deepest JSON nesting a request may have: a limit of its own, the same on every
#: Python (how deep a decoder can recurse before RecursionError varies by version).
MAX_JSON_DEPTH = 256


def json_depth_over(data: bytes, limit: int) -> bool:
    """Whether the JSON text ``data`` nests arrays/objects more than ``limit`` deep.

    A body with fewer brackets than ``limit`` cannot (one C-speed count decides
    for almost every request); otherwise one pass that skips strings.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # closing quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


#: What ``nanoservices-timeout`` may hold: seconds, a plain decimal number.
_SECONDS: Final = re.compile(r"\d{1,9}(\.\d{1,9})?")

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


async def _close_source(source: object) -> None:
    """Close a streamed reply's source that ``call()`` will not read (its ``finally`` runs)."""
    with contextlib.suppress(Exception):
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()
            return
        close = getattr(source, "close", None)
        if close is not None:
            await asyncio.to_thread(close)


def _guarded(
    endpoint: Callable[[Request], Any],
) -> Callable[[Request], Any]:
    """The endpoint, answering every error with a problem document (never text/plain)."""

    async def run(request: Request) -> Response:
        try:
            response: Response = await endpoint(request)
            return response
        except _Refused as refused:
            return refused.response()
        except RecursionError:
            return _refuse(
                400, "too-deep", "Request nested too deeply",
                "the request is nested too deeply to handle", error="InvalidRequestError",
            ).response()  # fmt: skip
        except Exception:
            _log.exception("%s %s failed", request.method, request.url.path)
            return _refuse(
                500, "internal", "Internal error",
                "the server failed to handle this request (see its log); the session lives on",
                error="TransportError",
            ).response()  # fmt: skip

    return run


def _route(path: str, **endpoints: Callable[[Request], Any]) -> Route:
    """One route per path, its methods dispatched here: a 405 then names every method
    the path has (``Allow``), exactly those the OpenAPI document lists (no implicit HEAD)."""
    guarded = {method: _guarded(endpoint) for method, endpoint in endpoints.items()}

    async def dispatch(request: Request) -> Response:
        response: Response = await guarded[request.method](request)
        return response

    route = Route(path, dispatch, methods=list(endpoints))
    route.methods = set(endpoints)  # Starlette adds HEAD to GET routes: not served here
    return route


async def _http_problem(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (no such route or method) as problem documents."""
    assert isinstance(exc, HTTPException)
    kind = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http")
    return _Refused(
        problem(
            exc.status_code, kind, str(exc.detail), str(exc.detail),
            error="TransportError", service=None,
        ),
        dict(exc.headers or {}),
    ).response()  # fmt: skip


async def _internal_problem(request: Request, exc: Exception) -> Response:
    return _refuse(
        500, "internal", "Internal error", "the server failed to handle this request",
    ).response()  # fmt: skip


async def _disconnected(request: Request) -> None:
    """Return when the client goes away (its body has been read: only that is left)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _set(event: asyncio.Event | None) -> bool:
    return event is not None and event.is_set()


def _bytes(text: str) -> bytes:
    """Header text as bytes for constant-time comparison (headers may hold any byte)."""
    return text.encode("utf-8", "surrogateescape")


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
        max_sessions_per_client: int = 100,
        body_timeout: float = 30.0,
    ) -> None:
        self.services = dict(services)
        self.tokens = tuple(_bytes(t) for t in tokens)
        self.sessions = SessionTable(max_sessions, idle_timeout)
        self.max_sessions_per_client = max_sessions_per_client
        self.max_body = max_body
        self.body_timeout = body_timeout
        self.stopping: asyncio.Event | None = None  # made in the server's loop
        self.shared: dict[str, Any] = {}
        self.stores: dict[str, tuple[JournalStore, bool]] = {}  # durable services' stores
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
        given = _bytes(token)
        matched = False
        for t in self.tokens:  # every token compared, in constant time each
            matched |= secrets.compare_digest(given, t)
        if scheme.lower() == "bearer" and matched:
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

    def client_key(self, request: Request) -> str:
        """Who a session quota counts against: the token with auth on, else the peer address
        (a client id is the client's own choice, so it cannot be what a quota counts)."""
        if self.tokens:
            return request.headers.get("authorization", "")
        return request.client.host if request.client is not None else ""

    async def body(self, request: Request) -> bytes:
        """The request body: JSON only (415 otherwise), bounded in size and in time."""
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            raise self._too_large()
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > self.max_body:
                        raise self._too_large()
                    chunks.append(chunk)
        except TimeoutError:
            raise _refuse(
                408, "body-timeout", "Request body too slow",
                f"the request body did not arrive within {self.body_timeout:g}s",
                error="InvalidRequestError",
            ) from None  # fmt: skip
        data = b"".join(chunks)
        if data:
            media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
            if media != _JSON:
                raise _refuse(
                    415, "unsupported-media-type", "Unsupported media type",
                    f"send the body as {_JSON} (got {media or 'no Content-Type'!r})",
                    error="InvalidRequestError",
                )  # fmt: skip
            if json_depth_over(data, MAX_JSON_DEPTH):
                raise _refuse(
                    400, "too-deep", "Request nested too deeply",
                    f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep",
                    error="InvalidRequestError",
                )  # fmt: skip
        return data

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
        except RecursionError:
            raise _refuse(
                400, "too-deep", "Request nested too deeply",
                "the JSON body is nested too deeply", error="InvalidRequestError", service=service,
            ) from None  # fmt: skip
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
        if check is None:
            return value
        reason = check(value)
        if reason is None:
            return value
        # JSON has no Struct or dataclass: convert objects to the declared type, in
        # msgspec's *strict* mode, as strict as the local check ("5" is no int).
        try:
            return msgspec.convert(value, spec.request_type, strict=True)
        except (msgspec.ValidationError, TypeError):
            error = InvalidRequestError(session.service, value, reason)
            raise _Refused(problem_for(error, session.handle.state.value)) from None

    def failed(self, session: Session, exc: ServiceError) -> _Refused:
        self.stats[session.service].errors += 1
        state = session.handle.state.value
        if isinstance(exc, JournalError):  # the store failed under a durable session
            return _Refused(journal_problem(exc, exc.key.partition("/")[2], state))
        return _Refused(problem_for(exc, state))

    def reply(self, session: Session, value: Any, status: int = 200) -> Response:
        try:
            content = _encode(value)
        except (TypeError, ValueError, msgspec.EncodeError, OverflowError) as exc:
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
                    "durable": self.services[name].durable is not None,
                    "sessions_open": open_by.get(name, 0),
                    "sessions_opened": st.opened,
                    "calls": st.calls,
                    "streams": st.streams,
                    "items": st.items,
                    "errors": st.errors,
                    **self._journals(name),
                }
                for name, st in self.stats.items()
            },
        }
        return Response(_encode(doc), media_type=_JSON)

    def _journals(self, name: str) -> dict[str, Any]:
        """A durable service's journals, summed over its open sessions (never their keys:
        those are other clients' names): entries a reopen would replay, entries replayed
        when they were opened, and the longest replay."""
        if self.services[name].durable is None:
            return {}
        extras = [statistics(s.handle).extra for s in self.sessions.all() if s.service == name]
        return {
            "journal": {
                "entries": sum(int(e.get("journal_length", 0)) for e in extras),
                "replayed": sum(int(e.get("replayed", 0)) for e in extras),
                "replay_seconds_max": round(
                    max((float(e.get("replay_seconds", 0.0)) for e in extras), default=0.0), 6
                ),
            }
        }

    async def listing(self, request: Request) -> Response:
        self.owner(request)
        doc = [
            {
                "name": name,
                "shared": s.shared,
                "durable": s.durable is not None,
                "throwable": [c.__name__ for c in s.throwable],
            }
            for name, s in self.services.items()
        ]
        return Response(_encode(doc), media_type=_JSON)

    async def openapi_doc(self, request: Request) -> Response:
        return Response(_encode(openapi(self.services, bool(self.tokens))), media_type=_JSON)

    async def open_session(self, request: Request) -> Response:
        owner = self.owner(request)
        name = request.path_params["name"]
        served = self.served(name)
        data = await self.body(request)
        try:
            opening = _decode_open(data) if data else SessionOpen()
        except RecursionError:
            raise _refuse(
                400, "too-deep", "Request nested too deeply", "the JSON body is nested too deeply",
                error="InvalidRequestError", service=name,
            ) from None  # fmt: skip
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
        key = self.client_key(request)
        if self.sessions.count(key) >= self.max_sessions_per_client:
            raise _refuse(
                429, "client-quota", "Too many sessions for this client",
                f"you hold {self.max_sessions_per_client} sessions, the most one client may; "
                "close one first",
                error="ServiceBusyError", service=name,
            )  # fmt: skip
        if served.durable is not None or opening.key is not None:
            handle = await self._open_durable(served, opening)
        elif served.shared:
            if opening.args or opening.kwargs:
                raise _refuse(
                    422, "shared-args", "Shared service",
                    "a shared service is configured by the server; send no arguments",
                    error="InvalidRequestError", service=name,
                )  # fmt: skip
            handle = self.shared[name]
        else:
            try:
                handle = await start_for_client(served, opening.args, opening.kwargs)
            except ServiceError as exc:
                raise _Refused(problem_for(exc)) from None
        session = self.sessions.add(name, owner, handle, served.shared, key)
        self.stats[name].opened += 1
        doc = {
            "session": session.id,
            "service": name,
            "shared": served.shared,
            "state": handle.state.value,
            "greeting": jsonable(handle.greeting),
        }
        if opening.key is not None:
            doc["key"] = opening.key
        return Response(_encode(doc), 201, media_type=_JSON)

    async def _open_durable(self, served: Served, opening: SessionOpen) -> Any:
        """Open the client's key of a durable service (its journal replayed), or refuse:
        a bad key (422), a key another session holds (409 key-locked)."""
        try:
            key = check_key(served, opening.key)
        except InvalidRequestError as exc:
            raise _Refused(problem_for(exc)) from None
        try:
            return await start_durable(
                served, self.stores[served.name][0], key, opening.args, opening.kwargs
            )
        except JournalError as exc:
            raise _Refused(journal_problem(exc, key)) from None
        except ServiceError as exc:
            raise _Refused(problem_for(exc)) from None

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
        try:  # closed either way; what its finally raised is the caller's answer, as locally
            await self._close(session)
        except ServiceError as exc:
            raise _Refused(problem_for(exc, "closed")) from None
        return Response(status_code=204, headers={STATE_HEADER: "closed"})

    async def _close(self, session: Session) -> None:
        """Close the session's open stream, and its own instance (a shared one stays)."""
        try:
            if session.stream is not None and session.stream.is_open:
                await session.stream.aclose()
        finally:
            if not session.shared:
                await session.handle.aclose()

    async def _close_quietly(self, session: Session, why: str) -> None:
        """Close a session for housekeeping (idle sweep, shutdown): a service whose
        ``finally`` raises is logged, never allowed to stop the other sessions' closing."""
        try:
            await self._close(session)
        except Exception:
            _log.exception(
                "closing %s session %s of service %r raised; going on",
                why, session.id[:6], session.service,
            )  # fmt: skip

    def deadline(self, request: Request, service: str) -> float | None:
        """The caller's deadline (``time.monotonic()``) from ``nanoservices-timeout``,
        counted from now (the request's arrival); None without the header."""
        text = request.headers.get(TIMEOUT_HEADER)
        if text is None:
            return None
        if _SECONDS.fullmatch(text.strip()) is None:
            raise _refuse(
                400, "bad-timeout", "Malformed timeout",
                f"the {TIMEOUT_HEADER} header must be seconds as a decimal number "
                f"(like 2.5), got {text[:40]!r}",
                error="InvalidRequestError", service=service,
            )  # fmt: skip
        return deadlines.deadline_at(float(text))

    async def _unless_gone(self, request: Request, work: Awaitable[Any]) -> Any:
        """Await ``work``, cancelled if the client goes away first (a deadline's caller
        that gave up, or was itself cancelled): its service stops working for nobody."""
        task = asyncio.ensure_future(work)
        gone = asyncio.ensure_future(_disconnected(request))
        try:
            await asyncio.wait((task, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        if task.cancelled():  # the client left: this answer is for nobody (logs only)
            raise _refuse(
                499, "client-gone", "Client closed the request",
                "the client went away before the reply; the service's work was cancelled",
                error="TransportError",
            )  # fmt: skip
        return task.result()

    async def call(self, request: Request) -> Response:
        session = self.session(request)
        at = self.deadline(request, session.service)
        value = self.request_value(session, await self.body(request))
        self.stats[session.service].calls += 1
        try:
            if at is None:
                reply = await session.handle.call(value)
            else:
                left = deadlines.left(at)
                reply = await self._unless_gone(request, session.handle.call(value, timeout=left))
        except ServiceError as exc:
            raise self.failed(session, exc) from None
        if type(reply) is Stream:  # the core may hand back the marker: refuse it the same way
            await _close_source(reply.source)
            error = StreamReplyError(session.service, value)
            raise _Refused(problem_for(error, session.handle.state.value))
        return self.reply(session, reply)

    async def stream(self, request: Request) -> Response:
        session = self.session(request)
        at = self.deadline(request, session.service)
        value = self.request_value(session, await self.body(request))
        self.stats[session.service].streams += 1
        if at is None:
            items = session.handle.stream(value)
        else:  # the whole stream under the deadline; leaving early cancels it as usual
            items = session.handle.stream(value, timeout=deadlines.left(at))
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
        """The stream's JSON lines: items, then one end frame or one error frame.

        Each next item is raced against the server's stopping: a stream open at
        shutdown gets an error frame that says so, not a cut connection.
        """
        stats = self.stats[session.service]
        stopping = self.stopping
        stopped = asyncio.ensure_future(stopping.wait()) if stopping is not None else None
        pending: asyncio.Future[Any] | None = None
        try:
            while True:
                pending = asyncio.ensure_future(items.__anext__())
                if stopped is not None:
                    await asyncio.wait((pending, stopped), return_when=asyncio.FIRST_COMPLETED)
                    if not pending.done():
                        stats.errors += 1
                        doc = problem(
                            503, "server-stopping", "Server stopping", _STOPPING,
                            error="TransportError", service=session.service,
                        )  # fmt: skip
                        yield _encode({"error": doc}) + b"\n"
                        return
                try:
                    item = await pending
                except StopAsyncIteration:
                    break
                pending = None
                line = _encode({"item": item}) + b"\n"
                stats.items += 1
                session.last_used = time.monotonic()
                yield line
            pending = None
            yield _encode({"end": True, "state": session.handle.state.value}) + b"\n"
        except ServiceError as exc:
            pending = None
            stats.errors += 1
            doc = problem_for(exc, session.handle.state.value)
            yield _encode({"error": doc}) + b"\n"
        except (TypeError, ValueError, msgspec.EncodeError, OverflowError) as exc:
            stats.errors += 1
            doc = problem(
                500, "reply-not-json", "Item is not JSON",
                f"a streamed item has no JSON form: {exc}",
                error="ServiceError", service=session.service,
            )  # fmt: skip
            yield _encode({"error": doc}) + b"\n"
        finally:
            if stopped is not None:
                stopped.cancel()
            # The client left, an item failed to encode, or the server stops. At
            # shutdown an item still being made is left to finish (close_all closes
            # the service after it); else the item is awaited, then the source closed.
            if pending is not None and not pending.done() and not _set(stopping):
                with anyio.CancelScope(shield=True):
                    await asyncio.wait((pending,))
            if pending is not None and pending.done() and not pending.cancelled():
                pending.exception()  # retrieved: an item nobody reads may have failed
            if items.is_open and (pending is None or pending.done()):
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

    def shared_gate(self, session: Session, operation: str) -> None:
        """What one client does to a shared service, others see: the operator allows it,
        and it may not end another client's open stream (that is theirs to end)."""
        if not session.shared:
            return
        served = self.services[session.service]
        if operation not in served.shared_operations:
            raise _refuse(
                403, "shared-operation", "Not allowed on a shared service",
                f"{operation} is not allowed on the shared service {session.service!r} "
                f"(the operator allows: {sorted(served.shared_operations) or 'nothing'})",
                error="InvalidRequestError", service=session.service,
            )  # fmt: skip
        for other in self.sessions.all():
            if (
                other is not session
                and other.service == session.service
                and other.stream is not None
                and other.stream.is_open
            ):
                raise _refuse(
                    409, "busy", "ServiceBusyError",
                    f"cannot {operation}: another client's stream is open on this shared "
                    "service; retry when it ends",
                    error="ServiceBusyError", service=session.service,
                )  # fmt: skip

    async def reset(self, request: Request) -> Response:
        session = self.session(request)
        self.shared_gate(session, "reset")
        try:
            await session.handle.reset()
        except ServiceError as exc:
            raise self.failed(session, exc) from None
        return self.reply(session, {"state": session.handle.state.value})

    async def restart(self, request: Request) -> Response:
        session = self.session(request)
        self.shared_gate(session, "restart")
        try:
            await session.handle.restart()
        except ServiceError as exc:
            raise self.failed(session, exc) from None
        doc = {"state": session.handle.state.value, "greeting": jsonable(session.handle.greeting)}
        return self.reply(session, doc)

    async def throw(self, request: Request) -> Response:
        session = self.session(request)
        self.shared_gate(session, "throw")
        data = await self.body(request)
        try:
            thrown = _decode_throw(data)
        except RecursionError:
            raise _refuse(
                400, "too-deep", "Request nested too deeply", "the JSON body is nested too deeply",
                error="InvalidRequestError", service=session.service,
            ) from None  # fmt: skip
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
        self.stopping = asyncio.Event()
        self.stores = await asyncio.to_thread(open_stores, self.services)
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
            try:
                await self.close_all()
            finally:
                await asyncio.to_thread(close_stores, self.stores)

    def begin_shutdown(self) -> None:
        """The server stops: open streams end now with an error frame that says so.

        Called by [`nanoservices.http._run.Server`][] in the server's loop before
        uvicorn waits for open responses (which would otherwise run until cut off).
        """
        self.ready = False
        if self.stopping is not None:
            self.stopping.set()

    async def close_all(self) -> None:
        """Close every session and shared instance, so every ``finally`` block runs."""
        for session in self.sessions.all():
            self.sessions.remove(session, "closed")
            await self._close_quietly(session, "at shutdown")
        for name, handle in self.shared.items():
            try:
                await handle.aclose()
            except ServiceError:
                pass
            except Exception:
                _log.exception("closing shared service %r at shutdown raised", name)

    async def _sweep(self) -> None:
        interval = min(max(self.sessions.idle_timeout / 4, 0.05), 30.0)
        while True:
            await asyncio.sleep(interval)
            for session in self.sessions.idle():
                self.sessions.remove(session, "expired")
                await self._close_quietly(session, "an idle")


def create_app(
    services: Mapping[str, Any] | Iterable[Served],
    *,
    tokens: Iterable[str] = (),
    max_sessions: int = 1000,
    idle_timeout: float = 300.0,
    max_body: int = 1 << 20,
    max_sessions_per_client: int = 100,
    body_timeout: float = 30.0,
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
    """
    if isinstance(services, Mapping):
        entries = [
            v if isinstance(v, Served) else Served(v, name=name) for name, v in services.items()
        ]
    else:
        entries = list(services)
    server = _Server(
        {s.name: s for s in entries},
        tokens,
        max_sessions,
        idle_timeout,
        max_body,
        max_sessions_per_client,
        body_timeout,
    )
    base = "/services/{name}/sessions/{session}"
    routes = [
        _route("/health", GET=server.health),
        _route("/ready", GET=server.readiness),
        _route("/stats", GET=server.statistics),
        _route("/openapi.json", GET=server.openapi_doc),
        _route("/services", GET=server.listing),
        _route("/services/{name}/sessions", POST=server.open_session),
        _route(base, GET=server.session_state, DELETE=server.close_session),
        _route(base + "/call", POST=server.call),
        _route(base + "/stream", POST=server.stream, DELETE=server.cancel_stream),
        _route(base + "/reset", POST=server.reset),
        _route(base + "/restart", POST=server.restart),
        _route(base + "/throw", POST=server.throw),
    ]
    app = Starlette(
        routes=routes,
        lifespan=server.lifespan,
        exception_handlers={HTTPException: _http_problem, Exception: _internal_problem},
    )
    app.state.nanoservices = server
    return app
