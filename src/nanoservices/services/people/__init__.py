"""The people query service, and the same service on any table: dict queries, streamed records.

```python
from nanoservices.services.people import create_demo_database, people, table

create_demo_database("people.sqlite3", count=1000, seed=42)
with people("people.sqlite3") as h:           # or people("postgresql://...")
    for person in h.stream({"last_name": "Lerner", "$order": "-birth_date"}):
        print(person.first_name, person.birth_date)
with table("people.sqlite3", "people") as rows:   # any table or view, by name
    print(next(iter(rows.stream({"city": "Haifa"}))))
```

Backends: an SQLite file (``"path.sqlite3"``, a ``Path`` or ``"sqlite:///path"``,
opened read-only) or PostgreSQL (``"postgresql://..."``, the ``postgres`` extra;
a server-side cursor, read-only transactions). The connection lives as long as
the service; a lost PostgreSQL connection fails the request that noticed with
[`DatabaseUnavailableError`][], and the next request reconnects.

The columns come from the database's catalog when the service starts (SQLite's
``pragma_table_info``, PostgreSQL's ``pg_attribute``): names, types, NOT NULL
and the primary key. ``people`` serves the ``people`` table: on the demo table
the records are [`Person`][]; on the talk's own table (first name, last
name, birth date) they are records called ``Person`` with those fields.
``table(dsn, name)`` serves any table or view; its records are called ``Row``.
Records are frozen ``msgspec.Struct`` types; a column name that is not an
identifier gets one for an attribute (``"born on"`` -> ``born_on``). A table
that does not exist, or has no column a query can use, fails at start
([`TableError`][], the cause of the handle's ``ServiceStartError``).

A query is a plain dict. Keys are column names (AND-ed together) or one of the
options ``$order``, ``$limit`` and ``$offset``:

```python
# equality; several fields are AND-ed
{"last_name": "Lerner"}
{"last_name": "Lerner", "city": "Haifa"}
# operators (AND-ed too)
{"birth_date": {">=": "1990-01-01", "<": "2000-01-01"}}
{"last_name": {"in": ["Lerner", "Cohen"]}}
{"email": {"like": "%@example.org"}, "first_name": {"startswith": "Re"}}
# IS NULL (nullable columns)
{"nickname": None}
{"$order": ["last_name", "-birth_date"], "$limit": 10, "$offset": 20}
# everybody, by primary key
{}
```

Column types and the values they take:

- integer columns: ``int`` (64-bit);
- real columns: ``int`` or ``float``, finite;
- date columns (``DATE``; ISO text in SQLite): ``datetime.date`` or an ISO
  string ``"YYYY-MM-DD"``;
- boolean columns (``BOOLEAN``; 0/1 in SQLite): ``True`` or ``False``;
- text columns: ``str`` (at most 1000 characters, no NUL, valid Unicode);
- other types (blobs, JSON, timestamps, numerics) are in the records but
  cannot be queried or ordered by.

Operators: ``=`` ``!=`` ``<`` ``<=`` ``>`` ``>=`` take one value; ``in`` and
``not in`` take a list, tuple or set of at most 1000 values (an empty ``in``
matches nobody); ``like`` (text columns, case-sensitive, ``%`` any run, ``_``
one character, ``\\`` escapes) and ``startswith`` (text columns, taken
literally) take a string. Booleans take ``=``, ``!=``, ``in`` and ``not in``
only. ``None`` is SQL NULL: only with ``=`` and ``!=``, on nullable columns;
as in SQL, NULL matches no other comparison.

``$order`` is a column name or a list of them, ``-`` in front for descending;
the primary key (without one, every queryable column) is always appended, so
results are deterministic and ``$offset`` paging is stable. NULL sorts first
ascending, last descending, on both backends. ``$limit`` and ``$offset`` are
non-negative ints.

Why so strict: SQL text is built only from the catalog's table and column
names (quoted at start by the driver's tools: psycopg's ``sql.Identifier``;
SQLite's standard double quotes) and a fixed operator table; every value the
caller sends is a bound parameter. Anything else is refused with
[`nanoservices.InvalidRequestError`][] naming the service, what was wrong
and what the table has. The check runs inside the reply stream, on its first
step: a bad query fails only its own stream; the service keeps serving.
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
