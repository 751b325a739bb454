"""Whether the running service is being replayed, as a context value it can read.

Replaying a durable service's journal (stepping through its history) runs the
service's code again, request by request. What the code
computes is rebuilt that way; what it *did* to the world (sent an e-mail,
charged a card, wrote a file) must not be done twice. [`replaying`][] tells the
service which case it is in, so it can skip such effects::

    if not replaying():
        notify(owner, balance)

Time travel sets it around each replayed step with [`during_replay`][];
a context variable, so it holds in the caller's thread for a sync service and in
the caller's task for an async one, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["during_replay", "replaying"]

_REPLAYING: ContextVar[bool] = ContextVar("nanoservices_replaying", default=False)


def replaying() -> bool:
    """Whether the code calling it runs as part of a replay (skip side effects then)."""
    return _REPLAYING.get()


@contextmanager
def during_replay() -> Iterator[None]:
    """Mark the steps run inside as a replay (for the durable layer and time travel)."""
    token = _REPLAYING.set(True)
    try:
        yield
    finally:
        _REPLAYING.reset(token)
