"""A sync facade over async handles: an event loop in a thread runs each step.

The behaviour suite is written against the sync handle interface; async
transports are reached through the facade that ``nanoservices.testing`` ships
for the same purpose, so the very same tests run on them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nanoservices.testing._loop import LoopThread, SyncFacade, SyncStream

__all__ = ["LoopThread", "SyncFacade", "SyncStream", "loop_thread"]


@contextmanager
def loop_thread() -> Iterator[LoopThread]:
    """An event loop in a thread for the length of the ``with`` block."""
    runner = LoopThread()
    try:
        yield runner
    finally:
        runner.stop()
