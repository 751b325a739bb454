"""How a generator speaks: priming, streamed replies and their end, reset.

Written once and reused by every transport (the local handle, the async handle,
an HTTP session and a Ray actor all drive generators through these adapters).
No I/O, no locks, no handle: only generator steps and their meaning.

Two protocols:

* **native** (the library's own): any object is a request or a reply, ``None``
  included. A streamed reply is a [`Stream`][] marker the service yields in
  place of a plain reply; the stream's items are pulled from its iterable one
  step at a time and its end is the iterable's end. The service generator is
  already waiting for its next request while the stream runs, so ending a
  stream early only closes the iterable: the service keeps its state.
* **raw** (the talk's style, unchanged): ``call(x)`` is ``send(x)``; a streamed
  reply is the items the generator yields until it yields ``None`` ("ready for
  the next request"); a falsy request usually ends the generator. Ending a
  stream early throws the service's own reset exception in (the talk's
  ``DifferentCity``) or, when it has none, restarts it from its factory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final, Generic, TypeVar

from ._stream import (
    AnyGenerator,
    Cursor,
    GeneratorReturned,
    _NativeCursor,
    _OneItem,
    _RawCursor,
)

__all__ = [
    "NATIVE",
    "NO_REPLY",
    "Cursor",
    "GeneratorReturned",
    "Protocol",
    "RawProtocol",
    "Refusal",
    "Stream",
    "prime",
    "refuse",
    "streamed",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Stream(Generic[T_co]):
    """What a native service yields to reply with many items instead of one.

    The handle pulls ``source`` lazily, one item per caller step, and closes it
    if the caller leaves early. Iterating a ``Stream`` directly (for example one
    returned by ``call``) also works, without holding the service.
    """

    __slots__ = ("source",)

    def __init__(self, source: Iterable[T_co]) -> None:
        self.source = source

    def __iter__(self) -> Iterator[T_co]:
        return iter(self.source)

    def __repr__(self) -> str:
        return f"Stream({self.source!r})"


def streamed(source: Iterable[T]) -> Stream[T]:
    """Mark ``source`` as a streamed reply: ``request = yield streamed(rows())``."""
    return Stream(source)


#: What a native service yields before its first request (the priming yield):
#: ``request = yield NO_REPLY``. It is ``None``, typed ``Any`` so that a service
#: declared ``Generator[str, str, None]`` needs no cast for its first yield.
NO_REPLY: Any = None


class Refusal:
    """What a service yields to refuse one request and keep serving.

    The caller gets ``InvalidRequestError`` naming the service, the request and
    ``reason``; the service is already waiting for its next request. A service
    that refuses plain (non-streamed) replies says so with
    ``@service(refuses=True)`` (found by itself when the body names ``refuse``),
    because checking every reply costs time on the hot path.
    """

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Refusal({self.reason!r})"


def refuse(reason: str) -> Any:
    """Refuse the current request: ``request = yield refuse("unknown city 'Xyz'")``.

    Typed ``Any`` so that it fits any declared reply type.
    """
    return Refusal(reason)


class Refused(Exception):
    """Internal signal: the service yielded a [`Refusal`][]."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Protocol:
    """The native protocol; [`RawProtocol`][] overrides what differs."""

    name: str = "native"
    ends_on_falsy: bool = False

    def cursor(self, gen: AnyGenerator, reply: object) -> Cursor:
        """The cursor over a streamed reply whose first generator step gave ``reply``.

        Raises ``Refused`` when the service refused the request instead.
        """
        if type(reply) is Refusal:
            raise Refused(reply.reason)
        if type(reply) is Stream:
            return _NativeCursor(reply.source)
        return _OneItem(reply)

    def __repr__(self) -> str:
        return f"<{self.name} protocol>"


class RawProtocol(Protocol):
    """The talk's style: streams end with a ``None`` yield; reset throws ``reset_with``."""

    name = "raw"
    ends_on_falsy = True

    def __init__(self, reset_with: type[BaseException] | None = None) -> None:
        self.reset_with = reset_with

    def cursor(self, gen: AnyGenerator, reply: object) -> Cursor:
        return _RawCursor(gen, reply, self.reset_with)

    def __repr__(self) -> str:
        reset = self.reset_with.__name__ if self.reset_with else "restart"
        return f"<raw protocol, reset by {reset}>"


NATIVE: Final = Protocol()


def prime(gen: AnyGenerator) -> Any:
    """Run a fresh generator to its first ``yield`` and return what it yielded.

    That first value is the service's greeting (``None`` for most services, the
    menu text for the talk's combined service).
    """
    return next(gen)
