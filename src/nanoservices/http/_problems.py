"""Every problem document the server answers with, one function per kind.

Each function returns a [`Refused`][]: raise it inside an endpoint and the
route answers with its document (RFC 9457, ``application/problem+json``), or
take its ``doc`` for a stream's error frame. The wire format itself (the
members a client rebuilds an error from, and the document for an error a
handle raised) is [`nanoservices.http._wire`][]; this module only chooses the
status, kind, title and words of each situation the server meets.

```text
Refused
├── 400 not-http (h11 refused it), malformed, too-deep, bad-timeout, bad-window,
│       bad-session-open, bad-throw
├── 401 unauthorized
├── 403 shared-operation
├── 404 unknown-service, unknown-session, not-found (no route)
├── 405 method-not-allowed
├── 408 body-timeout
├── 409 busy (a shared service's stream is open, a page in flight), no-open-stream, key-locked
├── 410 session-expired, closed
├── 413 too-large
├── 431 not-http (headers past h11's size limit)
├── 415 unsupported-media-type
├── 422 shared-args, bad-session-open, bad-throw (and service_error's invalid-request)
├── 429 too-many-sessions, client-quota
├── 499 client-gone
├── 500 internal, reply-not-json, journal (and service_error's failures)
├── 503 not-ready, server-stopping
└── service_error: whatever a handle raised (its status from the wire format)
```
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Final

import msgspec
from starlette.responses import Response

from nanoservices.core import ServiceError

from ._wire import PROBLEM_JSON, encode, problem, problem_for

__all__ = ["MAX_JSON_DEPTH", "Refused"]

#: Deepest JSON nesting a request may have: a limit of its own, the same on every
#: Python (how deep a decoder can recurse before RecursionError varies by version).
MAX_JSON_DEPTH: Final = 256


class Refused(Exception):
    """Raised inside an endpoint to answer with a problem document at once."""

    def __init__(self, doc: dict[str, Any], headers: Mapping[str, str] | None = None) -> None:
        super().__init__(doc.get("detail"))
        self.doc = doc
        self.headers = dict(headers) if headers else None

    @property
    def status(self) -> int:
        status: int = self.doc["status"]
        return status

    def response(self) -> Response:
        return Response(
            encode(self.doc),
            status_code=self.status,
            media_type=PROBLEM_JSON,
            headers=self.headers,
        )


def _refused(
    status: int,
    kind: str,
    title: str,
    detail: str,
    *,
    error: str = "TransportError",
    service: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Refused:
    doc = problem(status, kind, title, detail, error=error, service=service, **extra)
    return Refused(doc, headers)


# -- a handle's own errors ---------------------------------------------------------


def service_error(
    exc: ServiceError, state: str | None = None, *, traceback: bool = False
) -> Refused:
    """What a service's handle raised (its status and members from the wire format;
    ``traceback``: the operator sends the server's traceback of a failure)."""
    return Refused(problem_for(exc, state, traceback=traceback))


# -- who asks, and for what ------------------------------------------------------


def unauthorized() -> Refused:
    return _refused(
        401, "unauthorized", "Unauthorized",
        "a valid bearer token is required (Authorization: Bearer <token>)",
        headers={"WWW-Authenticate": 'Bearer realm="nanoservices"'},
    )  # fmt: skip


def unknown_service(name: str) -> Refused:
    return _refused(404, "unknown-service", "Unknown service", f"no service named {name!r}")


def unknown_session(service: str) -> Refused:
    return _refused(404, "unknown-session", "Unknown session", "no such session", service=service)


def session_expired(service: str) -> Refused:
    return _refused(
        410, "session-expired", "Session expired",
        "the session expired after being idle; open a new one", service=service,
    )  # fmt: skip


def session_closed(service: str) -> Refused:
    return _refused(
        410, "closed", "ServiceClosedError", "cannot use it: the session was closed",
        error="ServiceClosedError", service=service, state="closed",
    )  # fmt: skip


def not_http(status: int, reason: str) -> Refused:
    """A request that is not valid HTTP/1.1 (h11 refused it before the app could run;
    ``status`` is h11's hint: 400, or 431 for headers past the size limit)."""
    return _refused(
        status, "not-http", "Invalid HTTP request",
        f"the request is not valid HTTP/1.1 ({reason}); the connection is closed",
    )  # fmt: skip


def no_route(status: int, detail: str, headers: Mapping[str, str] | None) -> Refused:
    """Starlette's own answer for a path or method the server has not (404, 405)."""
    kind = {404: "not-found", 405: "method-not-allowed"}.get(status, "http")
    return _refused(status, kind, detail, detail, headers=headers)


# -- the request's body and headers ----------------------------------------------


def too_large(max_body: int, size: int | None = None) -> Refused:
    """A body past the server's limit; ``size`` when its Content-Length said it
    (a chunked body is refused as soon as it passes the limit, its size unknown)."""
    what = "the request body" if size is None else f"a request of {size:,} bytes"
    extra: dict[str, Any] = {} if size is None else {"request_bytes": size}
    return _refused(
        413, "too-large", "Request too large",
        f"{what} is larger than the {max_body:,} bytes this server takes",
        error="InvalidRequestError", **extra,
    )  # fmt: skip


def body_timeout(seconds: float) -> Refused:
    return _refused(
        408, "body-timeout", "Request body too slow",
        f"the request body did not arrive within {seconds:g}s", error="InvalidRequestError",
    )  # fmt: skip


def unsupported_media_type(media: str, wanted: str) -> Refused:
    return _refused(
        415, "unsupported-media-type", "Unsupported media type",
        f"send the body as {wanted} (got {media or 'no Content-Type'!r})",
        error="InvalidRequestError",
    )  # fmt: skip


def too_deep(service: str | None = None) -> Refused:
    """A body nested past [`MAX_JSON_DEPTH`][] (or too deep for anything to handle)."""
    return _refused(
        400, "too-deep", "Request nested too deeply",
        f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep",
        error="InvalidRequestError", service=service,
    )  # fmt: skip


def malformed(service: str, why: str) -> Refused:
    """A body that is empty or not JSON (``why`` says which)."""
    return _refused(
        400, "malformed", "Malformed JSON", why, error="InvalidRequestError", service=service
    )


def bad_timeout(service: str, header: str, text: str) -> Refused:
    return _refused(
        400, "bad-timeout", "Malformed timeout",
        f"the {header} header must be seconds as a decimal number (like 2.5), got {text[:40]!r}",
        error="InvalidRequestError", service=service,
    )  # fmt: skip


def bad_window(service: str, text: str) -> Refused:
    return _refused(
        400, "bad-window", "Malformed window",
        f"window must be a whole number of items, at least 1, got {text[:40]!r}",
        error="InvalidRequestError", service=service,
    )  # fmt: skip


def bad_session_open(service: str, exc: msgspec.DecodeError) -> Refused:
    return _refused(
        422 if isinstance(exc, msgspec.ValidationError) else 400,
        "bad-session-open", "Bad session request",
        f'expected {{"args": [...], "kwargs": {{...}}, "key": "..."}} (each optional): {exc}',
        error="InvalidRequestError", service=service,
    )  # fmt: skip


def bad_throw(service: str, exc: msgspec.DecodeError) -> Refused:
    return _refused(
        422 if isinstance(exc, msgspec.ValidationError) else 400,
        "bad-throw", "Bad throw request",
        f'expected {{"type": "<exception name>", "args": [...]}}: {exc}',
        error="InvalidRequestError", service=service,
    )  # fmt: skip


# -- sessions: limits and sharing ------------------------------------------------


def too_many_sessions(service: str, limit: int) -> Refused:
    return _refused(
        429, "too-many-sessions", "Too many sessions",
        f"the server holds its limit of {limit} sessions; close one or retry later",
        error="ServiceBusyError", service=service,
    )  # fmt: skip


def client_quota(service: str, limit: int) -> Refused:
    return _refused(
        429, "client-quota", "Too many sessions for this client",
        f"you hold {limit} sessions, the most one client may; close one first",
        error="ServiceBusyError", service=service,
    )  # fmt: skip


def shared_args(service: str) -> Refused:
    return _refused(
        422, "shared-args", "Shared service",
        "a shared service is configured by the server; send no arguments",
        error="InvalidRequestError", service=service,
    )  # fmt: skip


def shared_operation(service: str, operation: str, allowed: Collection[str]) -> Refused:
    return _refused(
        403, "shared-operation", "Not allowed on a shared service",
        f"{operation} is not allowed on the shared service {service!r} "
        f"(the operator allows: {sorted(allowed) or 'nothing'})",
        error="InvalidRequestError", service=service,
    )  # fmt: skip


def shared_stream_open(service: str, operation: str) -> Refused:
    return _refused(
        409, "busy", "ServiceBusyError",
        f"cannot {operation}: another client's stream is open on this shared service; "
        "retry when it ends",
        error="ServiceBusyError", service=service,
    )  # fmt: skip


def no_open_stream(service: str, state: str) -> Refused:
    """The next page of a stream that is not open (it ended, or was cancelled)."""
    return _refused(
        409, "no-open-stream", "No open stream",
        "this session has no open stream to read on from (it ended or was cancelled)",
        service=service, state=state,
    )  # fmt: skip


def page_in_flight(service: str, state: str) -> Refused:
    """A page of a stream asked for while the previous page is still being sent."""
    return _refused(
        409, "busy", "ServiceBusyError",
        "the stream's previous page is still being sent; ask for the next one after it",
        error="ServiceBusyError", service=service, state=state,
    )  # fmt: skip


def key_locked(service: str, key: str, **extra: Any) -> Refused:
    """A durable key another session holds (a client rebuilds it as ServiceBusyError)."""
    return _refused(
        409, "key-locked", "Key in use",
        f"key {key!r} is held by another session (on this server or another "
        "one sharing its store); retry once it is closed",
        error="ServiceBusyError", service=service, key=key, **extra,
    )  # fmt: skip


def journal_unusable(service: str, key: str, title: str, why: str, **extra: Any) -> Refused:
    """A durable key whose journal the store cannot read or write."""
    return _refused(
        500, "journal", title, f"the journal of key {key!r} cannot be used: {why}",
        error="ServiceError", service=service, key=key, **extra,
    )  # fmt: skip


# -- replies -----------------------------------------------------------------------


def reply_not_json(service: str, value: object, exc: Exception) -> Refused:
    return _refused(
        500, "reply-not-json", "Reply is not JSON",
        f"the reply ({type(value).__name__}) has no JSON form: {exc}",
        error="ServiceError", service=service,
    )  # fmt: skip


def item_not_json(service: str, exc: Exception) -> Refused:
    return _refused(
        500, "reply-not-json", "Item is not JSON", f"a streamed item has no JSON form: {exc}",
        error="ServiceError", service=service,
    )  # fmt: skip


def client_gone() -> Refused:
    """The client left before its reply (a deadline's caller that gave up): logs only."""
    return _refused(
        499, "client-gone", "Client closed the request",
        "the client went away before the reply; the service's work was cancelled",
    )  # fmt: skip


# -- the server itself ---------------------------------------------------------------


def not_ready() -> Refused:
    return _refused(503, "not-ready", "Not ready", "the server is starting or stopping")


def server_stopping(service: str) -> Refused:
    """A stream still open when the server stops (sent as its error frame)."""
    return _refused(
        503, "server-stopping", "Server stopping",
        "the server is stopping: the stream ended before its end; open a new session later",
        service=service,
    )  # fmt: skip


def internal() -> Refused:
    """The server's own failure (logged with its traceback): never a service's."""
    return _refused(
        500, "internal", "Internal error",
        "the server failed to handle this request (see its log); the session lives on",
    )  # fmt: skip
