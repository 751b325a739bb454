"""Async services for the Ray tests (started on the hosts by import path)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncGenerator
from typing import Any

from nanoservices.aio import aservice


@aservice
async def acrasher() -> AsyncGenerator[Any, Any]:
    """Counts requests and replies ``(count, pid)``; ``"exit"`` ends its whole process
    (``os._exit``, as a crash would); ``"where"`` replies where it runs: whether an
    event loop runs it, and the name of the loop's thread."""
    count = 0
    reply: Any = None
    while True:
        request = yield reply
        if request == "exit":
            os._exit(1)
        if request == "where":
            running = asyncio.get_running_loop().is_running()
            reply = (running, threading.current_thread().name)
            continue
        count += 1
        reply = (count, os.getpid())
