"""The one trivial service body every benchmark row hosts: an echo.

Every mechanism (bare generator, handle, thread, task, process, actor) runs this
same generator, so the rows differ only in what it costs to reach it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from itertools import repeat
from typing import Any

import msgspec

from nanoservices.core import ServiceFactory, Stream, service, streamed
from nanoservices.services.hashing import hasher

__all__ = [
    "REQUEST",
    "TYPED_REQUESTS",
    "Point",
    "echo_body",
    "echo_fn",
    "echo_service",
    "md5_untyped_service",
    "primed_send",
    "streamer_service",
]

#: The request every row sends: a small constant string (passes a ``str`` check).
REQUEST = "ping"


def echo_fn(request: Any) -> Any:
    """The plain-function twin of the service body (the cheapest possible call)."""
    return request


def echo_body() -> Generator[Any, Any, None]:
    """Replies with the request itself."""
    reply = None
    while True:
        reply = yield reply


def primed_send() -> Callable[[Any], Any]:
    """A primed bare ``echo_body`` generator's ``send``."""
    gen = echo_body()
    next(gen)
    return gen.send


def _streamer_body() -> Generator[Stream[str] | None, int, None]:
    """Streams ``n`` copies of the request for request ``n`` (per-item stream cost)."""
    count = yield None
    while True:
        count = yield streamed(repeat(REQUEST, count))


class Point(msgspec.Struct):
    """The ``Struct`` request of the typed-call row."""

    x: int
    y: int


#: The typed-call rows: (key, label, declared request type, the request sent).
TYPED_REQUESTS: tuple[tuple[str, str, type, object], ...] = (
    ("validated", "h.call(x), typed str", str, REQUEST),
    ("typed_bytes", "h.call(x), typed bytes", bytes, b"ping"),
    ("typed_int", "h.call(x), typed int", int, 7),
    ("typed_float", "h.call(x), typed float", float, 7.5),
    ("typed_struct", "h.call(x), typed Struct", Point, Point(1, 2)),
)

echo_service: ServiceFactory[[], Any, Any] = service(echo_body)
streamer_service: ServiceFactory[[], int, Stream[str] | None] = service(_streamer_body)


#: The bundled md5 service (``nanoservices.services.hashing``) with its request type
#: unchecked: the typed memory row's baseline (the same body, the same options).
md5_untyped_service: ServiceFactory[[], Any, Any] = hasher.with_options(name="md5", validate=False)
