"""Remote handles: a service served over HTTP, with the local handle's interface.

``connect(url, service=...)`` (httpx.Client) and ``await aconnect(...)``
(httpx.AsyncClient) open a session that owns a service instance on the server
and return a handle: ``call``, lazy ``stream``, ``reset``, ``throw``, ``close``,
``state``, context manager. What a request and a response mean is written once
in [`_Wire`][]; the sync and async twins only do the I/O, a few lines each
(the httpx ``Client``/``AsyncClient`` pattern).

``state`` is the state the server reported in its last answer (a property does
no I/O); another client of a *shared* service may have changed it since.
"""

from __future__ import annotations

import contextlib
import secrets
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any, Generic, TypeVar

import httpx
import msgspec

from nanoservices.core import (
    DeadlineExceeded,
    InvalidRequestError,
    ServiceError,
    State,
    TransportError,
)
from nanoservices.core.seam import Op, deadlines, refusal, short_repr

from ._wire import (
    CLIENT_HEADER,
    FIRST_WINDOW,
    MAX_WINDOW,
    STATE_HEADER,
    TIMEOUT_HEADER,
    error_from_problem,
)

__all__ = [
    "AsyncRemoteHandle",
    "AsyncRemoteStream",
    "RemoteHandle",
    "RemoteStream",
    "aconnect",
    "connect",
]

RequestT = TypeVar("RequestT")
ReplyT = TypeVar("ReplyT")

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
_STATES = {s.value: s for s in State}

#: Every exception httpx raises (``HTTPError`` and the few outside it): each one
#: becomes a [`TransportError`][] whose ``__cause__`` is the httpx error.
HTTPX_ERRORS: tuple[type[Exception], ...] = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError)

#: How long past its deadline a client waits for the server to say so (a 504, or a
#: stream's error frame) before it gives up on its own: the server's answer has to
#: cross the network after the server cancelled the work.
DEADLINE_GRACE = 0.25

_MAX_SECONDS = 999_999_999.0  # what the timeout header can say

#: What [`_Wire.frame`][] returns for a page's ``more`` frame: the stream goes on
#: in its next page.
MORE: Any = object()


def _page(window: int, first: bool = False) -> str:
    """The path (below the session) asking for a stream's first or next page."""
    return f"/stream?window={window}" if first else f"/stream/next?window={window}"


def _grown(window: int) -> int:
    """The next page's window: twice the last, up to [`MAX_WINDOW`][]."""
    return min(2 * window, MAX_WINDOW)


def deadline_of(timeout: float | None) -> float | None:
    """The deadline (``time.monotonic()``) of a request sent now with ``timeout``
    (the earlier of it and a deadline in force), or None without a timeout."""
    if timeout is None:
        return None
    return deadlines.deadline_at(deadlines.check_timeout(timeout))


class _Wire:
    """What requests and responses mean, shared by both remote handles (no I/O)."""

    __slots__ = ("base", "headers", "name", "path", "state")

    def __init__(self, base: str, service: str, token: str | None, client_id: str | None) -> None:
        self.base = base.rstrip("/")
        self.name = service
        self.path = ""  # the session's path, once opened
        self.state = State.READY
        self.headers = {
            CLIENT_HEADER: client_id or secrets.token_urlsafe(16),
            "content-type": "application/json",
        }
        if token is not None:
            self.headers["authorization"] = f"Bearer {token}"

    def request(
        self,
        client: httpx.Client | httpx.AsyncClient,
        method: str,
        path: str,
        content: bytes | None = None,
        at: float | None = None,
    ) -> httpx.Request:
        """A request to this session (``path`` below it), for either client to send;
        with a deadline ``at``, it travels in a header and bounds httpx's waits."""
        if at is None:
            return client.build_request(
                method, self.path + path, content=content, headers=self.headers
            )
        left = min(deadlines.left(at) or 0.0, _MAX_SECONDS)
        headers = {**self.headers, TIMEOUT_HEADER: f"{left:.6f}"}
        return client.build_request(
            method,
            self.path + path,
            content=content,
            headers=headers,
            timeout=httpx.Timeout(left + DEADLINE_GRACE),
        )

    def late(self, request: object, timeout: float | None, at: float | None) -> None:
        """Raise [`DeadlineExceeded`][] if the deadline ``at`` has passed."""
        if at is not None and deadlines.left(at) == 0.0:
            raise DeadlineExceeded(self.name, request, timeout)

    def failed_send(self, exc: Exception, request: object, timeout: float | None) -> ServiceError:
        """The error for what httpx raised: past a deadline, [`DeadlineExceeded`][]."""
        if timeout is not None and isinstance(exc, httpx.TimeoutException):
            return DeadlineExceeded(
                self.name,
                request,
                timeout,
                f"request {short_repr(request)} missed its deadline ({timeout:g}s): no answer "
                f"from the server within it and {DEADLINE_GRACE:g}s more",
            )
        return self.unreachable(exc)

    def open_request(
        self,
        client: httpx.Client | httpx.AsyncClient,
        args: tuple[Any, ...],
        kwargs: dict[str, Any] | None,
        key: str | None = None,
    ) -> httpx.Request:
        """The request that opens a session (a new service instance) on the server;
        ``key`` names the state of a durable service's session."""
        doc: dict[str, Any] = {"args": list(args), "kwargs": kwargs or {}}
        if key is not None:
            doc["key"] = key
        body = self.encode(doc, "factory arguments")
        return client.build_request(
            "POST", f"{self.base}/services/{self.name}/sessions", content=body, headers=self.headers
        )

    def opened(self, response: httpx.Response) -> Any:
        doc = self.outcome(response)
        self.path = f"{self.base}/services/{self.name}/sessions/{doc['session']}"
        return doc.get("greeting")

    def encode(self, value: object, what: str = "request") -> bytes:
        try:
            return _encode(value)
        except (TypeError, msgspec.EncodeError, OverflowError) as exc:
            raise InvalidRequestError(
                self.name, value, f"the {what} has no JSON form: {exc}"
            ) from None

    def throw_body(self, exc: BaseException | type[BaseException]) -> bytes:
        if isinstance(exc, type) and issubclass(exc, BaseException):
            name, args = exc.__name__, ()
        elif isinstance(exc, BaseException):
            name, args = type(exc).__name__, exc.args
        else:
            raise InvalidRequestError(
                self.name, exc, "throw() takes an exception class or instance"
            )
        return self.encode({"type": name, "args": list(args)}, "exception")

    def track(self, response: httpx.Response) -> None:
        state = response.headers.get(STATE_HEADER)
        if state in _STATES:
            self.state = _STATES[state]

    def outcome(self, response: httpx.Response) -> Any:
        """The decoded body of a successful answer; the rebuilt error otherwise."""
        self.track(response)
        if response.status_code < 300:
            try:
                return _decode(response.content) if response.content else None
            except msgspec.DecodeError as exc:
                raise TransportError(
                    self.name, f"the server answered with bad JSON: {exc}"
                ) from exc
        raise self.error(response.status_code, response.content)

    def error(self, status: int, content: bytes) -> ServiceError:
        try:
            doc = _decode(content)
        except msgspec.DecodeError:
            doc = None
        if isinstance(doc, dict) and doc.get("state") in _STATES:
            self.state = _STATES[doc["state"]]
        elif status == 410:
            self.state = State.CLOSED
        return error_from_problem(doc, self.name, status)

    def frame(self, line: str) -> tuple[bool, Any]:
        """(True, item) for an item; (False, None) at the end; (False, [`MORE`][]) at
        the end of a page; raises a stream's error (a [`TransportError`][] for ``""``:
        the stream broke off)."""
        if not line:
            raise TransportError(self.name, "the stream broke off before its end frame")
        try:
            doc = _decode(line)
        except msgspec.DecodeError as exc:
            raise TransportError(self.name, f"the stream sent a bad frame: {exc}") from exc
        if not isinstance(doc, dict):
            raise TransportError(self.name, "the stream sent a frame that is not a JSON object")
        if "item" in doc:
            return True, doc["item"]
        if "error" in doc:
            problem = doc["error"]
            state = problem.get("state") if isinstance(problem, dict) else None
            self.state = _STATES.get(str(state), State.READY)
            raise error_from_problem(problem, self.name)
        if doc.get("more") is True:
            return False, MORE
        self.state = _STATES.get(str(doc.get("state")), State.READY)
        return False, None

    def unreachable(self, exc: Exception) -> TransportError:
        return TransportError(self.name, f"cannot reach the server at {self.base}: {exc}")

    def restarted(self, response: httpx.Response) -> Any:
        """The new greeting from a ``POST /restart`` answer."""
        doc = self.outcome(response)
        return doc.get("greeting") if isinstance(doc, dict) else None

    def fetched(self, response: httpx.Response) -> State:
        """The fresh state from a ``GET`` of the session (kept as the last state seen)."""
        doc = self.outcome(response)
        if isinstance(doc, dict) and doc.get("state") in _STATES:
            self.state = _STATES[doc["state"]]
        return self.state

    def __repr__(self) -> str:
        return f"{self.name!r} at {self.base} {self.state.value}"


StreamT = TypeVar("StreamT")
ClientT = TypeVar("ClientT", httpx.Client, httpx.AsyncClient)


class _RemoteHandleState(Generic[ClientT, StreamT]):
    """What the sync and async remote handles keep alike: the client, the wire, the
    open stream (held weakly) and the checks made before a request is sent."""

    def __init__(self, client: ClientT, wire: _Wire, owns_client: bool) -> None:
        self._client: ClientT = client
        self._wire = wire
        self._owns = owns_client
        # weak: a stream dropped mid-way (a ``break``) must be freed at once, so
        # that its __del__ gives the service back
        self._stream_ref: weakref.ref[StreamT] | None = None
        self._closed = False
        self.greeting: Any = None
        #: The handle-wide default deadline in seconds for ``call`` and ``stream``
        #: (None: none); a call's own ``timeout=`` overrides it.
        self.timeout: float | None = None

    @property
    def _stream(self) -> StreamT | None:
        return None if self._stream_ref is None else self._stream_ref()

    @_stream.setter
    def _stream(self, opened: StreamT | None) -> None:
        self._stream_ref = None if opened is None else weakref.ref(opened)

    def _refuse_if_closed(self, op: Op) -> None:
        if self._closed:
            raise refusal(State.CLOSED, op, self.name)

    def _not_streaming(self, op: Op) -> None:
        # This handle's own stream is open: the service is busy for it, as locally,
        # even when the server has long finished producing the stream (the items
        # wait, unread, in the response) and so would take the request.
        if self._stream is not None:
            raise refusal(State.STREAMING, op, self.name)

    @property
    def name(self) -> str:
        return self._wire.name

    @property
    def state(self) -> State:
        """The state the server reported last (STREAMING while your stream is open).

        No network I/O: call ``fetch_state`` for the server's state now.
        """
        return State.STREAMING if self._stream is not None else self._wire.state


class RemoteHandle(
    _RemoteHandleState[httpx.Client, "RemoteStream[Any]"], Generic[RequestT, ReplyT]
):
    """A service instance on a ``nanoservices serve`` server (see [`connect`][])."""

    def _send(self, method: str, path: str, content: bytes | None = None) -> httpx.Response:
        try:
            return self._client.send(self._wire.request(self._client, method, path, content))
        except HTTPX_ERRORS as exc:
            raise self._wire.unreachable(exc) from exc

    def _post(self, path: str, content: bytes = b"", op: Op = Op.CALL) -> httpx.Response:
        self._refuse_if_closed(op)
        return self._send("POST", path, content)

    def _delete(self, path: str = "") -> httpx.Response:
        return self._send("DELETE", path)

    def _drop_stream(self) -> None:
        opened, self._stream = self._stream, None
        if opened is not None:
            opened._finish()

    def call(self, request: RequestT, /, *, timeout: float | None = None) -> ReplyT:
        """Send ``request`` and return the reply.

        ``timeout`` (or [`timeout`][]): a deadline in seconds; it travels in the
        ``nanoservices-timeout`` header, the server cancels the service's work
        when it passes, and the caller gets [`DeadlineExceeded`][nanoservices.DeadlineExceeded]
        (from the server's 504, or on its own ``DEADLINE_GRACE`` later).
        """
        if timeout is None:
            timeout = self.timeout
        if timeout is not None:
            return self._call_within(request, timeout)
        self._not_streaming(Op.CALL)
        reply: ReplyT = self._wire.outcome(self._post("/call", self._wire.encode(request)))
        return reply

    __call__ = call

    def _call_within(self, request: RequestT, timeout: float) -> ReplyT:
        wire = self._wire
        at = deadline_of(timeout)
        wire.late(request, timeout, at)
        self._refuse_if_closed(Op.CALL)
        self._not_streaming(Op.CALL)
        sent = wire.request(self._client, "POST", "/call", wire.encode(request), at)
        try:
            response = self._client.send(sent)
        except HTTPX_ERRORS as exc:
            raise wire.failed_send(exc, request, timeout) from exc
        answer: ReplyT = wire.outcome(response)
        return answer

    def stream(self, request: RequestT, /, *, timeout: float | None = None) -> RemoteStream[Any]:
        """Send ``request``; iterate its streamed reply lazily, item by item.

        ``timeout`` (or [`timeout`][]): a deadline for the whole stream; the
        server ends the stream when it passes, and the caller gets
        [`DeadlineExceeded`][nanoservices.DeadlineExceeded].
        """
        wire = self._wire
        if timeout is None:
            timeout = self.timeout
        at = deadline_of(timeout)
        wire.late(request, timeout, at)
        self._refuse_if_closed(Op.CALL)
        self._not_streaming(Op.CALL)
        body = wire.encode(request)
        sent = wire.request(self._client, "POST", _page(FIRST_WINDOW, first=True), body, at)
        try:
            response = self._client.send(sent, stream=True)
            if response.status_code != 200:
                with contextlib.closing(response):
                    content = response.read()
                raise wire.error(response.status_code, content)
        except HTTPX_ERRORS as exc:
            raise wire.failed_send(exc, request, timeout) from exc
        wire.track(response)
        opened: RemoteStream[Any] = RemoteStream(self, response, request, at, timeout)
        self._stream = opened
        return opened

    def _cancel_stream(self, opened: RemoteStream[Any]) -> None:
        if self._stream is opened:
            self._stream = None
            try:
                self._wire.outcome(self._delete("/stream"))
            except TransportError:
                raise  # the server is unreachable: say so
            except ServiceError:
                pass  # the stream is over on the server anyway

    # reset, throw and restart end this handle's open stream on the server, where
    # the service's own handle closes its source as it does locally (a source's
    # failing ``finally`` is reported, as locally); only then is the response dropped.

    def reset(self) -> None:
        """End an open stream, or restart a failed service; its state is kept."""
        try:
            self._wire.outcome(self._post("/reset", op=Op.RESET))
        finally:
            self._drop_stream()

    def throw(self, exc: BaseException | type[BaseException], /) -> Any:
        """Raise ``exc`` in the service (the server allows only named exception classes)."""
        try:
            return self._wire.outcome(self._post("/throw", self._wire.throw_body(exc), Op.THROW))
        finally:
            self._drop_stream()

    def restart(self) -> None:
        """Start the service afresh on the server (a new generator; its state is lost).

        An open stream ends first; ``greeting`` becomes the new instance's greeting.
        """
        try:
            self.greeting = self._wire.restarted(self._post("/restart", op=Op.RESTART))
        finally:
            self._drop_stream()

    def fetch_state(self) -> State:
        """Ask the server for the service's state now (``state`` is the last one seen)."""
        if self._closed:
            return State.CLOSED
        if self._stream is not None:
            return State.STREAMING
        return self._wire.fetched(self._send("GET", ""))

    def close(self) -> None:
        """Close the session (the service's ``finally`` blocks run); twice is fine."""
        if not self._closed:
            self._closed = True
            self._drop_stream()
            try:
                self._wire.outcome(self._delete())
            except TransportError:
                pass  # a server that is gone has closed the session anyway
            finally:
                self._wire.state = State.CLOSED
                if self._owns:
                    self._client.close()
                    self._owns = False

    def __enter__(self) -> RemoteHandle[RequestT, ReplyT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RemoteHandle {self._wire!r}>"


class RemoteStream(Generic[ReplyT]):
    """A streamed reply, pulled from the server in pages and read item by item.

    The first page asks for ``FIRST_WINDOW`` items, each next one for twice the
    last, up to ``MAX_WINDOW``: the server produces only the items asked for,
    so a reader that stops leaves the service at most one page ahead.
    """

    def __init__(
        self,
        handle: RemoteHandle[Any, Any],
        response: httpx.Response,
        request: object = None,
        at: float | None = None,
        timeout: float | None = None,
    ) -> None:
        self._handle: RemoteHandle[Any, Any] | None = handle
        self._response = response
        self._lines: Iterator[str] = response.iter_lines()
        self._request = request
        self._at = at  # the stream's deadline (``time.monotonic()``), or None
        self._timeout = timeout
        self._window = FIRST_WINDOW  # the last page's

    def __iter__(self) -> RemoteStream[ReplyT]:
        return self

    def __next__(self) -> ReplyT:
        handle = self._handle
        if handle is None:
            raise StopIteration
        if self._at is not None and deadlines.left(self._at) == 0.0:
            self.cancel()  # the server ends it too; this returns once it has
            raise DeadlineExceeded(handle.name, self._request, self._timeout)
        while True:
            try:
                line = next(self._lines, "")
                while line == "" and not self._response.is_closed:
                    line = next(self._lines, "")
            except HTTPX_ERRORS as exc:
                self._finish()
                raise handle._wire.failed_send(exc, self._request, self._timeout) from exc
            try:
                more, item = handle._wire.frame(line)
            except ServiceError:
                self._finish()
                raise
            if more:
                pulled: ReplyT = item
                return pulled
            if item is not MORE:
                self._finish()
                raise StopIteration
            self._next_page(handle)

    def _next_page(self, handle: RemoteHandle[Any, Any]) -> None:
        """Ask the server for the stream's next page (a larger one than the last)."""
        with contextlib.suppress(*HTTPX_ERRORS):  # the last page is read to its end
            self._response.close()
        self._window = _grown(self._window)
        wire = handle._wire
        sent = wire.request(handle._client, "POST", _page(self._window), None, self._at)
        try:
            response = handle._client.send(sent, stream=True)
            if response.status_code != 200:
                with contextlib.closing(response):
                    content = response.read()
                raise wire.error(response.status_code, content)
        except HTTPX_ERRORS as exc:
            self._finish()
            raise wire.failed_send(exc, self._request, self._timeout) from exc
        except ServiceError:
            self._finish()
            raise
        self._response = response
        self._lines = response.iter_lines()

    def _finish(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None and handle._stream is self:
            handle._stream = None
        with contextlib.suppress(*HTTPX_ERRORS):  # the stream is over either way
            self._response.close()

    @property
    def is_open(self) -> bool:
        return self._handle is not None

    def cancel(self) -> None:
        """Stop early: the server closes the source; the service waits for a request."""
        handle = self._handle
        if handle is not None:
            self._handle = None
            with contextlib.suppress(*HTTPX_ERRORS):  # a dead connection is closed already
                self._response.close()
            handle._cancel_stream(self)

    close = cancel
    """The same as `cancel`, under the name generators use."""

    def __enter__(self) -> RemoteStream[ReplyT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.cancel()


def connect(
    url: str,
    service: str,
    *args: Any,
    token: str | None = None,
    kwargs: dict[str, Any] | None = None,
    timeout: float = 30.0,
    client: httpx.Client | None = None,
    client_id: str | None = None,
    key: str | None = None,
) -> RemoteHandle[Any, Any]:
    """Open a session on ``service`` at ``url`` and return its handle.

    Args:
        *args: the service factory's positional arguments (sent as JSON).
        kwargs: the service factory's keyword arguments (sent as JSON).
        token: bearer token, when the server asks for one.
        client: an ``httpx.Client`` to share a connection pool (not closed by us).
        key: for a durable service, the name of the state to open (the same key
            finds the same state after the session closed or the server restarted).

    Raises:
        TransportError: the server cannot be reached, or does not know ``service``.
    """
    wire = _Wire(url, service, token, client_id)
    owns = client is None
    http = client or httpx.Client(timeout=timeout)
    handle: RemoteHandle[Any, Any] = RemoteHandle(http, wire, owns)
    try:
        handle.greeting = wire.opened(http.send(wire.open_request(http, args, kwargs, key)))
    except BaseException as exc:
        if owns:
            http.close()
        if isinstance(exc, HTTPX_ERRORS):
            raise wire.unreachable(exc) from exc
        raise
    return handle


class AsyncRemoteHandle(
    _RemoteHandleState[httpx.AsyncClient, "AsyncRemoteStream[Any]"], Generic[RequestT, ReplyT]
):
    """The async twin of [`RemoteHandle`][] (see [`aconnect`][])."""

    def __init__(self, client: httpx.AsyncClient, wire: _Wire, owns_client: bool) -> None:
        super().__init__(client, wire, owns_client)
        self._dropped = False  # a stream was dropped mid-way: cancel it on the next step

    async def _send(self, method: str, path: str, content: bytes | None = None) -> httpx.Response:
        try:
            return await self._client.send(self._wire.request(self._client, method, path, content))
        except HTTPX_ERRORS as exc:
            raise self._wire.unreachable(exc) from exc

    async def _post(self, path: str, content: bytes = b"", op: Op = Op.CALL) -> httpx.Response:
        self._refuse_if_closed(op)
        if self._dropped:
            await self._cancel_dropped()
        return await self._send("POST", path, content)

    async def _delete(self, path: str = "") -> httpx.Response:
        return await self._send("DELETE", path)

    async def _drop_stream(self) -> None:
        opened, self._stream = self._stream, None
        if opened is not None:
            await opened._finish()

    async def call(self, request: RequestT, /, *, timeout: float | None = None) -> ReplyT:
        """The async twin of [`RemoteHandle.call`][RemoteHandle.call]."""
        if timeout is None:
            timeout = self.timeout
        if timeout is not None:
            return await self._call_within(request, timeout)
        self._not_streaming(Op.CALL)
        reply: ReplyT = self._wire.outcome(await self._post("/call", self._wire.encode(request)))
        return reply

    __call__ = call

    async def _call_within(self, request: RequestT, timeout: float) -> ReplyT:
        wire = self._wire
        at = deadline_of(timeout)
        wire.late(request, timeout, at)
        self._refuse_if_closed(Op.CALL)
        if self._dropped:
            await self._cancel_dropped()
        self._not_streaming(Op.CALL)
        sent = wire.request(self._client, "POST", "/call", wire.encode(request), at)
        try:
            response = await self._client.send(sent)
        except HTTPX_ERRORS as exc:
            raise wire.failed_send(exc, request, timeout) from exc
        answer: ReplyT = wire.outcome(response)
        return answer

    def stream(
        self, request: RequestT, /, *, timeout: float | None = None
    ) -> AsyncRemoteStream[Any]:
        """The streamed reply, for ``async for``; the request goes on the first step
        (``timeout``: a deadline from now for the whole stream)."""
        if timeout is None:
            timeout = self.timeout
        return AsyncRemoteStream(self, request, deadline_of(timeout), timeout)

    async def _cancel_dropped(self) -> None:
        self._dropped = False
        with contextlib.suppress(ServiceError):
            self._wire.outcome(await self._delete("/stream"))

    async def _cancel_stream(self, opened: AsyncRemoteStream[Any]) -> None:
        if self._stream is opened:
            self._stream = None
            try:
                self._wire.outcome(await self._delete("/stream"))
            except TransportError:
                raise  # the server is unreachable: say so
            except ServiceError:
                pass  # the stream is over on the server anyway

    async def reset(self) -> None:
        try:
            self._wire.outcome(await self._post("/reset", op=Op.RESET))
        finally:
            await self._drop_stream()

    async def throw(self, exc: BaseException | type[BaseException], /) -> Any:
        try:
            body = self._wire.throw_body(exc)
            return self._wire.outcome(await self._post("/throw", body, Op.THROW))
        finally:
            await self._drop_stream()

    async def restart(self) -> None:
        """The async twin of [`RemoteHandle.restart`][]."""
        try:
            self.greeting = self._wire.restarted(await self._post("/restart", op=Op.RESTART))
        finally:
            await self._drop_stream()

    async def fetch_state(self) -> State:
        """The async twin of [`RemoteHandle.fetch_state`][]."""
        if self._closed:
            return State.CLOSED
        if self._stream is not None:
            return State.STREAMING
        return self._wire.fetched(await self._send("GET", ""))

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._drop_stream()
            try:
                self._wire.outcome(await self._delete())
            except TransportError:
                pass  # a server that is gone has closed the session anyway
            finally:
                self._wire.state = State.CLOSED
                if self._owns:
                    await self._client.aclose()
                    self._owns = False

    async def __aenter__(self) -> AsyncRemoteHandle[RequestT, ReplyT]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<AsyncRemoteHandle {self._wire!r}>"


class AsyncRemoteStream(Generic[ReplyT]):
    """The async twin of [`RemoteStream`][]; ``async with`` closes it right away."""

    def __init__(
        self,
        handle: AsyncRemoteHandle[Any, Any],
        request: object,
        at: float | None = None,
        timeout: float | None = None,
    ) -> None:
        self._handle: AsyncRemoteHandle[Any, Any] | None = handle
        self._request = request
        self._response: httpx.Response | None = None
        self._lines: AsyncIterator[str] | None = None
        self._at = at  # the stream's deadline (``time.monotonic()``), or None
        self._timeout = timeout
        self._window = FIRST_WINDOW  # the last page's

    async def open(self) -> AsyncRemoteStream[ReplyT]:
        handle = self._handle
        if self._response is not None or handle is None:
            return self
        handle._refuse_if_closed(Op.CALL)
        if handle._dropped:
            await handle._cancel_dropped()
        handle._not_streaming(Op.CALL)
        wire = handle._wire
        client = handle._client
        wire.late(self._request, self._timeout, self._at)
        body = wire.encode(self._request)
        sent = wire.request(client, "POST", _page(FIRST_WINDOW, first=True), body, self._at)
        try:
            response = await client.send(sent, stream=True)
            if response.status_code != 200:
                self._handle = None
                try:
                    content = await response.aread()
                finally:
                    await response.aclose()
                raise wire.error(response.status_code, content)
        except HTTPX_ERRORS as exc:
            self._handle = None
            raise wire.failed_send(exc, self._request, self._timeout) from exc
        self._response = response
        wire.track(response)
        self._lines = response.aiter_lines()
        handle._stream = self
        return self

    def __aiter__(self) -> AsyncRemoteStream[ReplyT]:
        return self

    async def __anext__(self) -> ReplyT:
        await self.open()
        handle = self._handle
        if handle is None or self._lines is None:
            raise StopAsyncIteration
        if self._at is not None and deadlines.left(self._at) == 0.0:
            await self.aclose()  # the server ends it too; this returns once it has
            raise DeadlineExceeded(handle.name, self._request, self._timeout)
        while True:
            line = ""
            try:
                async for line in self._lines:
                    if line:
                        break
            except HTTPX_ERRORS as exc:
                await self._finish()
                raise handle._wire.failed_send(exc, self._request, self._timeout) from exc
            try:
                more, item = handle._wire.frame(line)
            except ServiceError:
                await self._finish()
                raise
            if more:
                pulled: ReplyT = item
                return pulled
            if item is not MORE:
                await self._finish()
                raise StopAsyncIteration
            self._lines = await self._next_page(handle)

    async def _next_page(self, handle: AsyncRemoteHandle[Any, Any]) -> AsyncIterator[str]:
        """Ask the server for the stream's next page (a larger one than the last)."""
        if self._response is not None:
            with contextlib.suppress(*HTTPX_ERRORS):  # the last page is read to its end
                await self._response.aclose()
        self._window = _grown(self._window)
        wire = handle._wire
        sent = wire.request(handle._client, "POST", _page(self._window), None, self._at)
        try:
            response = await handle._client.send(sent, stream=True)
            if response.status_code != 200:
                try:
                    content = await response.aread()
                finally:
                    await response.aclose()
                raise wire.error(response.status_code, content)
        except HTTPX_ERRORS as exc:
            await self._finish()
            raise wire.failed_send(exc, self._request, self._timeout) from exc
        except ServiceError:
            await self._finish()
            raise
        self._response = response
        return response.aiter_lines()

    async def _finish(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None and handle._stream is self:
            handle._stream = None
        if self._response is not None:
            with contextlib.suppress(*HTTPX_ERRORS):  # the stream is over either way
                await self._response.aclose()

    @property
    def is_open(self) -> bool:
        return self._handle is not None and self._response is not None

    async def aclose(self) -> None:
        handle = self._handle
        if handle is not None:
            self._handle = None
            if self._response is not None:
                with contextlib.suppress(*HTTPX_ERRORS):  # a dead connection is closed already
                    await self._response.aclose()
                await handle._cancel_stream(self)

    cancel = aclose
    """The same as `aclose`, under the name sync streams use."""

    async def __aenter__(self) -> AsyncRemoteStream[ReplyT]:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __del__(self) -> None:
        handle = self._handle
        if handle is not None and self._response is not None:
            handle._stream = None
            handle._dropped = True  # no I/O here: the handle cancels it on its next step


async def aconnect(
    url: str,
    service: str,
    *args: Any,
    token: str | None = None,
    kwargs: dict[str, Any] | None = None,
    timeout: float = 30.0,
    client: httpx.AsyncClient | None = None,
    client_id: str | None = None,
    key: str | None = None,
) -> AsyncRemoteHandle[Any, Any]:
    """The async twin of [`connect`][]: ``h = await aconnect(url, "md5")``."""
    wire = _Wire(url, service, token, client_id)
    owns = client is None
    http = client or httpx.AsyncClient(timeout=timeout)
    handle: AsyncRemoteHandle[Any, Any] = AsyncRemoteHandle(http, wire, owns)
    try:
        handle.greeting = wire.opened(await http.send(wire.open_request(http, args, kwargs, key)))
    except BaseException as exc:
        if owns:
            await http.aclose()
        if isinstance(exc, HTTPX_ERRORS):
            raise wire.unreachable(exc) from exc
        raise
    return handle
