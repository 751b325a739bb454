"""Streamed replies: the cursors that step through one, and the stream a caller iterates.

A *cursor* knows how one protocol steps through a streamed reply (the native
protocol pulls a [`Stream`][nanoservices.core.Stream]'s source; the raw protocol
steps the service generator itself until it yields ``None``) and how to end it
early. A [`ReplyStream`][] is what ``LocalHandle.stream`` returns: it pulls
its cursor one item per caller step and gives the service back when it ends,
is cancelled or is dropped. The handle keeps only the cursor, never the stream.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Generator, Iterable, Iterator
from types import GeneratorType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeAlias, TypeVar, cast

from ._errors import short_repr
from ._events import Event, EventKind, Hook, emit, now_ns

__all__ = ["AnyGenerator", "Cursor", "GeneratorReturned", "ReplyStream", "StreamOwner"]

ItemT = TypeVar("ItemT")

if TYPE_CHECKING:
    AnyGenerator: TypeAlias = GeneratorType[Any, Any, Any]
else:
    AnyGenerator = GeneratorType


class GeneratorReturned(Exception):
    """Internal signal: the service generator returned while a stream was open."""

    def __init__(self, value: object) -> None:
        super().__init__(value)
        self.value = value


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
    # ``_loop``: a weak reference to the ``for`` loop's fast path over a source
    # that cannot be closed (see ``ReplyStream.__iter__``), which ``cancel`` closes
    __slots__ = ("_items", "_loop", "_source")

    def __init__(self, source: Iterable[Any]) -> None:
        self._source = source
        self._items = iter(source)
        self._loop: weakref.ref[AnyGenerator] | None = None

    def next_item(self) -> Any:
        return next(self._items)

    def cancel(self) -> bool:
        loop = self._loop() if self._loop is not None else None
        if loop is not None and not loop.gi_running:
            loop.close()  # ends a caller's loop over a list, ``repeat``...: no item more
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


class _Listeners(Protocol):
    @property
    def hooks(self) -> list[Hook]: ...


class StreamOwner(Protocol):
    """What a [`ReplyStream`][] needs from the handle whose service it holds (the
    local handle): which cursor is open, who listens, and where to report how the
    stream ended. The handle decides what each end means for the service."""

    @property
    def name(self) -> str: ...
    @property
    def _stream(self) -> Cursor | None:
        """The open stream's cursor (None: no stream holds the service)."""

    @property
    def _extra(self) -> _Listeners | None:
        """Where the hooks are (None: no hook, the stream reports no item)."""

    def _stream_ended(self, cursor: Cursor) -> None:
        """The source ran out."""

    def _stream_failed(self, cursor: Cursor, request: object, exc: BaseException) -> None:
        """Stepping the source raised ``exc``."""

    def _stream_returned(self, cursor: Cursor, value: object) -> None:
        """A raw service's generator returned mid-stream (``value``)."""

    def _stream_cancelled(self, cursor: Cursor, request: object) -> None:
        """The caller ended the stream early."""


class ReplyStream(Generic[ItemT]):
    """The items of one streamed reply, pulled lazily; holds the service until
    it ends, is cancelled, or is dropped.

    The handle keeps only the stream's cursor, never the stream itself, so a
    stream dropped mid-way (a ``break``) is freed at once and gives the service
    back.
    """

    __slots__ = ("_cursor", "_handle", "request")

    def __init__(self, handle: StreamOwner, cursor: Cursor, request: object) -> None:
        self._handle = handle
        self._cursor = cursor
        self.request = request

    def __iter__(self) -> Iterator[ItemT]:
        """A ``for`` loop over a native stream runs through [`_run_through`][] (no
        handle method per item) when no hook listens; otherwise item by item.

        Ending the stream between items ends the loop: a generator source is
        closed, and the loop with it; any other source (a list, ``repeat``, a
        cursor object) cannot be, so the cursor closes the loop itself."""
        cursor = self._cursor
        if type(cursor) is _NativeCursor:
            extra = self._handle._extra
            if extra is None or not extra.hooks:
                items = cursor._items
                loop = _run_through(self, items)
                if type(items) is not GeneratorType:
                    cursor._loop = weakref.ref(cast(AnyGenerator, loop))
                return loop
        return self

    def __next__(self) -> ItemT:
        handle = self._handle
        cursor = self._cursor
        if handle._stream is not cursor:
            raise StopIteration
        try:
            item: ItemT = cursor.next_item()
        except StopIteration:
            handle._stream_ended(cursor)
            raise
        except GeneratorReturned as returned:
            handle._stream_returned(cursor, returned.value)
            raise StopIteration from None
        except BaseException as exc:
            handle._stream_failed(cursor, self.request, exc)
            raise
        extra = handle._extra
        if extra is not None and extra.hooks:
            emit(extra.hooks, Event(EventKind.ITEM, handle.name, item, time_ns=now_ns()))
        return item

    @property
    def streamed(self) -> bool:
        """False when the service answered with one plain reply (the stream then
        hands out that one item); True for a streamed reply."""
        return type(self._cursor) is not _OneItem

    @property
    def is_open(self) -> bool:
        """True until the stream ends, fails or is cancelled."""
        return self._handle._stream is self._cursor

    def cancel(self) -> None:
        """Stop early: the service goes back to waiting for its next request."""
        self._handle._stream_cancelled(self._cursor, self.request)

    close = cancel
    """The same as `cancel`, under the name generators use."""

    def __enter__(self) -> ReplyStream[ItemT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()

    def __del__(self) -> None:
        if self._handle._stream is self._cursor:  # dropped mid-stream (a ``break``)
            with contextlib.suppress(Exception):
                self.cancel()

    def __repr__(self) -> str:
        state = "open" if self.is_open else "done"
        return f"<ReplyStream of {self._handle.name!r} for {short_repr(self.request)} ({state})>"


def _run_through(
    stream: ReplyStream[ItemT], items: Iterator[ItemT]
) -> Generator[ItemT, None, None]:
    """The stream fast path: the caller's loop resumes this generator, which
    resumes the source; the handle is told only when the stream ends or fails.

    It keeps the item-by-item path's promises: a reset, throw or close between
    items closes the source, so the loop ends (a source that cannot be closed:
    the cursor closes this generator instead, before it pulls another item); leaving the loop early
    (``GeneratorExit`` here) leaves the source alone, so a stream the caller
    still holds goes on with ``next()`` where it was, and one nobody holds is
    cancelled by [`ReplyStream.__del__`][]. Hooks attached after the loop
    started do not see its items (the loop checked when it began).
    """
    try:
        # Not ``yield from``: it would close the source when the loop is left.
        for item in items:  # noqa: UP028
            yield item
    except GeneratorExit:
        raise
    except BaseException as exc:
        stream._handle._stream_failed(stream._cursor, stream.request, exc)
        raise
    stream._handle._stream_ended(stream._cursor)
