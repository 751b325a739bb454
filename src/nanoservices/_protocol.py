"""How a generator speaks: priming, streamed replies and their end, reset.

Written once and reused by every transport (the local handle, the async handle,
an HTTP session and a Ray actor all drive generators through these adapters).
No I/O, no locks, no handle: only generator steps and their meaning.

Two protocols:

* **native** (the library's own): any object is a request or a reply, ``None``
  included. A streamed reply is a :class:`Stream` marker the service yields in
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
from types import GeneratorType
from typing import TYPE_CHECKING, Any, Final, Generic, TypeAlias, TypeVar

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
    "stream",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

if TYPE_CHECKING:
    AnyGenerator: TypeAlias = GeneratorType[Any, Any, Any]
else:
    AnyGenerator = GeneratorType


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


def stream(source: Iterable[T]) -> Stream[T]:
    """Mark ``source`` as a streamed reply: ``request = yield stream(rows())``."""
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


class GeneratorReturned(Exception):
    """Internal signal: the service generator returned while a stream was open."""

    def __init__(self, value: object) -> None:
        super().__init__(value)
        self.value = value


class Refused(Exception):
    """Internal signal: the service yielded a :class:`Refusal`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Cursor:
    """Steps through one streamed reply; the protocols subclass it."""

    __slots__ = ()

    #: Whether an exception raised while stepping leaves the service generator alive.
    survives_errors: bool = True

    def next_item(self) -> Any:
        """The next item; ``StopIteration`` at the end of the stream."""
        raise StopIteration

    def cancel(self) -> bool:
        """End the stream early. True if the service is back to waiting for a
        request; False if it must be restarted from its factory."""
        return True


class _NativeCursor(Cursor):
    __slots__ = ("_items", "_source")

    def __init__(self, source: Iterable[Any]) -> None:
        self._source = source
        self._items = iter(source)

    def next_item(self) -> Any:
        return next(self._items)

    def cancel(self) -> bool:
        close = getattr(self._items, "close", None)
        if close is not None:
            close()  # runs the streamed generator's finally blocks (cursors, files)
        return True


class _OneItem(Cursor):
    """A plain native reply asked for as a stream: a stream of that one item."""

    __slots__ = ("_done", "_item")

    def __init__(self, item: object) -> None:
        self._item = item
        self._done = False

    def next_item(self) -> Any:
        if self._done:
            raise StopIteration
        self._done = True
        return self._item


class _RawCursor(Cursor):
    __slots__ = ("_gen", "_pending", "_reset_with")

    survives_errors = False  # the items are the service generator's own steps

    def __init__(self, gen: AnyGenerator, first: object, reset_with: type[BaseException] | None):
        self._gen = gen
        # The first item came back from the request's own send; None there means
        # an empty stream, and stepping the generator again would send it None.
        self._pending: list[object] = [first]
        self._reset_with = reset_with

    def next_item(self) -> Any:
        if self._pending:
            item = self._pending.pop()
        else:
            try:
                item = next(self._gen)
            except StopIteration as finished:
                raise GeneratorReturned(finished.value) from None
        if item is None:  # the talk's "ready for the next request"
            raise StopIteration
        return item

    def cancel(self) -> bool:
        if self._reset_with is None or self._gen.gi_frame is None:
            return False
        try:
            ready = self._gen.throw(self._reset_with)
        except Exception:  # it did not handle its own reset: restart it
            return False  # (KeyboardInterrupt, SystemExit... pass through as themselves)
        return ready is None


class Protocol:
    """The native protocol; :class:`RawProtocol` overrides what differs."""

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
