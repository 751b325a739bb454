"""The server's endpoints: each reads its request, drives a session's handle, answers.

Every session's service is driven through an ``AsyncHandle``: the endpoints add
JSON, sessions and auth, never their own protocol logic. Who asks is
[`Auth`][nanoservices.http._auth.Auth]'s to say, bodies are
[`nanoservices.http._decoding`][]'s to read, refusals are drawn by
[`nanoservices.http._problems`][], and durability is
[`KeyedServices`][nanoservices.http._keyed.KeyedServices]'s alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Mapping
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from nanoservices.aio import AsyncHandle
from nanoservices.core import InvalidRequestError, ServiceError, Stream, StreamReplyError
from nanoservices.core.seam import deadlines

from . import _problems
from ._auth import Auth
from ._decoding import BodyReader, deadline, request_value, window
from ._failures import failure
from ._host import Served, start_for_client
from ._keyed import KeyedServices
from ._metrics import ServerMetrics
from ._openapi import openapi
from ._problems import Refused
from ._sessions import Session, SessionTable
from ._sessions import close as close_session
from ._stats import Counters
from ._streaming import frames
from ._wire import JSON, NDJSON, STATE_HEADER, encode, jsonable

__all__ = ["Endpoints"]


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


async def _disconnected(request: Request) -> None:
    """Return when the client goes away (its body has been read: only that is left)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _unless_gone(request: Request, work: Awaitable[Any]) -> Any:
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
        raise _problems.client_gone()
    return task.result()


def _json(doc: object, status: int = 200) -> Response:
    return Response(encode(doc), status, media_type=JSON)


class Endpoints:
    """The state behind the routes (services, sessions, limits, statistics) and the
    endpoints themselves, one method each."""

    def __init__(
        self,
        services: Mapping[str, Served],
        auth: Auth,
        sessions: SessionTable,
        reader: BodyReader,
        max_sessions_per_client: int,
    ) -> None:
        self.services = dict(services)
        self.auth = auth
        self.sessions = sessions
        self.reader = reader
        self.max_sessions_per_client = max_sessions_per_client
        self.keyed = KeyedServices(self.services)
        self.shared: dict[str, AsyncHandle[Any, Any]] = {}
        self.counters = {name: Counters() for name in self.services}
        self.stopping: asyncio.Event | None = None  # made in the server's loop
        self.ready = False
        self.started = time.time()
        self.metrics: ServerMetrics | None = None  # the server's, when it serves /metrics

    # -- what every endpoint needs ---------------------------------------------

    def served(self, name: str) -> Served:
        served = self.services.get(name)
        if served is None:
            raise _problems.unknown_service(name)
        return served

    def session(self, request: Request) -> Session:
        """The caller's session named by the path (refused when not theirs or gone)."""
        owner = self.auth.owner(request)
        params = request.path_params
        return self.sessions.find(params["session"], owner, params["name"])

    def failed(self, session: Session, exc: ServiceError) -> Refused:
        """The refusal for an error the session's handle raised (counted; a failure
        is logged with its traceback)."""
        self.counters[session.service].errors += 1
        session.last_failure = exc
        state = session.state
        return self.keyed.refusal(exc, state) or failure(
            exc, session.id, state, traceback=session.tracebacks
        )

    @staticmethod
    def reply(session: Session, value: Any) -> Response:
        try:
            content = encode(value)
        except (TypeError, ValueError, msgspec.EncodeError, OverflowError) as exc:
            raise _problems.reply_not_json(session.service, value, exc) from None
        return Response(content, 200, media_type=JSON, headers={STATE_HEADER: session.state})

    async def request_value(self, request: Request, session: Session) -> Any:
        """The request in the body, as the session's service takes it."""
        value = self.reader.json(await self.reader.body(request), session.service)
        spec = self.services[session.service].spec
        return request_value(spec, session.service, value, session.state)

    def shared_gate(self, session: Session, operation: str) -> None:
        """What one client does to a shared service, others see: the operator allows it,
        and it may not end another client's open stream (that is theirs to end)."""
        if not session.shared:
            return
        allowed = self.services[session.service].shared_operations
        if operation not in allowed:
            raise _problems.shared_operation(session.service, operation, allowed)
        for other in self.sessions.all():
            if (
                other is not session
                and other.service == session.service
                and other.stream is not None
                and other.stream.is_open
            ):
                raise _problems.shared_stream_open(session.service, operation)

    # -- the server ------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type=JSON)

    async def readiness(self, request: Request) -> Response:
        if self.ready:
            return Response(b'{"ready":true}', media_type=JSON)
        raise _problems.not_ready()

    async def statistics(self, request: Request) -> Response:
        self.auth.owner(request)
        handles: dict[str, list[AsyncHandle[Any, Any]]] = {name: [] for name in self.services}
        for s in self.sessions.all():
            handles[s.service].append(s.handle)
        doc = {
            "uptime_s": round(time.time() - self.started, 3),
            "sessions": len(self.sessions),
            "services": {
                name: {
                    "shared": served.shared,
                    "durable": self.keyed.is_keyed(served),
                    "sessions_open": len(handles[name]),
                    **self.counters[name].document(),
                    **self.keyed.stats(served, handles[name]),
                }
                for name, served in self.services.items()
            },
        }
        return _json(doc)

    async def metrics_text(self, request: Request) -> Response:
        """The Prometheus exposition (behind the token, as every other route)."""
        self.auth.owner(request)
        assert self.metrics is not None  # the route is there only with metrics on
        return self.metrics.exposition()

    async def listing(self, request: Request) -> Response:
        self.auth.owner(request)
        doc = [
            {
                "name": name,
                "shared": s.shared,
                "durable": self.keyed.is_keyed(s),
                "throwable": [c.__name__ for c in s.throwable],
            }
            for name, s in self.services.items()
        ]
        return _json(doc)

    async def openapi_doc(self, request: Request) -> Response:
        return _json(openapi(self.services, self.auth.on, self.metrics is not None))

    # -- sessions ----------------------------------------------------------------------

    async def open_session(self, request: Request) -> Response:
        owner = self.auth.owner(request)
        name = request.path_params["name"]
        served = self.served(name)
        opening = self.reader.session_open(await self.reader.body(request), name)
        if self.sessions.full():
            raise _problems.too_many_sessions(name, self.sessions.max_sessions)
        client = self.auth.quota_key(request)
        if self.sessions.count(client) >= self.max_sessions_per_client:
            raise _problems.client_quota(name, self.max_sessions_per_client)
        handle: AsyncHandle[Any, Any]
        if self.keyed.wanted(served, opening):
            handle = await self.keyed.open(served, opening)
            if self.metrics is not None:
                self.metrics.opened(name, handle)
        elif served.shared:
            if opening.args or opening.kwargs:
                raise _problems.shared_args(name)
            handle = self.shared[name]
        else:
            try:
                handle = await start_for_client(served, opening.args, opening.kwargs)
            except ServiceError as exc:
                raise failure(exc, None, traceback=served.tracebacks) from None
        session = self.sessions.add(name, owner, handle, served.shared, client)
        session.tracebacks = served.tracebacks
        self.counters[name].opened += 1
        doc = {
            "session": session.id,
            "service": name,
            "shared": served.shared,
            "state": session.state,
            "greeting": jsonable(handle.greeting),
        }
        if opening.key is not None:
            doc["key"] = opening.key
        return _json(doc, 201)

    async def session_state(self, request: Request) -> Response:
        session = self.session(request)
        return _json({"service": session.service, "state": session.state})

    async def close_session(self, request: Request) -> Response:
        try:
            session = self.session(request)
        except Refused as refused:
            if refused.status == 410:  # closing twice is fine
                return Response(status_code=204)
            raise
        self.sessions.remove(session, "closed")
        try:  # closed either way; what its finally raised is the caller's answer, as locally
            await close_session(session)
        except ServiceError as exc:
            raise failure(exc, session.id, "closed", traceback=session.tracebacks) from None
        return Response(status_code=204, headers={STATE_HEADER: "closed"})

    # -- a session's service -------------------------------------------------------------

    async def call(self, request: Request) -> Response:
        session = self.session(request)
        at = deadline(request, session.service)
        value = await self.request_value(request, session)
        self.counters[session.service].calls += 1
        try:
            if at is None:
                reply = await session.handle.call(value)
            else:
                left = deadlines.left(at)
                reply = await _unless_gone(request, session.handle.call(value, timeout=left))
        except ServiceError as exc:
            raise self.failed(session, exc) from None
        if type(reply) is Stream:  # the core may hand back the marker: refuse it the same way
            await _close_source(reply.source)
            raise _problems.service_error(StreamReplyError(session.service, value), session.state)
        return self.reply(session, reply)

    async def stream(self, request: Request) -> Response:
        session = self.session(request)
        at = deadline(request, session.service)
        size = window(request, session.service)
        value = await self.request_value(request, session)
        counters = self.counters[session.service]
        counters.streams += 1
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
            frames(session, items, counters, self.stopping, size),
            media_type=NDJSON,
            headers={STATE_HEADER: session.state},
        )

    async def stream_page(self, request: Request) -> Response:
        """The next page of the session's open stream (``?window=`` items at most)."""
        session = self.session(request)
        size = window(request, session.service)
        items = session.stream
        if items is None or not items.is_open:
            raise _problems.no_open_stream(session.service, session.state)
        if session.sending:
            raise _problems.page_in_flight(session.service, session.state)
        return StreamingResponse(
            frames(session, items, self.counters[session.service], self.stopping, size),
            media_type=NDJSON,
            headers={STATE_HEADER: session.state},
        )

    async def cancel_stream(self, request: Request) -> Response:
        session = self.session(request)
        items = session.stream
        if items is not None and items.is_open:
            try:
                await items.aclose()
            except ServiceError as exc:
                raise self.failed(session, exc) from None
        return Response(status_code=204, headers={STATE_HEADER: session.state})

    async def reset(self, request: Request) -> Response:
        session = self.session(request)
        self.shared_gate(session, "reset")
        try:
            await session.handle.reset()
        except ServiceError as exc:
            raise self.failed(session, exc) from None
        return self.reply(session, {"state": session.state})

    async def restart(self, request: Request) -> Response:
        session = self.session(request)
        self.shared_gate(session, "restart")
        try:
            await session.handle.restart()
        except ServiceError as exc:
            raise self.failed(session, exc) from None
        return self.reply(
            session, {"state": session.state, "greeting": jsonable(session.handle.greeting)}
        )

    async def throw(self, request: Request) -> Response:
        session = self.session(request)
        self.shared_gate(session, "throw")
        thrown = self.reader.throw(await self.reader.body(request), session.service)
        served = self.services[session.service]
        cls = served.throwable_named(thrown.type)
        if cls is None:
            allowed = ", ".join(c.__name__ for c in served.throwable)
            error = InvalidRequestError(
                session.service,
                thrown.type,
                f"{thrown.type} may not be thrown into this service (allowed: {allowed})",
            )
            raise _problems.service_error(error, session.state)
        try:
            exception = cls(*thrown.args)
        except Exception as exc:  # the allowed class's own __init__ refused these args
            error = InvalidRequestError(
                session.service,
                {"type": thrown.type, "args": thrown.args},
                f"cannot make {thrown.type} from args {thrown.args!r}: {exc}",
            )
            raise _problems.service_error(error, session.state) from None
        try:
            reply = await session.handle.throw(exception)
        except ServiceError as exc:
            raise self.failed(session, exc) from None
        return self.reply(session, reply)
