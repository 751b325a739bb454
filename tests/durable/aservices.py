"""An async durable counter for the async durable tests (the twin of ``services.counter``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from nanoservices import Stream
from nanoservices.aio import aservice

from .services import Add, Boom, Count, Get, Request, SetState


@aservice
async def acounter() -> AsyncGenerator[Any, Request]:
    """(count, total), as ``services.counter``: calls, streams, throws, failures."""
    count = total = 0
    reply: Any = None
    while True:
        try:
            request = yield reply
        except Boom:
            total = -total
            reply = total
            continue
        if isinstance(request, Add):
            if request.n < 0:
                raise ValueError("negative")
            count += 1
            total += request.n
            reply = total
        elif isinstance(request, Count):

            async def items(upto: int) -> AsyncIterator[int]:
                nonlocal total
                for i in range(1, upto + 1):
                    total += i
                    yield i

            reply = Stream(items(request.upto))
        elif isinstance(request, Get):
            reply = [count, total]
        elif isinstance(request, SetState):
            count, total = request.count, request.total
            reply = None
