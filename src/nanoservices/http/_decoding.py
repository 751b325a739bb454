"""Request decoding: the body read within limits, JSON checked, the request converted.

Every request body is read here: bounded in size (413) and in time (408),
JSON only (415), nested at most [`MAX_JSON_DEPTH`][] levels (400 ``too-deep``),
then decoded and, for a service with a declared request type, converted to it
as strictly as the local check. The caller's deadline header is read here too.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from functools import partial
from typing import Any, Final, TypeVar

import msgspec
from starlette.requests import Request

from nanoservices.core import InvalidRequestError, ServiceSpec
from nanoservices.core.seam import deadlines

from . import _problems
from ._problems import MAX_JSON_DEPTH
from ._wire import JSON, MAX_WINDOW, TIMEOUT_HEADER, SessionOpen, ThrowRequest

__all__ = [
    "MAX_JSON_DEPTH",
    "BodyReader",
    "deadline",
    "json_depth_over",
    "request_value",
    "window",
]

#: What ``nanoservices-timeout`` may hold: seconds, a plain decimal number.
_SECONDS: Final = re.compile(r"\d{1,9}(\.\d{1,9})?")
#: What ``?window=`` may hold: a whole number of items (of any length: a larger one
#: than the most a page holds is served as that most).
_COUNT: Final = re.compile(r"[0-9]+")

T = TypeVar("T")

_decode_any = msgspec.json.Decoder().decode
_decode_open = msgspec.json.Decoder(SessionOpen).decode
_decode_throw = msgspec.json.Decoder(ThrowRequest).decode


def _decoded(
    decode: Callable[[bytes], T],
    data: bytes,
    service: str,
    refused: Callable[[msgspec.DecodeError], _problems.Refused],
) -> T:
    """``decode(data)``; a body nested too deep or not decodable is refused (400)."""
    try:
        return decode(data)
    except RecursionError:
        raise _problems.too_deep(service) from None
    except msgspec.DecodeError as exc:
        raise refused(exc) from None


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


class BodyReader:
    """Reads request bodies within the server's limits and decodes them."""

    def __init__(self, max_body: int, body_timeout: float) -> None:
        self.max_body = max_body
        self.body_timeout = body_timeout

    async def body(self, request: Request) -> bytes:
        """The request body: JSON only (415 otherwise), bounded in size and in time."""
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            raise _problems.too_large(self.max_body, int(length))
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > self.max_body:
                        raise _problems.too_large(self.max_body)
                    chunks.append(chunk)
        except TimeoutError:
            raise _problems.body_timeout(self.body_timeout) from None
        data = b"".join(chunks)
        if data:
            media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
            if media != JSON:
                raise _problems.unsupported_media_type(media, JSON)
            if json_depth_over(data, MAX_JSON_DEPTH):
                raise _problems.too_deep()
        return data

    @staticmethod
    def json(data: bytes, service: str) -> Any:
        """The body as JSON builtins (400 when empty or not JSON)."""
        if not data:
            raise _problems.malformed(service, "the body is empty (send JSON)")

        def not_json(exc: msgspec.DecodeError) -> _problems.Refused:
            return _problems.malformed(service, f"the body is not valid JSON: {exc}")

        return _decoded(_decode_any, data, service, not_json)

    @staticmethod
    def session_open(data: bytes, service: str) -> SessionOpen:
        """The body of opening a session (none: no arguments)."""
        if not data:
            return SessionOpen()
        return _decoded(_decode_open, data, service, partial(_problems.bad_session_open, service))

    @staticmethod
    def throw(data: bytes, service: str) -> ThrowRequest:
        """The body of throwing an exception in: its name and arguments."""
        return _decoded(_decode_throw, data, service, partial(_problems.bad_throw, service))


def request_value(spec: ServiceSpec, service: str, value: Any, state: str) -> Any:
    """The decoded request, converted to the service's declared type (e.g. a msgspec
    Struct); refused (422) when it is not one."""
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
        error = InvalidRequestError(service, value, reason)
        raise _problems.service_error(error, state) from None


def deadline(request: Request, service: str) -> float | None:
    """The caller's deadline (``time.monotonic()``) from ``nanoservices-timeout``,
    counted from now (the request's arrival); None without the header."""
    text = request.headers.get(TIMEOUT_HEADER)
    if text is None:
        return None
    if _SECONDS.fullmatch(text.strip()) is None:
        raise _problems.bad_timeout(service, TIMEOUT_HEADER, text)
    return deadlines.deadline_at(float(text))


def window(request: Request, service: str) -> int | None:
    """The items a stream's page may hold, from ``?window=`` (at most [`MAX_WINDOW`][]);
    None without it: the whole stream in one response."""
    text = request.query_params.get("window")
    if text is None:
        return None
    digits = text.lstrip("0")
    if _COUNT.fullmatch(text) is None or not digits:
        raise _problems.bad_window(service, text)
    return MAX_WINDOW if len(digits) > 9 else min(int(digits), MAX_WINDOW)
