"""The OpenAPI description of a server, generated from its services' declared types.

Request and reply schemas come from ``msgspec.json.schema_components`` over
each service's ``Generator[Reply, Request, ...]`` (or ``AsyncGenerator``)
annotation (a union msgspec cannot take as one type, like ``str | bytes``, is
each member's schema, any of them); a type msgspec cannot describe is left
open (``{}``).
"""

from __future__ import annotations

import collections.abc
import types
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import msgspec

from nanoservices.core import Stream

from ._wire import MAX_WINDOW

if TYPE_CHECKING:
    from ._host import Served

__all__ = ["openapi"]

_REF = "#/components/schemas/{name}"
_PROBLEM = {"$ref": "#/components/schemas/Problem"}

#: Every error status the server answers, and why (each operation lists those it can).
_WHY: Final = {
    400: "malformed JSON, nested too deeply, a malformed nanoservices-timeout header or window",
    401: "missing or wrong bearer token",
    403: "not allowed on a shared service",
    404: "unknown service or session",
    408: "the request body was too slow",
    409: "busy: a stream holds the service (or another client's, on a shared one); "
    "no open stream to page on",
    410: "the session was closed or expired",
    413: "request too large",
    415: "the body is not application/json",
    422: "invalid request, factory options or exception to throw",
    429: "too many sessions (in all, or for this client)",
    500: "the service failed, or its reply has no JSON form",
    502: "a remote dependency failed",
    503: "the server is starting or stopping",
    504: "the caller's deadline (nanoservices-timeout) passed: the work was cancelled",
}
_ANY_SESSION: Final = (401, 404, 410, 500, 503)
_WITH_BODY: Final = (400, 408, 413, 415, 422)

_SESSION_PARAM: Final = {
    "name": "session",
    "in": "path",
    "required": True,
    "description": "the session id returned when the session was opened",
    "schema": {"type": "string"},
}


_TIMEOUT_PARAM: Final = {
    "name": "nanoservices-timeout",
    "in": "header",
    "required": False,
    "description": "the caller's deadline: seconds left, a decimal number (like 2.5); "
    "past it the service's work is cancelled and the answer is a 504",
    "schema": {"type": "string", "pattern": "^[0-9]{1,9}([.][0-9]{1,9})?$"},
}


_WINDOW_PARAM: Final = {
    "name": "window",
    "in": "query",
    "required": False,
    "description": "the most items this page holds (at most "
    f"{MAX_WINDOW}); the service makes only these. Without it: the whole stream",
    "schema": {"type": "integer", "minimum": 1},
}
_PAGE: Final = {
    "description": 'lines {"item": x}, then {"end": true}, {"error": ...}, or, when the '
    'page is full and the stream goes on, {"more": true}',
}


def _errors(*codes: int) -> dict[str, Any]:
    return {
        str(code): {
            "description": _WHY[code],
            "content": {"application/problem+json": {"schema": _PROBLEM}},
        }
        for code in sorted(set(codes))
    }


def _problem_schema() -> dict[str, Any]:
    text = {"type": "string"}
    maybe_text = {"type": ["string", "null"]}
    return {
        "type": "object",
        "description": "RFC 9457 problem details, plus what the client rebuilds errors from",
        "required": ["type", "title", "status", "detail", "error", "message"],
        "properties": {
            "type": text,
            "title": text,
            "status": {"type": "integer"},
            "detail": text,
            "error": text,
            "service": maybe_text,
            "message": text,
            "state": text,
            "where": {
                "type": "object",
                "description": "where a failed service raised: the file relative to the "
                "service's folder (empty when outside it: then the module), the function, "
                "the line, and the chain of functions from the service to it",
                "properties": {
                    "function": text,
                    "file": text,
                    "module": text,
                    "line": {"type": "integer"},
                    "chain": {"type": "array", "items": text},
                },
            },
            "traceback": {
                "type": "string",
                "description": "the server's traceback of a failure, only when its operator "
                "sends them (serve --tracebacks)",
            },
            "request_bytes": {
                "type": "integer",
                "description": "the size of a request refused as too large",
            },
        },
    }


_STATE: Final = {"type": "string", "enum": ["ready", "busy", "streaming", "failed", "closed"]}
_SESSION_DOC: Final = {
    "type": "object",
    "required": ["session", "service", "shared", "state"],
    "properties": {
        "session": {"type": "string"},
        "service": {"type": "string"},
        "shared": {"type": "boolean"},
        "state": _STATE,
        "greeting": {},
    },
}
_STATE_DOC: Final = {
    "type": "object",
    "required": ["state"],
    "properties": {"state": _STATE, "service": {"type": "string"}, "greeting": {}},
}
_OPEN_BODY: Final = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"args": {"type": "array"}, "kwargs": {"type": "object"}},
}
_THROW_BODY: Final[dict[str, Any]] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type"],
    "properties": {
        "type": {"type": "string"},
        "args": {"type": "array", "items": {"type": ["string", "number", "boolean", "null"]}},
    },
}


def _reply_types(fn: Any) -> tuple[object, object]:
    """(reply type, streamed item type) from the function's annotation."""
    try:
        ret = typing.get_type_hints(fn).get("return")
    except Exception:
        return Any, Any
    if typing.get_origin(ret) not in (collections.abc.Generator, collections.abc.AsyncGenerator):
        return Any, Any
    reply = typing.get_args(ret)[0]
    items: list[object] = []
    plain: list[object] = []
    for part in typing.get_args(reply) or (reply,):
        if typing.get_origin(part) is Stream:
            items.append(typing.get_args(part)[0])
        else:
            plain.append(part)
    item: object = items[0] if len(items) == 1 else Any
    replied: object = Any
    if len(plain) == 1:
        replied = plain[0]
    elif plain:
        replied = typing.Union[tuple(plain)]  # noqa: UP007  # built from a runtime list
    return replied, item


def _schema(tp: object) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON schema of ``tp`` and the components it refers to; a union msgspec
    will not decode as one type (``str | bytes``) is each member's schema, any of
    them; a type msgspec cannot describe at all is left open (``{}``)."""
    try:
        (schema,), comps = msgspec.json.schema_components([tp], ref_template=_REF)
    except Exception:  # a type msgspec cannot describe (or its hints do not resolve)
        members = typing.get_args(tp) if _is_union(tp) else ()
        if not members:
            return {}, {}
        parts: list[dict[str, Any]] = []
        comps = {}
        for member in members:
            part, more = _schema(member)
            if not part:
                return {}, {}
            parts.append(part)
            comps.update(more)
        return {"anyOf": parts}, comps
    return schema, comps


def _is_union(tp: object) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _schemas(types: list[object]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    out: list[dict[str, Any]] = []
    components: dict[str, Any] = {}
    for tp in types:
        schema, comps = _schema(tp)
        out.append(schema)
        components.update(comps)
    return out, components


def _json(schema: dict[str, Any], required: bool | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"content": {"application/json": {"schema": schema}}}
    if required is not None:
        doc["required"] = required
    return doc


def _ok(status: int, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description}
    if schema is not None:
        answer.update(_json(schema))
    return {str(status): answer}


def _throw_body(served: Served) -> dict[str, Any]:
    """A throw names one of the exception classes the operator allows for this service."""
    body = {**_THROW_BODY, "properties": dict(_THROW_BODY["properties"])}
    body["properties"]["type"] = {"type": "string", "enum": [c.__name__ for c in served.throwable]}
    return body


def _open_body(served: Served, components: dict[str, Any]) -> dict[str, Any]:
    """What a client may send to open a session: the options the operator declared
    (and, for a durable service, the key that names the session's state)."""
    body = _open_options(served, components)
    if served.durable is not None:
        body["properties"] = {**body["properties"], "key": _KEY}
        body["required"] = ["key"]
    return body


#: A durable session's key (see ``nanoservices.http._keyed.KEY_PATTERN``).
_KEY: Final = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"}


def _open_options(served: Served, components: dict[str, Any]) -> dict[str, Any]:
    if served.client_args:
        return dict(_OPEN_BODY)
    names = [] if served.shared else list(served.options)
    schemas, comps = _schemas([served.options[n] for n in names])
    components.update(comps)
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "args": {"type": "array", "maxItems": 0},
            "kwargs": {
                "type": "object",
                "additionalProperties": False,
                "properties": dict(zip(names, schemas, strict=True)),
            },
        },
    }


def openapi(
    services: Mapping[str, Served], auth: bool = False, metrics: bool = False
) -> dict[str, Any]:
    """The OpenAPI 3.1 document for these services (every status each route answers);
    ``metrics``: the server serves ``/metrics`` (Prometheus text)."""
    paths: dict[str, Any] = {}
    components: dict[str, Any] = {"Problem": _problem_schema()}
    for name, served in services.items():
        reply_t, item_t = _reply_types(served.spec.fn)
        (request_s, reply_s, item_s), comps = _schemas([served.spec.request_type, reply_t, item_t])
        components.update(comps)
        base = f"/services/{name}/sessions"
        session = base + "/{session}"
        shared = " (shared)" if served.shared else ""
        paths[base] = {
            "post": {
                "summary": f"Open a session on {name}{shared}",
                "requestBody": _json(_open_body(served, components), required=False),
                "responses": {
                    **_ok(201, "the session", _SESSION_DOC),
                    **_errors(*_WITH_BODY, 401, 404, 429, 500, 503),
                },
            }
        }
        paths[session] = {
            "parameters": [_SESSION_PARAM],
            "get": {
                "summary": "The service's state now",
                "responses": {**_ok(200, "the state", _STATE_DOC), **_errors(*_ANY_SESSION)},
            },
            "delete": {
                "summary": "Close the session (the service's finally blocks run); twice is fine",
                "responses": {**_ok(204, "closed"), **_errors(*_ANY_SESSION)},
            },
        }
        paths[session + "/call"] = {
            "parameters": [_SESSION_PARAM],
            "post": {
                "summary": f"Call {name}",
                "parameters": [_TIMEOUT_PARAM],
                "requestBody": _json(request_s, required=True),
                "responses": {
                    **_ok(200, "the reply", reply_s),
                    **_errors(*_ANY_SESSION, *_WITH_BODY, 409, 502, 504),
                },
            },
        }
        paths[session + "/stream"] = {
            "parameters": [_SESSION_PARAM],
            "post": {
                "summary": f"Stream a reply of {name} as JSON lines (its first page)",
                "parameters": [_TIMEOUT_PARAM, _WINDOW_PARAM],
                "requestBody": _json(request_s, required=True),
                "responses": {
                    "200": {**_PAGE, "content": {"application/x-ndjson": {"schema": item_s}}},
                    **_errors(*_ANY_SESSION, *_WITH_BODY, 409, 502, 504),
                },
            },
            "delete": {
                "summary": "Cancel the open stream",
                "responses": {**_ok(204, "cancelled"), **_errors(*_ANY_SESSION, 409)},
            },
        }
        paths[session + "/stream/next"] = {
            "parameters": [_SESSION_PARAM],
            "post": {
                "summary": "The open stream's next page",
                "parameters": [_WINDOW_PARAM],
                "responses": {
                    "200": {**_PAGE, "content": {"application/x-ndjson": {"schema": item_s}}},
                    **_errors(*_ANY_SESSION, 400, 409, 502, 504),
                },
            },
        }
        for op, what in [("reset", "Reset: end an open stream, or recover a failed service"),
                         ("restart", "Restart: a fresh instance (its state is lost)")]:  # fmt: skip
            paths[session + "/" + op] = {
                "parameters": [_SESSION_PARAM],
                "post": {
                    "summary": what,
                    "responses": {
                        **_ok(200, "the state", _STATE_DOC),
                        **_errors(*_ANY_SESSION, 403, 409),
                    },
                },
            }
        paths[session + "/throw"] = {
            "parameters": [_SESSION_PARAM],
            "post": {
                "summary": "Throw an allowed exception into the service",
                "requestBody": _json(_throw_body(served), required=True),
                "responses": {
                    **_ok(200, "the service's reply", {}),
                    **_errors(*_ANY_SESSION, *_WITH_BODY, 403, 409),
                },
            },
        }
    plain = {"type": "object"}
    for path, what, codes in [
        ("/health", "Liveness", ()),
        ("/ready", "Readiness", (503,)),
        ("/stats", "Statistics", (401,)),
        ("/services", "The services served", (401,)),
        ("/openapi.json", "This document", ()),
    ]:
        schema = {"type": "array"} if path == "/services" else plain
        paths[path] = {
            "get": {"summary": what, "responses": {**_ok(200, what, schema), **_errors(*codes)}}
        }
    if metrics:
        exposition = {"text/plain": {"schema": {"type": "string"}}}
        paths["/metrics"] = {
            "get": {
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {"description": "Prometheus metrics", "content": exposition},
                    **_errors(401),
                },
            }
        }
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "nanoservices", "version": "1"},
        "paths": paths,
        "components": {"schemas": components},
    }
    if auth:
        doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        doc["security"] = [{"bearer": []}]
        for path in ("/health", "/ready", "/openapi.json"):
            paths[path]["get"]["security"] = []
    return doc
