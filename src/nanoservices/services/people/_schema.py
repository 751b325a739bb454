"""The ``people`` table: its columns, their Python types, and the ``Person`` record.

This module is the whitelist. The query builder only ever writes the table and
column names listed here into SQL text; everything a caller sends becomes a
bound parameter.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Final

__all__ = ["COLUMNS", "DATE_COLUMNS", "INT_COLUMNS", "TABLE", "TEXT_COLUMNS", "Person"]


@dataclasses.dataclass(frozen=True, slots=True)
class Person:
    """One row of the ``people`` table, as the service streams it."""

    id: int
    first_name: str
    last_name: str
    birth_date: datetime.date
    city: str
    email: str


TABLE: Final = "people"

# Order matters: it is the SELECT list, the COPY/INSERT order and Person's
# positional constructor order.
COLUMNS: Final[tuple[str, ...]] = tuple(field.name for field in dataclasses.fields(Person))
INT_COLUMNS: Final = frozenset({"id"})
DATE_COLUMNS: Final = frozenset({"birth_date"})
TEXT_COLUMNS: Final = frozenset({"first_name", "last_name", "city", "email"})

assert frozenset(COLUMNS) == INT_COLUMNS | DATE_COLUMNS | TEXT_COLUMNS
