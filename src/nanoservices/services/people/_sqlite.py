"""The SQLite backend: the embedded default, a read-only connection to one file."""

from __future__ import annotations

import datetime
import os
import pathlib
import sqlite3
from collections.abc import Iterable, Iterator

from ._backend import unavailable
from ._query import SQLITE, Query, build_sql
from ._schema import COLUMNS, TABLE, Person

__all__ = ["SQLiteBackend", "create_table"]

_DDL = f"""
CREATE TABLE {TABLE} (
    id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    birth_date TEXT NOT NULL,  -- ISO 8601, so text order is date order
    city TEXT NOT NULL,
    email TEXT NOT NULL
);
"""
# Built after the rows are in: faster than updating them row by row.
_INDEXES = f"""
CREATE INDEX people_last_name ON {TABLE} (last_name);
CREATE INDEX people_birth_date ON {TABLE} (birth_date);
CREATE INDEX people_city ON {TABLE} (city);
"""


class SQLiteBackend:
    """Queries one SQLite file through a read-only connection.

    Read-only (``mode=ro``) because the service only ever reads: even a
    builder bug could not change the data.
    """

    __slots__ = ("_connection", "path")

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):  # connect() would quietly create an empty file
            raise unavailable(f"no SQLite database file at {self.path!r}")
        uri = pathlib.Path(self.path).resolve().as_uri() + "?mode=ro"
        try:
            # check_same_thread=False: the handle (or its shared twin's lock) already
            # serializes access, and transports may drive it from another thread.
            connection = sqlite3.connect(
                uri, uri=True, isolation_level=None, check_same_thread=False
            )
            # LIKE is case-sensitive on PostgreSQL; make SQLite agree.
            connection.execute("PRAGMA case_sensitive_like = ON")
        except sqlite3.Error as exc:
            raise unavailable(f"cannot open SQLite database {self.path!r}: {exc}") from exc
        self._connection = connection

    def rows(self, query: Query) -> Iterator[Person]:
        """Stream matching people; iterating the cursor keeps memory constant."""
        sql, params = build_sql(query, SQLITE)
        cursor = self._connection.execute(sql, params)
        try:
            from_iso = datetime.date.fromisoformat
            for pid, first_name, last_name, birth_date, city, email in cursor:
                yield Person(pid, first_name, last_name, from_iso(birth_date), city, email)
        finally:
            cursor.close()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self._connection.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The underlying connection (for tests and diagnostics)."""
        return self._connection


def create_table(path: str | os.PathLike[str], people: Iterable[Person]) -> None:
    """Create a new SQLite file at ``path`` holding ``people``.

    Raises:
        FileExistsError: ``path`` exists; the demo never overwrites a database.
    """
    path = os.fspath(path)
    if os.path.exists(path):
        raise FileExistsError(f"{path!r} already exists; choose a new path for the demo database")
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        # A fresh file nobody else sees yet: no journal, no fsync until the end.
        connection.execute("PRAGMA journal_mode = OFF")
        connection.execute("PRAGMA synchronous = OFF")
        connection.executescript(_DDL)
        connection.execute("BEGIN")
        connection.executemany(
            f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            (
                (p.id, p.first_name, p.last_name, p.birth_date.isoformat(), p.city, p.email)
                for p in people
            ),
        )
        connection.execute("COMMIT")
        connection.executescript(_INDEXES + "ANALYZE;")
    except BaseException:
        connection.close()
        os.unlink(path)
        raise
    connection.close()
