"""The ``people`` nanoservice: a query dict in, a stream of ``Person`` records out."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Mapping

from nanoservices import NO_REPLY, Stream, service, streamed

from ._backend import Backend, open_backend
from ._query import SERVICE, parse_query
from ._schema import Person

__all__ = ["people"]

Request = Mapping[str, object]


# validate=False: the query language is checked by parse_query, inside the
# stream, so that a bad query fails only its own stream with a precise reason.
@service(name=SERVICE, validate=False)
def people(dsn_or_path: str | os.PathLike[str]) -> Generator[Stream[Person], Request, None]:
    """Answer people queries from SQLite (a path) or PostgreSQL (``postgresql://...``).

    The connection is opened when the service starts, kept between requests
    and closed when the handle is closed. Each request is a query dict (see
    :mod:`nanoservices.services.people._query`); the reply streams the
    matching :class:`Person` records one per step, in constant memory.

    Raises (inside the reply stream, the service lives on):
        InvalidRequestError: the query is outside the query language.
        DatabaseUnavailableError: the database went away; the next request reconnects.
    """
    backend = open_backend(dsn_or_path)
    try:
        request = yield NO_REPLY
        while True:
            request = yield streamed(_answer(backend, request))
    finally:
        backend.close()


def _answer(backend: Backend, request: object) -> Iterator[Person]:
    """Validate, then stream: both happen on the stream's first step."""
    query = parse_query(request)
    yield from backend.rows(query)
