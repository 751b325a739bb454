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
from ._memory import MemoryStore as MemoryStore
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
    from ._history import Change as Change
    from ._history import Divergence as Divergence
    from ._history import History as History
    from ._history import Moment as Moment
    from ._history import Step as Step
    from ._history import history as history

__all__ = [
    "AsyncDurableHandle",
    "Change",
    "Divergence",
    "DurableHandle",
    "DurableStats",
    "DurableStream",
    "History",
    "JournalError",
    "JournalSessions",
    "JournalStore",
    "JournalTypeError",
    "KeyInfo",
    "KeyLockedError",
    "Kind",
    "MemoryStore",
    "Mode",
    "Moment",
    "ReplayMismatchError",
    "Replayable",
    "SQLiteStore",
    "Snapshots",
    "Step",
    "adurable",
    "durable",
    "history",
    "is_sessions_source",
    "open_store",
    "sessions_at",
]


def __getattr__(name: str) -> Any:
    # The async twin loads asyncio and the aio package, time travel loads observe
    # and asyncio: only when asked for.
    if name in ("AsyncDurableHandle", "adurable"):
        from . import _async

        return getattr(_async, name)
    if name in ("Change", "Divergence", "History", "Moment", "Step", "history"):
        from . import _history

        return getattr(_history, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
