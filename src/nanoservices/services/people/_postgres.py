"""The PostgreSQL backend (psycopg 3): server-side cursors, reconnect after a loss.

Rows come through a named (server-side) cursor fetched ``itersize`` at a time,
so a million-row answer costs one batch of memory, not a million rows. The
connection is kept between requests; if it breaks (the server restarted, the
network dropped), the request that noticed fails with
:class:`DatabaseUnavailableError` and the next one connects again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import starmap
from typing import Any, Final

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ._backend import unavailable
from ._query import POSTGRES, Query, build_sql
from ._schema import COLUMNS, TABLE, Person

__all__ = ["PostgresBackend", "create_table"]

#: Rows per round trip: large enough to amortize the trip, small enough to stay flat.
ITERSIZE: Final = 2000

# COLLATE "C": text compares by code point, as in SQLite and Python, whatever
# locale the cluster was created with.
_DDL: Final = f"""
CREATE TABLE {TABLE} (
    id integer PRIMARY KEY,
    first_name text COLLATE "C" NOT NULL,
    last_name text COLLATE "C" NOT NULL,
    birth_date date NOT NULL,
    city text COLLATE "C" NOT NULL,
    email text COLLATE "C" NOT NULL
)
"""
_INDEXES: Final = (
    f"CREATE INDEX people_last_name ON {TABLE} (last_name)",
    f"CREATE INDEX people_birth_date ON {TABLE} (birth_date)",
    f"CREATE INDEX people_city ON {TABLE} (city)",
    f"ANALYZE {TABLE}",
)

_DEFAULTS: Final = {"application_name": "nanoservices-people", "connect_timeout": "10"}


class PostgresBackend:
    """Queries the ``people`` table over one read-only psycopg connection."""

    __slots__ = ("_connection", "_dsn", "itersize")

    def __init__(self, dsn: str, itersize: int = ITERSIZE) -> None:
        self._dsn = dsn
        self.itersize = itersize
        self._connection: psycopg.Connection[Any] | None = None
        self._connection = self._connect()  # fail fast on a wrong DSN

    def _connect(self) -> psycopg.Connection[Any]:
        given = conninfo_to_dict(self._dsn)
        options = {key: value for key, value in _DEFAULTS.items() if key not in given}
        try:
            connection = psycopg.connect(make_conninfo(self._dsn, **options))
        except psycopg.OperationalError as exc:
            # libpq's message names host and port, never the password.
            raise unavailable(f"cannot connect to PostgreSQL: {exc}".rstrip()) from exc
        connection.read_only = True  # the service only reads; a bug could not write
        return connection

    def _live_connection(self) -> psycopg.Connection[Any]:
        connection = self._connection
        if connection is None or connection.closed or connection.broken:
            self._drop()
            connection = self._connection = self._connect()
        return connection

    def rows(self, query: Query) -> Iterator[Person]:
        """Stream matching people through a server-side cursor."""
        sql, params = build_sql(query, POSTGRES)
        connection = self._live_connection()
        cursor = connection.cursor(name="people_rows")
        try:
            cursor.execute(sql, params)
            # fetchmany + starmap: one C-level loop per batch instead of a
            # Python row factory call per row.
            while batch := cursor.fetchmany(self.itersize):
                yield from starmap(Person, batch)
        except psycopg.OperationalError as exc:
            lost = connection.broken or connection.closed
            self._drop()  # whatever broke, the next request starts on a fresh connection
            if lost:
                raise unavailable(
                    f"lost the connection to PostgreSQL ({str(exc).strip()}); "
                    "the next request reconnects"
                ) from exc
            raise
        finally:
            self._finish(connection, cursor)

    def _finish(
        self, connection: psycopg.Connection[Any], cursor: psycopg.ServerCursor[Any]
    ) -> None:
        """Close the cursor and end the read-only transaction, whatever happened."""
        if not (connection.closed or connection.broken):
            try:
                cursor.close()
                connection.rollback()
                return
            except psycopg.Error:
                pass  # an unusable connection: replace it on the next request
        connection.close()
        if self._connection is connection:
            self._connection = None
        cursor.close()  # on a closed connection this only marks the cursor closed

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self._drop()

    @property
    def connection(self) -> psycopg.Connection[Any] | None:
        """The current connection, if any (for tests and diagnostics)."""
        return self._connection


def create_table(dsn: str, people: Iterable[Person]) -> None:
    """Create the ``people`` table in the database at ``dsn`` and COPY ``people`` in.

    Raises:
        psycopg.errors.DuplicateTable: the table exists; the demo never overwrites.
    """
    with psycopg.connect(dsn) as connection:
        connection.execute(_DDL)
        with connection.cursor() as cursor:
            copy_sql = f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN"
            with cursor.copy(copy_sql) as copy:
                for p in people:
                    copy.write_row((p.id, p.first_name, p.last_name, p.birth_date, p.city, p.email))
        for statement in _INDEXES:
            connection.execute(statement)
