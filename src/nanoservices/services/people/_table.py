"""What a query service knows of its table: columns, their kinds, and the record type.

A [`Table`][] is read from the database's own catalog when the service
starts (see ``_sqlite.py`` and ``_postgres.py``), never from request text. It
is the whitelist: the query builder writes into SQL only the quoted names it
holds, quoted once, at start, by the backend (psycopg's ``sql.Identifier`` on
PostgreSQL).

Records are frozen ``msgspec.Struct`` types with one field per column, in
the SELECT order, so a row becomes a record in one C call (``Record(*row)``).
A column whose name is not a Python identifier gets an attribute made into one
(``"first name"`` -> ``first_name``), and keeps its own name when encoded
(``msgspec.json``, the HTTP transport) unless it holds a quote, a backslash or
a control character, which msgspec cannot rename to. Records of tables that are not known in
advance are built here from the columns and cached by their shape, so two
services on the same table share one record type, and pickling (Ray) rebuilds
the same type on the other side.
"""

from __future__ import annotations

import datetime
import enum
import keyword
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from nanoservices import ServiceError

__all__ = ["Column", "Kind", "Table", "TableError", "make_table", "record_type"]


class TableError(ServiceError, LookupError):
    """The table or view cannot be served: it does not exist, or it has no
    column a query can use. Raised when the service starts (the handle's
    [`nanoservices.ServiceStartError`][] has it as ``__cause__``).
    """

    def __init__(self, service: str, message: str) -> None:
        super().__init__(service, message)


class Kind(enum.Enum):
    """What a column holds, as far as queries are concerned."""

    TEXT = "text"
    INTEGER = "integer"
    REAL = "real"
    DATE = "date"
    BOOLEAN = "boolean"
    #: Selected into records as the driver returns it, but not queryable
    #: (blobs, JSON, timestamps, numerics...).
    OTHER = "other"


_PYTHON_TYPES: Final[Mapping[Kind, Any]] = {
    Kind.TEXT: str,
    Kind.INTEGER: int,
    Kind.REAL: float,
    Kind.DATE: datetime.date,
    Kind.BOOLEAN: bool,
    Kind.OTHER: Any,
}


@dataclass(frozen=True, slots=True)
class Column:
    """One column as the catalog describes it."""

    name: str
    kind: Kind
    nullable: bool
    #: The database's own type name, for messages ("character varying", "REAL").
    type_name: str
    #: The identifier as it goes into SQL, quoted by the backend.
    sql: str = field(repr=False)

    def describe(self) -> str:
        """``'nick' (text, nullable)``, ``'photo' (bytea, not queryable)``."""
        if self.kind is Kind.OTHER:
            return f"{self.name!r} ({self.type_name or 'no type'}, not queryable)"
        null = ", nullable" if self.nullable else ""
        return f"{self.name!r} ({self.kind.value}{null})"


@dataclass(frozen=True, slots=True)
class Table:
    """A table or view, with the columns a query may name and the record it yields."""

    name: str
    #: The (schema-qualified) table name as it goes into SQL, quoted by the backend.
    sql: str = field(repr=False)
    columns: tuple[Column, ...]
    #: Columns appended to every ORDER BY, so answers and paging are deterministic:
    #: the primary key, or every queryable column when there is none (views).
    key: tuple[str, ...]
    record: type[Any] = field(repr=False)
    #: The SELECT list, one expression per column in ``columns`` order.
    select: str = field(repr=False)
    by_name: Mapping[str, Column] = field(repr=False, compare=False)

    def describe(self) -> str:
        """Every column with its kind, for refusals: what the caller can use."""
        return ", ".join(column.describe() for column in self.columns)

    def queryable(self) -> tuple[Column, ...]:
        """The columns conditions and ``$order`` may name."""
        return tuple(column for column in self.columns if column.kind is not Kind.OTHER)


def make_table(
    service: str,
    name: str,
    sql: str,
    columns: Iterable[Column],
    primary_key: Iterable[str],
    *,
    record: type[Any] | None = None,
    record_name: str = "Row",
    select: Callable[[Column], str] = lambda column: column.sql,
) -> Table:
    """A [`Table`][] from catalog facts; ``record`` is used when it fits exactly.

    ``record`` (a Struct such as ``Person``) is taken when its fields are
    exactly the table's columns with the same kinds, none nullable: then the
    SELECT follows the record's field order. Otherwise a record type named
    ``record_name`` is built from the columns. ``select`` writes a column's
    expression in the SELECT list (SQLite adds a converter alias for dates).

    Raises:
        TableError: no column is queryable.
    """
    columns = tuple(columns)
    queryable = [column for column in columns if column.kind is not Kind.OTHER]
    if not queryable:
        what = ", ".join(column.describe() for column in columns) or "no columns at all"
        raise TableError(service, f"table {name!r} has no column a query can use ({what})")
    by_name = {column.name: column for column in columns}
    if record is not None and _fits(record, by_name):
        columns = tuple(by_name[field_name] for field_name in record.__struct_fields__)
    else:
        record = record_type(record_name, columns)
    key = tuple(primary_key) or tuple(column.name for column in queryable)
    select_list = ", ".join(select(column) for column in columns)
    return Table(name, sql, columns, key, record, select_list, by_name)


def _fits(record: type[Any], by_name: Mapping[str, Column]) -> bool:
    fields = msgspec.structs.fields(record)
    if sorted(f.name for f in fields) != sorted(by_name):
        return False
    return all(
        _PYTHON_TYPES[by_name[f.name].kind] is f.type and not by_name[f.name].nullable
        for f in fields
    )


# -- dynamic record types ---------------------------------------------------------------

#: (record name, ((column name, kind value, nullable), ...)): one record type per shape.
_Shape = tuple[str, tuple[tuple[str, str, bool], ...]]
_RECORDS: dict[_Shape, type[Any]] = {}


def record_type(name: str, columns: Iterable[Column]) -> type[Any]:
    """The frozen Struct for rows of ``columns`` (cached by shape)."""
    shape: _Shape = (name, tuple((c.name, c.kind.value, c.nullable) for c in columns))
    return _record_for(shape)


def _record_for(shape: _Shape) -> type[Any]:
    cached = _RECORDS.get(shape)
    if cached is not None:
        return cached
    name, columns = shape
    attributes = _attribute_names([column for column, _, _ in columns])
    fields = []
    for attribute, (_, kind, nullable) in zip(attributes, columns, strict=True):
        python_type = _PYTHON_TYPES[Kind(kind)]
        fields.append((attribute, python_type | None if nullable else python_type))
    rename = {
        attribute: column
        for attribute, (column, _, _) in zip(attributes, columns, strict=True)
        if attribute != column and _encodable(column)
    }

    def __reduce__(self: msgspec.Struct) -> tuple[Any, ...]:
        # Pickle by shape, not by class: the class is not importable by name.
        return (_rebuild, (shape, msgspec.structs.astuple(self)))

    record: type[Any] = msgspec.defstruct(
        name,
        fields,
        frozen=True,
        gc=False,  # rows hold only values the driver made: no cycles to collect
        rename=rename or None,
        namespace={"__reduce__": __reduce__},
        module=__name__,
    )
    return _RECORDS.setdefault(shape, record)


def _encodable(name: str) -> bool:
    """msgspec encodes a field under another name only without quotes, backslashes
    and control characters; such columns encode under their attribute name."""
    return not any(char in '"\\' or char < " " for char in name)


def _rebuild(shape: _Shape, values: tuple[Any, ...]) -> Any:
    return _record_for(shape)(*values)


def _attribute_names(columns: list[str]) -> list[str]:
    """Column names made into distinct, non-dunder Python identifiers."""
    taken: set[str] = set()
    names: list[str] = []
    for column in columns:
        name = re.sub(r"\W", "_", column) or "_"
        if not name.isidentifier() or name.startswith("_") or keyword.iskeyword(name):
            name = "c_" + name
        if not name.isidentifier():  # a \w that no identifier may hold
            name = f"c_{len(names) + 1}"
        base, n = name, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        names.append(name)
    return names
