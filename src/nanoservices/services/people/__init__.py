"""The people query service: dict queries over a ``people`` table, streamed as records.

::

    from nanoservices.services.people import create_demo_database, people

    create_demo_database("people.sqlite3", count=1000, seed=42)
    with people("people.sqlite3") as h:           # or people("postgresql://...")
        for person in h.stream({"last_name": "Lerner", "$order": "-birth_date"}):
            print(person.first_name, person.birth_date)

Backends: an SQLite file (``"path.sqlite3"``, a ``Path`` or ``"sqlite:///path"``,
opened read-only) or PostgreSQL (``"postgresql://..."``, the ``postgres`` extra;
a server-side cursor, read-only transactions). The connection lives as long as
the service; a lost PostgreSQL connection fails the request that noticed with
:class:`DatabaseUnavailableError`, and the next request reconnects.

A query is a plain dict. Keys are column names (AND-ed together) or one of the
options ``$order``, ``$limit`` and ``$offset``::

    {"last_name": "Lerner"}                                  # equality
    {"last_name": "Lerner", "city": "Haifa"}                 # several fields: AND
    {"birth_date": {">=": "1990-01-01", "<": "2000-01-01"}}  # operators: AND-ed too
    {"last_name": {"in": ["Lerner", "Cohen"]}}
    {"email": {"like": "%@example.org"}, "first_name": {"startswith": "Re"}}
    {"$order": ["last_name", "-birth_date"], "$limit": 10, "$offset": 20}
    {}                                                       # everybody, by id

Columns and the values they take:

- ``id``: ``int``;
- ``birth_date``: ``datetime.date`` or an ISO string ``"YYYY-MM-DD"``;
- ``first_name``, ``last_name``, ``city``, ``email``: ``str`` (at most
  1000 characters, no NUL, valid Unicode).

Operators: ``=`` ``!=`` ``<`` ``<=`` ``>`` ``>=`` take one value; ``in`` and
``not in`` take a list, tuple or set of at most 1000 values (an empty ``in``
matches nobody); ``like`` (text columns, case-sensitive, ``%`` any run, ``_``
one character, ``\\`` escapes) and ``startswith`` (text columns, taken
literally) take a string. ``None`` is never a value: every column is NOT NULL.

``$order`` is a column name or a list of them, ``-`` in front for descending;
``id`` is always appended as the last key, so results are deterministic and
``$offset`` paging is stable. Text sorts by code point on both backends.
``$limit`` and ``$offset`` are non-negative ints.

Why so strict: SQL text is built only from whitelisted table, column and
operator names; every value the caller sends is a bound parameter. Anything
else is refused with :class:`nanoservices.InvalidRequestError` naming the
``people`` service and what was wrong. The check runs inside the reply stream,
on its first step: a bad query fails only its own stream; the service keeps
serving.
"""

from ._backend import Backend as Backend
from ._backend import DatabaseUnavailableError as DatabaseUnavailableError
from ._demo import create_demo_database as create_demo_database
from ._query import Query as Query
from ._query import build_sql as build_sql
from ._query import parse_query as parse_query
from ._schema import COLUMNS as COLUMNS
from ._schema import PEOPLE as PEOPLE
from ._schema import Person as Person
from ._seed import generate_people as generate_people
from ._service import people as people
from ._service import table as table
from ._table import Column as Column
from ._table import Kind as Kind
from ._table import Table as Table
from ._table import TableError as TableError

__all__ = [
    "COLUMNS",
    "PEOPLE",
    "Backend",
    "Column",
    "DatabaseUnavailableError",
    "Kind",
    "Person",
    "Query",
    "Table",
    "TableError",
    "build_sql",
    "create_demo_database",
    "generate_people",
    "parse_query",
    "people",
    "table",
]

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith(__name__ + "._"):
        try:
            _obj.__module__ = __name__
        except (AttributeError, TypeError):
            pass
del _name, _obj
