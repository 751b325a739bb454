"""Picking the backend a DSN or path names, and opening it."""

from __future__ import annotations

import os

from ._backend import Backend, TableSpec
from ._sqlite import SQLiteBackend

__all__ = ["open_backend", "sqlite_path"]


def sqlite_path(dsn_or_path: str | os.PathLike[str]) -> str | None:
    """The file path if ``dsn_or_path`` names SQLite, else ``None``."""
    if isinstance(dsn_or_path, os.PathLike):
        return os.fspath(dsn_or_path)
    if dsn_or_path.startswith(("postgresql://", "postgres://")):
        return None
    return dsn_or_path.removeprefix("sqlite:///")


def open_backend(dsn_or_path: str | os.PathLike[str], spec: TableSpec) -> Backend:
    """Connect to ``postgresql://...`` or open an SQLite file (``path`` or ``sqlite:///path``),
    and read ``spec``'s table from its catalog.

    Raises:
        DatabaseUnavailableError: the database cannot be opened or reached.
        TableError: no such table or view, or none of its columns is queryable.
    """
    path = sqlite_path(dsn_or_path)
    if path is not None:
        return SQLiteBackend(path, spec)
    from ._postgres import PostgresBackend  # psycopg is an optional dependency

    return PostgresBackend(str(dsn_or_path), spec)
