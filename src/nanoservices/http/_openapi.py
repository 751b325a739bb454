"""The OpenAPI description of a server, generated from its services' declared types.

Request and reply schemas come from ``msgspec.json.schema_components`` over
each service's ``Generator[Reply, Request, ...]`` (or ``AsyncGenerator``)
annotation; a type msgspec cannot describe is left open (``{}``).
"""

from __future__ import annotations

import collections.abc
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from nanoservices.core import Stream

if TYPE_CHECKING:
    from ._host import Served

__all__ = ["openapi"]

_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_ERRORS = {
    str(code): {
        "description": why,
        "content": {"application/problem+json": {"schema": _PROBLEM}},
    }
    for code, why in [
        (400, "malformed JSON"),
        (401, "missing or wrong bearer token"),
        (404, "unknown service or session"),
        (409, "busy, or a stream holds the service"),
        (410, "the session was closed or expired"),
        (413, "request too large"),
        (422, "invalid request"),
        (500, "the service failed"),
    ]
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


def _schemas(types: list[object]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    out: list[dict[str, Any]] = []
    components: dict[str, Any] = {}
    for tp in types:
        try:
            (schema,), comps = msgspec.json.schema_components([tp])
        except (TypeError, ValueError):
            schema, comps = {}, {}
        out.append(schema)
        components.update(comps)
    return out, components


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def openapi(services: Mapping[str, Served]) -> dict[str, Any]:
    """The OpenAPI 3.1 document for these services."""
    paths: dict[str, Any] = {}
    components: dict[str, Any] = {
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details, plus what the client rebuilds errors from",
            "properties": {
                k: {} for k in ("type", "title", "status", "detail", "error", "service", "message")
            },
        }
    }
    for name, served in services.items():
        reply_t, item_t = _reply_types(served.spec.fn)
        (request_s, reply_s, item_s), comps = _schemas([served.spec.request_type, reply_t, item_t])
        components.update(comps)
        base = f"/services/{name}/sessions"
        session = base + "/{session}"
        paths[base] = {
            "post": {
                "summary": f"Open a session on {name}" + (" (shared)" if served.shared else ""),
                "requestBody": _json(
                    {"type": "object", "properties": {"args": {"type": "array"}, "kwargs": {}}}
                ),
                "responses": {"201": {"description": "the session", **_json({})}, **_ERRORS},
            }
        }
        paths[session + "/call"] = {
            "post": {
                "summary": f"Call {name}",
                "requestBody": _json(request_s),
                "responses": {"200": {"description": "the reply", **_json(reply_s)}, **_ERRORS},
            }
        }
        paths[session + "/stream"] = {
            "post": {
                "summary": f"Stream a reply of {name} as JSON lines",
                "requestBody": _json(request_s),
                "responses": {
                    "200": {
                        "description": 'lines {"item": x}, then {"end": true} or {"error": ...}',
                        "content": {"application/x-ndjson": {"schema": item_s}},
                    },
                    **_ERRORS,
                },
            },
            "delete": {"summary": "Cancel the open stream", "responses": {"204": {}}},
        }
        paths[session + "/reset"] = {"post": {"summary": "Reset", "responses": {"200": {}}}}
        paths[session + "/throw"] = {"post": {"summary": "Throw an allowed exception"}}
        paths[session] = {
            "get": {"summary": "Session state"},
            "delete": {"summary": "Close the session"},
        }
    for path, what in [("/health", "Liveness"), ("/ready", "Readiness"), ("/stats", "Statistics")]:
        paths[path] = {"get": {"summary": what}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "nanoservices", "version": "1"},
        "paths": paths,
        "components": {"schemas": components},
    }
