"""The demo ``people`` table: its columns, their kinds, and the ``Person`` record.

The service reads every table's columns from the database when it starts
(``_table.py``); this module is what the ``people`` service expects of *our*
table, the one [`create_demo_database`][] makes: when the catalog shows
exactly these columns, records are [`Person`][]. [`PEOPLE`][] is the same
table described without a database, the default of [`parse_query`][].
"""

# No ``from __future__ import annotations``: Person's field types must be real
# types, not strings that msgspec resolves in the module it is exported from.
import datetime
from typing import Final

import msgspec

from ._table import Column, Kind, Table, make_table

__all__ = ["COLUMNS", "PEOPLE", "TABLE", "Person"]


class Person(msgspec.Struct, frozen=True, gc=False):
    """One row of the ``people`` table, as the service streams it.

    A frozen ``msgspec.Struct``: built from a row in one C call, which
    is most of what streaming a million rows costs (see
    ``benchmarks/people_stream.py``).
    """

    id: int
    first_name: str
    last_name: str
    birth_date: datetime.date
    city: str
    email: str


TABLE: Final = "people"

# Order matters: it is the SELECT list, the COPY/INSERT order and Person's
# positional constructor order.
COLUMNS: Final[tuple[str, ...]] = Person.__struct_fields__

_KINDS: Final = {"id": Kind.INTEGER, "birth_date": Kind.DATE}

#: The demo table as the catalog shows it (quoted the SQL-standard way, as
#: both backends quote these plain names).
PEOPLE: Final[Table] = make_table(
    TABLE,
    TABLE,
    f'"{TABLE}"',
    (Column(name, _KINDS.get(name, Kind.TEXT), False, "", f'"{name}"') for name in COLUMNS),
    ("id",),
    record=Person,
)
