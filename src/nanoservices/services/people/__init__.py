"""The people query service: dict queries over a ``people`` table, streamed as records.

::

    from nanoservices.services.people import create_demo_database, people

    create_demo_database("people.sqlite3", count=1000, seed=42)
    with people("people.sqlite3") as h:           # or people("postgresql://...")
        for person in h.stream({"last_name": "Lerner", "$order": "-birth_date"}):
            print(person.first_name, person.birth_date)

The query language is described in :mod:`._query` and ``docs/services/people.md``.
PostgreSQL needs the ``postgres`` extra (psycopg 3).
"""

from ._backend import Backend as Backend
from ._backend import DatabaseUnavailableError as DatabaseUnavailableError
from ._demo import create_demo_database as create_demo_database
from ._query import Query as Query
from ._query import build_sql as build_sql
from ._query import parse_query as parse_query
from ._schema import COLUMNS as COLUMNS
from ._schema import Person as Person
from ._seed import generate_people as generate_people
from ._service import people as people

__all__ = [
    "COLUMNS",
    "Backend",
    "DatabaseUnavailableError",
    "Person",
    "Query",
    "build_sql",
    "create_demo_database",
    "generate_people",
    "parse_query",
    "people",
]

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith(__name__ + "._"):
        try:
            _obj.__module__ = __name__
        except (AttributeError, TypeError):
            pass
del _name, _obj
