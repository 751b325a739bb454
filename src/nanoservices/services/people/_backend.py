"""The one small interface both database backends implement, and picking one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Protocol

from nanoservices import ServiceError

from ._query import SERVICE, Query
from ._schema import Person

__all__ = ["Backend", "DatabaseUnavailableError", "open_backend", "sqlite_path"]


class DatabaseUnavailableError(ServiceError, ConnectionError):
    """The database could not be reached, or the connection broke mid-request.

    The request that saw it failed; the service dropped the connection and the
    next request connects again. Not a bad query: compare
    :class:`nanoservices.InvalidRequestError`.
    """

    def __init__(self, service: str, message: str) -> None:
        super().__init__(service, message)


class Backend(Protocol):
    """A read-only connection to a ``people`` table."""

    def rows(self, query: Query) -> Iterator[Person]:
        """Stream the matching people in constant memory.

        Lazy: nothing runs until the first ``next``. Closing the iterator early
        releases the cursor.
        """
        ...

    def close(self) -> None:
        """Release the connection; idempotent."""
        ...


def sqlite_path(dsn_or_path: str | os.PathLike[str]) -> str | None:
    """The file path if ``dsn_or_path`` names SQLite, else ``None``."""
    if isinstance(dsn_or_path, os.PathLike):
        return os.fspath(dsn_or_path)
    if dsn_or_path.startswith(("postgresql://", "postgres://")):
        return None
    return dsn_or_path.removeprefix("sqlite:///")


def open_backend(dsn_or_path: str | os.PathLike[str]) -> Backend:
    """Connect to ``postgresql://...`` or open an SQLite file (``path`` or ``sqlite:///path``).

    Raises:
        DatabaseUnavailableError: the database cannot be opened or reached.
    """
    path = sqlite_path(dsn_or_path)
    if path is not None:
        from ._sqlite import SQLiteBackend

        return SQLiteBackend(path)
    from ._postgres import PostgresBackend  # psycopg is an optional dependency

    return PostgresBackend(str(dsn_or_path))


def unavailable(message: str) -> DatabaseUnavailableError:
    """A :class:`DatabaseUnavailableError` for the people service."""
    return DatabaseUnavailableError(SERVICE, message)
