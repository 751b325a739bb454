"""Durable services: state that survives a crash, a restart, a move to another process.

A durable handle journals each accepted request (with a digest of its outcome)
in a store before it returns the reply; opening the same key again replays the
journal into a fresh generator. See ``docs/durable.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._entries import Kind as Kind
from ._errors import JournalError as JournalError
from ._errors import JournalTypeError as JournalTypeError
from ._errors import KeyLockedError as KeyLockedError
from ._errors import ReplayMismatchError as ReplayMismatchError
from ._handle import DurableHandle as DurableHandle
from ._handle import DurableStream as DurableStream
from ._handle import durable as durable
from ._journal import DurableStats as DurableStats
from ._journal import Snapshots as Snapshots
from ._open import open_store as open_store
from ._replayable import Replayable as Replayable
from ._sessions import JournalSessions as JournalSessions
from ._sessions import is_sessions_source as is_sessions_source
from ._sessions import sessions_at as sessions_at
from ._sqlite import SQLiteStore as SQLiteStore
from ._store import JournalStore as JournalStore
from ._store import KeyInfo as KeyInfo
from ._store import Mode as Mode

if TYPE_CHECKING:
    from ._async import AsyncDurableHandle as AsyncDurableHandle
    from ._async import adurable as adurable

__all__ = [
    "AsyncDurableHandle",
    "DurableHandle",
    "DurableStats",
    "DurableStream",
    "JournalError",
    "JournalSessions",
    "JournalStore",
    "JournalTypeError",
    "KeyInfo",
    "KeyLockedError",
    "Kind",
    "Mode",
    "ReplayMismatchError",
    "Replayable",
    "SQLiteStore",
    "Snapshots",
    "adurable",
    "durable",
    "is_sessions_source",
    "open_store",
    "sessions_at",
]


def __getattr__(name: str) -> Any:
    # The async twin loads asyncio and the aio package: only when asked for.
    if name in ("AsyncDurableHandle", "adurable"):
        from . import _async

        return getattr(_async, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
