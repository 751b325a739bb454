"""The SQLite backend: the embedded default, a read-only connection to one file.

The table's columns come from SQLite's own catalog (``sqlite_master`` and
``pragma_table_info``, both queried with bound parameters). SQLite has no date
or boolean storage: a column declared ``DATE`` holds ISO text and one declared
``BOOLEAN`` holds 0/1; the connection turns them into ``datetime.date`` and
``bool`` as it reads (``sqlite3`` converters, named by a column alias), so a row
still becomes a record in one C call. Identifiers are quoted the SQL-standard
way (``"name"``, inner quotes doubled), from catalog names only: SQLite's
driver has no quoting function of its own.
"""

from __future__ import annotations

import datetime
import os
import pathlib
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from itertools import starmap
from typing import Final

from ._backend import PEOPLE_SPEC, DatabaseUnavailableError, TableSpec, check_query
from ._query import SQLITE, Query, build_sql, parse_query
from ._schema import COLUMNS, TABLE, Person
from ._table import Column, Kind, Table, TableError, make_table

__all__ = ["SQLiteBackend", "create_table", "quote_identifier", "sqlite_kind"]

_DDL: Final = f"""
CREATE TABLE {TABLE} (
    id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    birth_date DATE NOT NULL,  -- ISO 8601 text, so text order is date order
    city TEXT NOT NULL,
    email TEXT NOT NULL
);
"""
# Built after the rows are in: faster than updating them row by row.
_INDEXES: Final = f"""
CREATE INDEX people_last_name ON {TABLE} (last_name);
CREATE INDEX people_birth_date ON {TABLE} (birth_date);
CREATE INDEX people_city ON {TABLE} (city);
"""

# Converter names are global to the sqlite3 module: ours are prefixed, and only
# our SELECT lists ask for them (PARSE_COLNAMES: ``AS "c4 [nanoservices_date]"``).
_DATE: Final = "nanoservices_date"
_BOOL: Final = "nanoservices_bool"


def _to_date(
    raw: bytes, _from_iso: Callable[[str], datetime.date] = datetime.date.fromisoformat
) -> datetime.date:
    # Called once per date per row: the default argument saves two attribute
    # lookups, a measurable share of a row (benchmarks/people_stream.py).
    try:
        return _from_iso(raw.decode())
    except (UnicodeDecodeError, ValueError):
        raise ValueError(f"a DATE column holds {raw!r}, not an ISO date 'YYYY-MM-DD'") from None


def _to_bool(raw: bytes) -> bool:
    if raw == b"1":
        return True
    if raw == b"0":
        return False
    raise ValueError(f"a BOOLEAN column holds {raw!r}, not 0 or 1")


sqlite3.register_converter(_DATE, _to_date)
sqlite3.register_converter(_BOOL, _to_bool)


def sqlite_kind(declared: str) -> Kind:
    """A column's kind from its declared type, by SQLite's affinity rules.

    ``DATE`` and ``BOOLEAN`` (``BOOL``) are recognized by name; the rest follow
    SQLite (INT -> integer; CHAR, CLOB, TEXT -> text; REAL, FLOA, DOUB -> real);
    blobs, untyped (computed view) columns and other numerics are not queryable.
    """
    upper = declared.upper()
    base = upper.split("(")[0].strip()
    if base == "DATE":
        return Kind.DATE
    if base in ("BOOLEAN", "BOOL"):
        return Kind.BOOLEAN
    if "INT" in upper:
        return Kind.INTEGER
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return Kind.TEXT
    if "BLOB" in upper or not upper:
        return Kind.OTHER
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return Kind.REAL
    return Kind.OTHER


def quote_identifier(name: str) -> str:
    """``name`` as an SQL identifier: in double quotes, inner quotes doubled.

    Only ever called on names read from the catalog.
    """
    if "\0" in name:  # the catalog cannot hold one; refuse rather than truncate
        raise ValueError(f"identifier {name!r} holds a NUL character")
    return '"' + name.replace('"', '""') + '"'


def _select(column: Column, position: dict[str, int]) -> str:
    converter = {Kind.DATE: _DATE, Kind.BOOLEAN: _BOOL}.get(column.kind)
    if converter is None:
        return column.sql
    return f'{column.sql} AS "c{position[column.name]} [{converter}]"'


def read_table(connection: sqlite3.Connection, path: str, spec: TableSpec) -> Table:
    """The table or view ``spec.name`` as SQLite's catalog describes it.

    Raises:
        TableError: no such table or view, or none of its columns is queryable.
    """
    found = connection.execute(
        "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') "
        "AND name = ? COLLATE NOCASE",
        (spec.name,),
    ).fetchone()
    if found is None:
        raise TableError(spec.service, f"no table or view {spec.name!r} in SQLite file {path!r}")
    name = str(found[0])
    info = connection.execute(
        'SELECT name, type, "notnull", pk FROM pragma_table_info(?) ORDER BY cid', (name,)
    ).fetchall()
    single_key = sum(1 for *_, pk in info if pk) == 1
    columns = []
    for column, declared, notnull, pk in info:
        kind = sqlite_kind(declared)
        if kind is Kind.TEXT and column in spec.hints:
            kind = spec.hints[column]
        # INTEGER PRIMARY KEY is the rowid: never NULL, declared or not.
        rowid = bool(pk) and single_key and declared.upper() == "INTEGER"
        nullable = not (notnull or rowid)
        columns.append(Column(column, kind, nullable, declared, quote_identifier(column)))
    key = [column for column, *_, pk in sorted(info, key=lambda row: row[3]) if pk]
    position = {column.name: index for index, column in enumerate(columns, 1)}
    return make_table(
        spec.service,
        name,
        quote_identifier(name),
        columns,
        key,
        record=spec.record,
        record_name=spec.record_name,
        select=lambda column: _select(column, position),
    )


def _no_string_fallback(connection: sqlite3.Connection) -> None:
    """Where the library allows (Python 3.12+), stop SQLite reading a double-quoted
    name that is not a column (dropped after the service started) as a string."""
    setconfig = getattr(connection, "setconfig", None)
    option = getattr(sqlite3, "SQLITE_DBCONFIG_DQS_DML", None)
    if setconfig is not None and option is not None:
        setconfig(option, False)


class SQLiteBackend:
    """Queries one table or view of one SQLite file through a read-only connection.

    Read-only (``mode=ro``) because the service only ever reads: even a
    builder bug could not change the data.
    """

    __slots__ = ("_connection", "path", "table")

    def __init__(self, path: str | os.PathLike[str], spec: TableSpec = PEOPLE_SPEC) -> None:
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):  # connect() would quietly create an empty file
            raise DatabaseUnavailableError(
                spec.service, f"no SQLite database file at {self.path!r}"
            )
        uri = pathlib.Path(self.path).resolve().as_uri() + "?mode=ro"
        try:
            # check_same_thread=False: the handle (or its shared twin's lock) already
            # serializes access, and transports may drive it from another thread.
            connection = sqlite3.connect(
                uri,
                uri=True,
                isolation_level=None,
                check_same_thread=False,
                detect_types=sqlite3.PARSE_COLNAMES,
            )
        except sqlite3.Error as exc:
            raise DatabaseUnavailableError(
                spec.service, f"cannot open SQLite database {self.path!r}: {exc}"
            ) from exc
        try:
            # LIKE is case-sensitive on PostgreSQL; make SQLite agree.
            connection.execute("PRAGMA case_sensitive_like = ON")
            _no_string_fallback(connection)
            self.table = read_table(connection, self.path, spec)
        except sqlite3.Error as exc:
            connection.close()
            raise DatabaseUnavailableError(
                spec.service, f"cannot read SQLite database {self.path!r}: {exc}"
            ) from exc
        except BaseException:
            connection.close()
            raise
        self._connection = connection

    def rows(self, query: Query) -> Iterator[object]:
        """Stream matching records; iterating the cursor keeps memory constant."""
        return self._rows(lambda: check_query(query, self.table))

    def answer(self, request: object, service: str) -> Iterator[object]:
        """Validate ``request`` on the first step, then stream (one generator, no
        wrapper: a generator level per row is a measurable share of the time)."""
        return self._rows(lambda: parse_query(request, self.table, service))

    def _rows(self, make_query: Callable[[], Query]) -> Iterator[object]:
        sql, params = build_sql(make_query(), SQLITE)
        cursor = self._connection.execute(sql, params)
        try:
            yield from starmap(self.table.record, cursor)
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
