"""The query services: ``people`` (the talk's) and ``table`` (any table or view).

Both are the same body: open a backend, which reads the table's columns from
the database's catalog; then answer each query dict with a stream of records.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Mapping
from typing import Any

from nanoservices import NO_REPLY, Stream, service, streamed

from ._backend import PEOPLE_SPEC, Backend, TableSpec
from ._connect import open_backend
from ._schema import Person

__all__ = ["people", "table"]

Request = Mapping[str, object]
TABLE_SERVICE = "table"


# validate=False: the query language is checked by parse_query, inside the
# stream, so that a bad query fails only its own stream with a precise reason.
@service(name=PEOPLE_SPEC.service, validate=False)
def people(dsn_or_path: str | os.PathLike[str]) -> Generator[Stream[Person], Request, None]:
    """Answer queries on the ``people`` table of SQLite (a path) or PostgreSQL (``postgresql://...``).

    On the demo table ([`create_demo_database`][]) the records are
    [`Person`][]; on another ``people`` table (the talk's: first name, last
    name, birth date) they are records called ``Person`` with that table's
    columns. The connection is opened when the service starts, kept between
    requests and closed when the handle is closed. Each request is a query dict
    (see [`nanoservices.services.people`][]); the reply streams the matching
    records one per step, in constant memory.

    Raises (at start): [`nanoservices.ServiceStartError`][] whose cause is
    [`DatabaseUnavailableError`][] (no database) or [`TableError`][] (no
    ``people`` table or view, or nothing in it a query can use).

    Raises (inside the reply stream, the service lives on):
        InvalidRequestError: the query is outside the query language.
        DatabaseUnavailableError: the database went away; the next request reconnects.
    """
    yield from _serve(open_backend(dsn_or_path, PEOPLE_SPEC), PEOPLE_SPEC.service)


@service(name=TABLE_SERVICE, validate=False)
def table(
    dsn_or_path: str | os.PathLike[str], name: str, *, schema: str | None = None
) -> Generator[Stream[Any], Request, None]:
    """Answer queries on any table or view ``name`` (its exact catalog name).

    The same query language as [`people`][], on the columns the catalog
    shows when the service starts: text, integer, real, date and boolean
    columns can be queried and ordered by; other types (blobs, JSON,
    timestamps...) come back in the records but cannot be queried. Records are
    frozen ``msgspec.Struct`` types called ``Row``, one field per column.
    ``schema`` names the PostgreSQL schema (default: the search path).

    Raises: as [`people`][], naming the ``table`` service.
    """
    spec = TableSpec(name, TABLE_SERVICE, schema=schema)
    yield from _serve(open_backend(dsn_or_path, spec), TABLE_SERVICE)


def _serve(backend: Backend, service_name: str) -> Generator[Stream[Any], Request, None]:
    try:
        request = yield NO_REPLY
        while True:
            # Validation and the query both run on the stream's first step.
            request = yield streamed(backend.answer(request, service_name))
    finally:
        backend.close()
