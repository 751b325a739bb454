"""The one small interface both database backends implement, and what they share."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from nanoservices import ServiceError

from ._query import SERVICE, Query
from ._schema import TABLE, Person
from ._table import Kind, Table

__all__ = [
    "PEOPLE_SPEC",
    "Backend",
    "DatabaseUnavailableError",
    "TableSpec",
    "check_query",
]


class DatabaseUnavailableError(ServiceError, ConnectionError):
    """The database could not be reached, or the connection broke mid-request.

    The request that saw it failed; the service dropped the connection and the
    next request connects again. Not a bad query: compare
    [`nanoservices.InvalidRequestError`][].
    """

    def __init__(self, service: str, message: str) -> None:
        super().__init__(service, message)


class TableSpec:
    """Which table a backend serves, and how its records are made.

    ``record`` is used when it fits the catalog's columns exactly, else a record
    type called ``record_name`` is built from them. ``hints`` name the kind of
    text columns SQLite cannot declare (its dates are ISO text): they apply only
    to SQLite columns the catalog calls text.
    """

    __slots__ = ("hints", "name", "record", "record_name", "schema", "service")

    def __init__(
        self,
        name: str,
        service: str,
        *,
        schema: str | None = None,
        record: type[Any] | None = None,
        record_name: str = "Row",
        hints: Mapping[str, Kind] | None = None,
    ) -> None:
        self.name = name
        self.service = service
        self.schema = schema
        self.record = record
        self.record_name = record_name
        self.hints: Mapping[str, Kind] = hints or {}


#: The ``people`` service's table: ``Person`` records on our table; on any other
#: columns (the talk's table) records named ``Person`` with those columns.
PEOPLE_SPEC = TableSpec(
    TABLE, SERVICE, record=Person, record_name="Person", hints={"birth_date": Kind.DATE}
)


class Backend(Protocol):
    """A read-only connection to one table or view."""

    #: The table as the catalog described it when the backend opened.
    table: Table

    def rows(self, query: Query) -> Iterator[Any]:
        """Stream the matching records in constant memory.

        Lazy: nothing runs until the first ``next``. Closing the iterator early
        releases the cursor.
        """
        ...

    def answer(self, request: object, service: str) -> Iterator[Any]:
        """[`rows`][] for a query dict, checked by ``parse_query`` on the first
        ``next`` (a bad query fails its own stream, naming ``service``)."""
        ...

    def close(self) -> None:
        """Release the connection; idempotent."""
        ...


def check_query(query: Query, table: Table) -> Query:
    """``query`` for ``table``: the same columns (as ``parse_query``'s default
    ``PEOPLE`` has for the demo table) may run; another table's query may not."""
    if query.table is table:
        return query
    mine = {(c.name, c.kind) for c in table.columns}
    if {(c.name, c.kind) for c in query.table.columns} != mine:
        raise ValueError(f"the query was parsed for table {query.table.name!r}, not {table.name!r}")
    return Query(query.conditions, query.order, query.limit, query.offset, table)
