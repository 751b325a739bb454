"""Opening a store by where it lives: an SQLite file path, or a PostgreSQL DSN.

What an operator writes on a command line or in a server's configuration is a
location; this turns it into the store (``postgresql://`` or ``postgres://``
opens a [`PostgresStore`][nanoservices.durable.postgres.PostgresStore], anything else is
an SQLite file).
"""

from __future__ import annotations

import os

from ._sqlite import SQLiteStore
from ._store import JournalStore, Mode

__all__ = ["is_dsn", "open_store"]


def is_dsn(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` names a PostgreSQL database rather than a file."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def open_store(
    location: str | os.PathLike[str],
    mode: Mode = "sync",
    *,
    batch: int = 1000,
    interval: float = 0.05,
) -> JournalStore:
    """The journal store at ``location`` (a DSN, or an SQLite file created if missing)."""
    if is_dsn(location):
        from .postgres import PostgresStore

        return PostgresStore(str(location), mode, batch=batch, interval=interval)
    return SQLiteStore(location, mode, batch=batch, interval=interval)
