"""A streamed reply on the wire: JSON lines, then one end, error or more frame.

```text
{"item": 0}
{"item": 1}
{"end": true, "state": "ready"}     or  {"error": {problem}}  or  {"more": true, ...}
```

A stream is pulled: each response is one page of at most ``window`` items,
and the service produces only those (the items are taken from it one by one,
as the page is sent). A page that ends before the stream does ends with the
``more`` frame; the stream stays open on the session for the next page. A
response without a window is the whole stream (then TCP's flow control is
all that holds the service back).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any, Final

import anyio
import msgspec

from nanoservices.aio import AsyncReplyStream
from nanoservices.core import ServiceError

from . import _problems
from ._failures import failure
from ._sessions import Session
from ._stats import Counters
from ._wire import encode

__all__ = ["frames"]


#: The most lines sent in one write: items that are ready at once go out together
#: (one write instead of one per item), an item that takes time sends those before it.
_BATCH: Final = 256


def _error_frame(doc: dict[str, Any]) -> bytes:
    return encode({"error": doc}) + b"\n"


def _sent(lines: list[bytes]) -> bytes:
    """The lines as one chunk, the list emptied."""
    chunk = b"".join(lines)
    lines.clear()
    return chunk


async def _ready(pending: asyncio.Future[Any]) -> bool:
    """Whether the next item is made without waiting: its task is given one turn
    of the loop (an item of an inline service is made in it; an offloaded one is not)."""
    await asyncio.sleep(0)
    return pending.done()


async def frames(
    session: Session,
    items: AsyncReplyStream[Any],
    counters: Counters,
    stopping: asyncio.Event | None,
    window: int | None = None,
) -> AsyncIterator[bytes]:
    """One page of the stream's JSON lines: at most ``window`` items (None: all),
    then one end, error or more frame.

    Each next item is raced against the server's stopping: a stream open at
    shutdown gets an error frame that says so, not a cut connection.
    """
    stopped = asyncio.ensure_future(stopping.wait()) if stopping is not None else None
    pending: asyncio.Future[Any] | None = None
    left = window
    paused = False  # the page is full and the stream stays open for the next one
    lines: list[bytes] = []  # made, not sent yet: items ready at once go out together
    batching = True  # this page's items have been ready at once so far
    session.sending = True
    try:
        while True:
            if left is not None:
                if left == 0:  # the page is full: the stream stays open for the next
                    paused = True
                    lines.append(encode({"more": True, "state": session.state}) + b"\n")
                    yield _sent(lines)
                    return
                left -= 1
            pending = asyncio.ensure_future(items.__anext__())
            if lines and batching and len(lines) < _BATCH and not await _ready(pending):
                # A source whose item was not ready at once (an offloaded one) is not
                # asked again in this page: each of its items goes out as it comes.
                batching = False
            if lines and (not batching or len(lines) >= _BATCH or not pending.done()):
                yield _sent(lines)  # the next item takes time: the reader gets these now
            if stopped is not None:
                await asyncio.wait((pending, stopped), return_when=asyncio.FIRST_COMPLETED)
                if not pending.done():
                    counters.errors += 1
                    lines.append(_error_frame(_problems.server_stopping(session.service).doc))
                    yield _sent(lines)
                    return
            try:
                item = await pending
            except StopAsyncIteration:
                break
            pending = None
            lines.append(encode({"item": item}) + b"\n")
            counters.items += 1
            session.last_used = time.monotonic()
        pending = None
        lines.append(encode({"end": True, "state": session.state}) + b"\n")
        yield _sent(lines)
    except ServiceError as exc:
        pending = None
        counters.errors += 1
        session.last_failure = exc
        refused = failure(exc, session.id, session.state, traceback=session.tracebacks)
        lines.append(_error_frame(refused.doc))
        yield _sent(lines)
    except (TypeError, ValueError, msgspec.EncodeError, OverflowError) as exc:
        counters.errors += 1
        lines.append(_error_frame(_problems.item_not_json(session.service, exc).doc))
        yield _sent(lines)
    finally:
        session.sending = False
        session.last_used = time.monotonic()
        if stopped is not None:
            stopped.cancel()
        # The client left, an item failed to encode, or the server stops. At
        # shutdown an item still being made is left to finish (close_all closes
        # the service after it); else the item is awaited, then the source closed.
        stopping_now = stopping is not None and stopping.is_set()
        if pending is not None and not pending.done() and not stopping_now:
            with anyio.CancelScope(shield=True):
                await asyncio.wait((pending,))
        if pending is not None and pending.done() and not pending.cancelled():
            pending.exception()  # retrieved: an item nobody reads may have failed
        if not paused and items.is_open and (pending is None or pending.done()):
            with anyio.CancelScope(shield=True), contextlib.suppress(ServiceError):
                await items.aclose()
