"""The one trivial service body every benchmark row hosts: an echo.

Every mechanism (bare generator, handle, thread, task, process, actor) runs this
same generator, so the rows differ only in what it costs to reach it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from itertools import repeat
from typing import Any

from nanoservices.core import ServiceFactory, Stream, service, streamed
from nanoservices.services.hashing import hasher

__all__ = [
    "REQUEST",
    "echo_body",
    "echo_fn",
    "echo_service",
    "echo_str_service",
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


echo_service: ServiceFactory[[], Any, Any] = service(echo_body)
#: The same body with a declared ``str`` request type: the handle validates each request.
echo_str_service: ServiceFactory[[], Any, Any] = service(request_type=str)(echo_body)
streamer_service: ServiceFactory[[], int, Stream[str] | None] = service(_streamer_body)


#: The bundled md5 service (``nanoservices.services.hashing``) with its request type
#: unchecked: the typed memory row's baseline (the same body, the same options).
md5_untyped_service: ServiceFactory[[], Any, Any] = hasher.with_options(name="md5", validate=False)
