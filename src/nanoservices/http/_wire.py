"""The wire format shared by the HTTP server and both remote handles (no I/O).

Requests and replies are JSON (msgspec), never pickle. Errors are RFC 9457
problem documents carrying ``{error, service, message}`` plus the context the
error class needs; the client rebuilds them from an allow-list of nanoservices
error classes, so nothing the server sends can name an arbitrary class.
Streamed replies are JSON lines: ``{"item": x}`` per item, then exactly one
``{"end": true, "state": ...}`` or ``{"error": {problem}}``; a client pulls a
stream in pages of a ``window`` of items, and a page that ends before the
stream does ends with ``{"more": true, "state": "streaming"}``.
"""

from __future__ import annotations

from traceback import format_exception
from typing import Any, Final

import msgspec

from nanoservices.core import (
    DeadlineExceeded,
    InvalidRequestError,
    ProtocolViolationError,
    ReentryError,
    RemoteCause,
    RestartLimitError,
    ServiceBusyError,
    ServiceClosedError,
    ServiceError,
    ServiceFailedError,
    ServiceStartError,
    StreamReplyError,
    TransportError,
    Where,
)
from nanoservices.core.seam import (
    UnreadRequest,
    exception_text,
    masked_repr,
    redacted,
    short_repr,
)

__all__ = [
    "CLIENT_HEADER",
    "FIRST_WINDOW",
    "JSON",
    "MAX_WINDOW",
    "NDJSON",
    "PROBLEM_JSON",
    "STATE_HEADER",
    "TIMEOUT_HEADER",
    "SessionOpen",
    "ThrowRequest",
    "encode",
    "error_from_problem",
    "problem",
    "problem_for",
    "status_for",
]

JSON: Final = "application/json"
PROBLEM_JSON: Final = "application/problem+json"
NDJSON: Final = "application/x-ndjson"
CLIENT_HEADER: Final = "nanoservices-client"
STATE_HEADER: Final = "nanoservices-state"
#: The caller's deadline, as the seconds left when the request was sent (a
#: decimal number, like gRPC's ``grpc-timeout``: relative, so no clock is shared).
TIMEOUT_HEADER: Final = "nanoservices-timeout"
_TYPE_BASE: Final = "urn:nanoservices:problem:"
#: The most of a server's traceback a problem document carries (its end: the raise).
_MAX_TRACEBACK: Final = 20_000
#: Longest request (JSON bytes) a problem document repeats; past it, a bounded text.
_MAX_REQUEST: Final = 1_000
#: The states a failure may leave its service in (a failure's ``left_state``).
_LEFT_STATES: Final = ("failed", "ready")

#: Items a client asks for with a stream's opening (low latency, little read-ahead);
#: each next page asks for twice the last, up to [`MAX_WINDOW`][].
FIRST_WINDOW: Final = 8
#: The most items one page of a stream holds: what the server may produce beyond
#: what the client's code has read (a larger ``window`` is served as this one).
MAX_WINDOW: Final = 1024

JSONScalar = str | int | float | bool | None

_encode_json = msgspec.json.Encoder().encode

#: Characters that JSON leaves unescaped but line readers (``str.splitlines``,
#: httpx's ``iter_lines``) take for line breaks: escaped, so that one frame
#: stays one line. In UTF-8 these bytes only ever stand inside JSON strings.
_LINE_BREAKS: Final = ((b"\xc2\x85", b"\\u0085"), (b"\xe2\x80\xa8", b"\\u2028"),
                       (b"\xe2\x80\xa9", b"\\u2029"))  # fmt: skip


def encode(value: object) -> bytes:
    """``value`` as JSON on one line, whatever its strings hold (raises when it has
    no JSON form: ``TypeError``, ``ValueError``, ``msgspec.EncodeError``, ``OverflowError``)."""
    data = _encode_json(value)
    if b"\xc2\x85" in data or b"\xe2\x80" in data:
        for raw, escaped in _LINE_BREAKS:
            data = data.replace(raw, escaped)
    return data


class SessionOpen(msgspec.Struct, forbid_unknown_fields=True):
    """Body of ``POST /services/{name}/sessions``: the factory's arguments, as JSON."""

    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    key: str | None = None  # a durable service's sessions: the name of the state to open


class ThrowRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Body of ``POST /sessions/{id}/throw``: an allowed exception, by name."""

    type: str
    args: list[JSONScalar] = []


# (status, problem kind) per error class; the most specific class wins.
_STATUS: Final[list[tuple[type[ServiceError], int, str]]] = [
    (DeadlineExceeded, 504, "deadline-exceeded"),
    (InvalidRequestError, 422, "invalid-request"),
    (StreamReplyError, 409, "stream-reply"),
    (ServiceBusyError, 409, "busy"),
    (ServiceClosedError, 410, "closed"),
    (ServiceFailedError, 500, "service-failed"),
    (ProtocolViolationError, 500, "protocol-violation"),
    (TransportError, 502, "transport"),
    (ServiceError, 500, "service-error"),
]

#: The only classes a client rebuilds; anything else becomes a TransportError.
ALLOWED: Final[dict[str, type[ServiceError]]] = {
    cls.__name__: cls
    for cls in (
        ServiceError,
        ServiceClosedError,
        ServiceFailedError,
        RestartLimitError,
        DeadlineExceeded,
        ServiceStartError,
        ServiceBusyError,
        ReentryError,
        InvalidRequestError,
        StreamReplyError,
        ProtocolViolationError,
        TransportError,
    )
}


def status_for(exc: ServiceError) -> tuple[int, str]:
    """The HTTP status and problem kind for a service error."""
    for cls, status, kind in _STATUS:
        if isinstance(exc, cls):
            return status, kind
    return 500, "service-error"  # pragma: no cover (ServiceError is last)


def jsonable(value: object) -> Any:
    """``value`` as JSON builtins, or its bounded repr when it has no JSON form (an
    int past 4,300 digits has builtins but no JSON text: it is shortened too)."""
    try:
        built = msgspec.to_builtins(value)
        _encode_json(built)
        return built
    except (TypeError, ValueError, msgspec.EncodeError, OverflowError):
        return short_repr(value)


def problem(
    status: int,
    kind: str,
    title: str,
    detail: str,
    *,
    error: str,
    service: str | None,
    message: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A problem document (RFC 9457) with the members the client rebuilds errors from."""
    doc: dict[str, Any] = {
        "type": _TYPE_BASE + kind,
        "title": title,
        "status": status,
        "detail": detail,
        "error": error,
        "service": service,
        "message": detail if message is None else message,
    }
    doc.update(extra)
    return doc


def problem_for(
    exc: ServiceError, state: str | None = None, *, traceback: bool = False
) -> dict[str, Any]:
    """The problem document for an error a handle raised.

    A failure carries its location (``where``: the file relative to the service's
    folder, the function, the line, the chain of functions), never a value or an
    absolute path. ``traceback`` (the operator's choice, for development) adds
    the server's traceback of the original exception, absolute paths included.
    The request it repeats (in ``request``, ``detail`` and ``message``) is redacted
    by the rule of the server's log, and shortened when long.
    """
    status, kind = status_for(exc)
    detail = _told(exc)
    prefix = f"service {exc.service!r}: "
    message = detail[len(prefix) :] if detail.startswith(prefix) else detail
    extra: dict[str, Any] = {}
    if isinstance(exc, ServiceFailedError | InvalidRequestError | StreamReplyError):
        extra["request"] = _request_member(exc.request)
    if isinstance(exc, DeadlineExceeded):
        extra["request"] = _request_member(exc.request)
        extra["timeout"] = exc.timeout
    if isinstance(exc, ServiceFailedError):
        state = exc.left_state or state  # what the failure left, recorded as it was raised
        extra["restarted"] = exc.restarted
        cause = exc.__cause__
        if cause is not None:
            extra["cause"] = getattr(cause, "type_name", None) or type(cause).__qualname__
            extra["cause_message"] = _text_of(cause)[:1000]
            if traceback:
                extra["traceback"] = _traceback_of(cause)
        if exc.where is not None:
            extra["where"] = exc.where.portable().to_wire()
    if isinstance(exc, InvalidRequestError):
        extra["reason"] = exc.reason
        message = exc.reason
    if isinstance(exc, RestartLimitError):
        extra["restarts"] = exc.restarts
        extra["last_error"] = exc.last_error
    if state is not None:
        extra["state"] = state
    return problem(
        status,
        kind,
        type(exc).__name__,
        detail,
        error=type(exc).__name__,
        service=exc.service,
        message=message,
        **extra,
    )


def _told(exc: ServiceError) -> str:
    """``str(exc)`` with its request redacted as the server's log shows it."""
    text = str(exc)
    request = getattr(exc, "request", None)
    shown = redacted(request)
    if shown is request:
        return text
    return text.replace(short_repr(request), short_repr(shown))


def _request_member(request: object) -> Any:
    """The request sent back: redacted, and as the log's bounded text when its JSON
    form is long (a client must not get a large body echoed, nor a secret)."""
    shown = jsonable(redacted(request, plain=True))
    if isinstance(shown, str) and len(shown) <= _MAX_REQUEST:
        return shown
    if isinstance(shown, str) or len(_encode_json(shown)) > _MAX_REQUEST:
        return masked_repr(request)
    return shown


def _text_of(cause: BaseException) -> str:
    text = getattr(cause, "text", None)  # a RemoteCause: the original's text
    if isinstance(text, str):
        return text
    _, _, text = exception_text(cause).partition(": ")
    return text


def _traceback_of(cause: BaseException) -> str:
    return "".join(format_exception(cause))[-_MAX_TRACEBACK:]


def _located(failed: ServiceFailedError, doc: dict[str, Any]) -> ServiceFailedError:
    """``failed`` with what the document says of where it happened (a location, a
    cause, the server's traceback when its operator sends them) and the state it
    left the service in."""
    if doc.get("cause"):
        cause = RemoteCause(str(doc["cause"]), str(doc.get("cause_message") or ""))
        server_traceback = doc.get("traceback")
        if isinstance(server_traceback, str):
            cause.add_note(f"(the server's traceback):\n{server_traceback[-_MAX_TRACEBACK:]}")
        failed.__cause__ = cause
    if doc.get("state") in _LEFT_STATES:
        failed.left_state = doc["state"]
    where = Where.from_wire(doc.get("where"))
    if where is not None:
        failed.where = where
        failed.add_note(f"the service failed in {where}")
    return failed


def error_from_problem(doc: Any, service: str, status: int = 0) -> ServiceError:
    """Rebuild the error a problem document describes (allow-listed classes only)."""
    if not isinstance(doc, dict):
        return TransportError(service, f"the server answered {status} with no problem document")
    name = str(doc.get("service") or service)
    message = str(doc.get("message") or doc.get("detail") or doc.get("title") or status)
    cls = ALLOWED.get(str(doc.get("error")), TransportError)
    request = doc.get("request")
    if cls is RestartLimitError:
        limit = RestartLimitError(
            name,
            request,
            int(doc.get("restarts") or 0),
            str(doc.get("last_error") or ""),
            message,
        )
        return _located(limit, doc)
    if issubclass(cls, ServiceFailedError):
        return _located(cls(name, request, message, bool(doc.get("restarted"))), doc)
    if issubclass(cls, InvalidRequestError):
        if "request" not in doc:  # refused before it was read (too large): not None
            size = doc.get("request_bytes")
            request = UnreadRequest(size if type(size) is int else None)
        return cls(name, request, str(doc.get("reason") or message))
    if issubclass(cls, StreamReplyError):
        return cls(name, request, message)
    if issubclass(cls, DeadlineExceeded):
        timeout = doc.get("timeout")
        seconds = float(timeout) if isinstance(timeout, int | float) else None
        return cls(name, request, seconds, message)
    return cls(name, message)
