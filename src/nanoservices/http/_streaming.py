"""A streamed reply on the wire: JSON lines, then one end frame or one error frame.

```text
{"item": 0}
{"item": 1}
{"end": true, "state": "ready"}          or   {"error": {problem document}}
```
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

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


def _error_frame(doc: dict[str, Any]) -> bytes:
    return encode({"error": doc}) + b"\n"


async def frames(
    session: Session,
    items: AsyncReplyStream[Any],
    counters: Counters,
    stopping: asyncio.Event | None,
) -> AsyncIterator[bytes]:
    """The stream's JSON lines: items, then one end frame or one error frame.

    Each next item is raced against the server's stopping: a stream open at
    shutdown gets an error frame that says so, not a cut connection.
    """
    stopped = asyncio.ensure_future(stopping.wait()) if stopping is not None else None
    pending: asyncio.Future[Any] | None = None
    try:
        while True:
            pending = asyncio.ensure_future(items.__anext__())
            if stopped is not None:
                await asyncio.wait((pending, stopped), return_when=asyncio.FIRST_COMPLETED)
                if not pending.done():
                    counters.errors += 1
                    yield _error_frame(_problems.server_stopping(session.service).doc)
                    return
            try:
                item = await pending
            except StopAsyncIteration:
                break
            pending = None
            line = encode({"item": item}) + b"\n"
            counters.items += 1
            session.last_used = time.monotonic()
            yield line
        pending = None
        yield encode({"end": True, "state": session.state}) + b"\n"
    except ServiceError as exc:
        pending = None
        counters.errors += 1
        session.last_failure = exc
        refused = failure(exc, session.id, session.state, traceback=session.tracebacks)
        yield _error_frame(refused.doc)
    except (TypeError, ValueError, msgspec.EncodeError, OverflowError) as exc:
        counters.errors += 1
        yield _error_frame(_problems.item_not_json(session.service, exc).doc)
    finally:
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
        if items.is_open and (pending is None or pending.done()):
            with anyio.CancelScope(shield=True), contextlib.suppress(ServiceError):
                await items.aclose()
