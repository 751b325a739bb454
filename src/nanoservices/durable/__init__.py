"""Durable services: state that survives a crash, a restart, a move to another process.

A durable handle journals each accepted request (with a digest of its outcome)
in a store before it returns the reply; opening the same key again replays the
journal into a fresh generator. See ``docs/durable.md``.
"""

from __future__ import annotations

from ._entries import Kind as Kind
from ._errors import JournalError as JournalError
from ._errors import JournalTypeError as JournalTypeError
from ._errors import KeyLockedError as KeyLockedError
from ._errors import ReplayMismatchError as ReplayMismatchError
from ._handle import DurableHandle as DurableHandle
from ._handle import DurableStats as DurableStats
from ._handle import DurableStream as DurableStream
from ._handle import Snapshots as Snapshots
from ._handle import durable as durable
from ._open import open_store as open_store
from ._replayable import Replayable as Replayable
from ._sqlite import SQLiteStore as SQLiteStore
from ._store import JournalStore as JournalStore
from ._store import KeyInfo as KeyInfo
from ._store import Mode as Mode

__all__ = [
    "DurableHandle",
    "DurableStats",
    "DurableStream",
    "JournalError",
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
    "durable",
    "open_store",
]
