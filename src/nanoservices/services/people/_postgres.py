"""The PostgreSQL backend (psycopg 3): catalog at start, server-side cursors, reconnects.

The table's columns, types and primary key come from PostgreSQL's catalog
(``pg_class``, ``pg_attribute``, ``pg_index``), queried with bound parameters;
names go into SQL quoted by psycopg's [`psycopg.sql.Identifier`][]. Rows
come through a named (server-side) cursor fetched ``itersize`` at a time, so a
million-row answer costs one batch of memory, not a million rows. The
connection is kept between requests; if it breaks (the server restarted, the
network dropped), the request that noticed fails with
[`DatabaseUnavailableError`][] and the next one connects again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import starmap
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ._backend import PEOPLE_SPEC, DatabaseUnavailableError, TableSpec, check_query
from ._query import POSTGRES, Query, build_sql, parse_query
from ._schema import COLUMNS, TABLE, Person
from ._table import Column, Kind, Table, TableError, make_table

__all__ = ["PostgresBackend", "create_table", "postgres_kind", "read_table"]

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

_KINDS: Final = {
    "text": Kind.TEXT,
    "varchar": Kind.TEXT,
    "bpchar": Kind.TEXT,
    "name": Kind.TEXT,
    "int2": Kind.INTEGER,
    "int4": Kind.INTEGER,
    "int8": Kind.INTEGER,
    "float4": Kind.REAL,
    "float8": Kind.REAL,
    "date": Kind.DATE,
    "bool": Kind.BOOLEAN,
}

# Tables, views, materialized views, partitioned and foreign tables; visible on
# the search_path unless a schema is named.
_FIND: Final = """
SELECT c.oid::int8, n.nspname, c.relname
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = %(name)s AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
  AND (CASE WHEN %(schema)s::text IS NULL THEN pg_catalog.pg_table_is_visible(c.oid)
            ELSE n.nspname = %(schema)s::text END)
"""
# Domains count as their base type.
_COLUMNS: Final = """
SELECT a.attname, COALESCE(base.typname, t.typname),
       pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_type base ON t.typtype = 'd' AND base.oid = t.typbasetype
WHERE a.attrelid = %s::oid AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
_PRIMARY_KEY: Final = """
SELECT a.attname
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
WHERE i.indrelid = %s::oid AND i.indisprimary
ORDER BY pg_catalog.array_position(i.indkey::int2[], a.attnum)
"""


def postgres_kind(type_name: str) -> Kind:
    """A column's kind from its catalog type name (``pg_type.typname``)."""
    return _KINDS.get(type_name, Kind.OTHER)


def read_table(connection: psycopg.Connection[Any], spec: TableSpec) -> Table:
    """The table or view ``spec.name`` as PostgreSQL's catalog describes it.

    Raises:
        TableError: no such table or view, or none of its columns is queryable.
    """
    found = connection.execute(_FIND, {"name": spec.name, "schema": spec.schema}).fetchone()
    if found is None:
        where = f"schema {spec.schema!r}" if spec.schema else "the search path"
        raise TableError(spec.service, f"no table or view {spec.name!r} in {where}")
    oid, schema, name = found
    columns = [
        Column(
            column,
            postgres_kind(type_name),
            not notnull,
            formatted,
            sql.Identifier(column).as_string(connection),
        )
        for column, type_name, formatted, notnull in connection.execute(_COLUMNS, (oid,))
    ]
    key = [row[0] for row in connection.execute(_PRIMARY_KEY, (oid,))]
    return make_table(
        spec.service,
        name,
        sql.Identifier(schema, name).as_string(connection),
        columns,
        key,
        record=spec.record,
        record_name=spec.record_name,
    )


class PostgresBackend:
    """Queries one table or view over one read-only psycopg connection."""

    __slots__ = ("_connection", "_dsn", "_service", "itersize", "table")

    def __init__(self, dsn: str, spec: TableSpec = PEOPLE_SPEC, itersize: int = ITERSIZE) -> None:
        self._dsn = dsn
        self._service = spec.service
        self.itersize = itersize
        self._connection: psycopg.Connection[Any] | None = None
        connection = self._connection = self._connect()  # fail fast on a wrong DSN
        try:
            self.table = read_table(connection, spec)
            connection.rollback()  # end the catalog's read-only transaction
        except BaseException:
            self._drop()
            raise

    def _connect(self) -> psycopg.Connection[Any]:
        given = conninfo_to_dict(self._dsn)
        options = {key: value for key, value in _DEFAULTS.items() if key not in given}
        try:
            connection = psycopg.connect(make_conninfo(self._dsn, **options))
        except psycopg.OperationalError as exc:
            # libpq's message names host and port, never the password.
            raise DatabaseUnavailableError(
                self._service, f"cannot connect to PostgreSQL: {exc}".rstrip()
            ) from exc
        connection.read_only = True  # the service only reads; a bug could not write
        return connection

    def _live_connection(self) -> psycopg.Connection[Any]:
        connection = self._connection
        if connection is None or connection.closed or connection.broken:
            self._drop()
            connection = self._connection = self._connect()
        return connection

    def rows(self, query: Query) -> Iterator[object]:
        """Stream matching records through a server-side cursor."""
        return self._rows(lambda: check_query(query, self.table))

    def answer(self, request: object, service: str) -> Iterator[object]:
        """Validate ``request`` on the first step, then stream (one generator)."""
        return self._rows(lambda: parse_query(request, self.table, service))

    def _rows(self, make_query: Callable[[], Query]) -> Iterator[object]:
        text, params = build_sql(make_query(), POSTGRES)
        record = self.table.record
        connection = self._live_connection()
        cursor = connection.cursor(name="nanoservices_rows")
        try:
            cursor.execute(text, params)
            # fetchmany + starmap: one C-level loop per batch instead of a
            # Python row factory call per row.
            while batch := cursor.fetchmany(self.itersize):
                yield from starmap(record, batch)
        except psycopg.OperationalError as exc:
            lost = connection.broken or connection.closed
            self._drop()  # whatever broke, the next request starts on a fresh connection
            if lost:
                raise DatabaseUnavailableError(
                    self._service,
                    f"lost the connection to PostgreSQL ({str(exc).strip()}); "
                    "the next request reconnects",
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
