"""The async twin of one protocol step: priming and streamed replies of async generators.

The native protocol's meaning is unchanged (see ``_protocol``): a reply is any
object, a [`Stream`][nanoservices.Stream] marker streams its source item by item,
and the source's end is the stream's end. What differs is only how a step is
taken: ``await agen.asend(x)`` instead of ``gen.send(x)``, and a source may be an
async iterable. Sync cursors from ``_protocol`` are reused as they are (they do
no I/O); async sources get [`AsyncCursor`][]. No locks, no handle.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from typing import Any, TypeVar, cast

from nanoservices.core import Stream
from nanoservices.core.seam import NATIVE, Cursor

__all__ = ["AsyncCursor", "aprime", "astreamed", "async_cursor"]

T = TypeVar("T")


def astreamed(source: AsyncIterable[T]) -> Stream[T]:
    """Mark an async iterable as a streamed reply: ``request = yield astreamed(rows())``."""
    return Stream(cast(Any, source))


class AsyncCursor:
    """Steps through one streamed reply, awaited; wraps a sync cursor or an async source."""

    __slots__ = ("_aitems", "_sync")

    #: Its source is not the service generator: an error in it leaves the service alive.
    survives_errors = True

    def __init__(self, sync: Cursor | None, aitems: AsyncIterator[Any] | None) -> None:
        self._sync = sync
        self._aitems = aitems

    async def next_item(self) -> Any:
        """The next item; ``StopAsyncIteration`` at the end of the stream."""
        if self._aitems is not None:
            return await self._aitems.__anext__()
        assert self._sync is not None
        try:
            return self._sync.next_item()
        except StopIteration:
            raise StopAsyncIteration from None

    @property
    def source(self) -> object:
        """What the items come from (for inspection): an async iterator, or the
        sync cursor's source."""
        if self._aitems is not None:
            return self._aitems
        return getattr(self._sync, "_items", None)

    async def cancel(self) -> None:
        """End the stream early: close its source so its ``finally`` blocks run."""
        if self._aitems is not None:
            aclose = getattr(self._aitems, "aclose", None)
            if aclose is not None:
                await aclose()
        elif self._sync is not None:
            self._sync.cancel()


def async_cursor(reply: object) -> AsyncCursor:
    """The cursor over ``reply`` asked for as a stream (a one-item stream if plain)."""
    if type(reply) is Stream and hasattr(reply.source, "__aiter__"):
        return AsyncCursor(None, aiter(cast(AsyncIterable[Any], reply.source)))
    return AsyncCursor(NATIVE.cursor(cast(Any, None), reply), None)


async def aprime(agen: AsyncGenerator[Any, Any]) -> Any:
    """Run a fresh async generator to its first ``yield`` and return what it yielded."""
    return await agen.__anext__()
