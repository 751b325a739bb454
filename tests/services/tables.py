"""Test tables beyond the demo's: the talk's own ``people``, a table whose names need
quoting and whose columns have every kind (and NULLs), a view of it, and tables a
service must refuse. The same tables on SQLite and PostgreSQL, with the rows as
Python values to compare against."""

from __future__ import annotations

import contextlib
import datetime
import random
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from nanoservices.services.people._seed import CITIES, FIRST_NAMES

ODD = 'my "odd" table'
VIEW = "active people"
#: Column names in catalog order: spaces, a keyword, a quote, and a blob.
ODD_COLUMNS = (
    "id",
    "first name",
    "select",
    "weight kg",
    "born on",
    "is active",
    'quote"d',
    "photo",
)
VIEW_COLUMNS = ("id", "first name", "born on", "weight kg")

_SQLITE_ODD = """
CREATE TABLE "my ""odd"" table" (
    "id" INTEGER PRIMARY KEY,
    "first name" TEXT NOT NULL,
    "select" INTEGER,
    "weight kg" REAL,
    "born on" DATE,
    "is active" BOOLEAN NOT NULL,
    "quote""d" TEXT,
    "photo" BLOB
)
"""
_POSTGRES_ODD = """
CREATE TABLE "my ""odd"" table" (
    "id" integer PRIMARY KEY,
    "first name" text COLLATE "C" NOT NULL,
    "select" bigint,
    "weight kg" double precision,
    "born on" date,
    "is active" boolean NOT NULL,
    "quote""d" varchar(100) COLLATE "C",
    "photo" bytea
)
"""
_VIEW = """
CREATE VIEW "active people" AS
SELECT "id", "first name", "born on", "weight kg" FROM "my ""odd"" table" WHERE "is active"
"""
_TALK = [
    ("Reuven", "Lerner", datetime.date(1970, 1, 1)),
    ("Atara", "Lerner-Friedman", datetime.date(2000, 1, 1)),
    ("Shikma", "Lerner-Friedman", datetime.date(2002, 1, 1)),
    ("Amotz", "Lerner-Friedman", datetime.date(2005, 1, 1)),
]
TALK_ROWS: Sequence[tuple[str, str, datetime.date]] = _TALK

_ODD_TEXT = ("O'Neil", 'say "hi"', "x'; DROP TABLE people; --", "100%_sure\\", "ä😀", "")


def odd_rows(count: int = 400, seed: int = 5) -> list[dict[str, Any]]:
    """The odd table's rows, by column name; about one value in five is NULL."""
    rng = random.Random(seed)

    def maybe(value: Any) -> Any:
        return None if rng.random() < 0.2 else value

    rows = []
    for pid in range(1, count + 1):
        born = datetime.date.fromordinal(rng.randint(710_000, 735_000))
        rows.append(
            {
                "id": pid,
                "first name": rng.choice(FIRST_NAMES + _ODD_TEXT),
                "select": maybe(rng.randint(-50, 50)),
                "weight kg": maybe(round(rng.uniform(2.5, 150.0), 2)),
                "born on": maybe(born),
                "is active": rng.random() < 0.6,
                'quote"d': maybe(rng.choice(CITIES[:8] + _ODD_TEXT)),
                "photo": maybe(rng.randbytes(4)),
            }
        )
    return rows


def view_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """What the view shows of ``rows``."""
    return [{c: row[c] for c in VIEW_COLUMNS} for row in rows if row["is active"]]


def samples(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Values the table holds, per column, for Hypothesis to pick from."""
    return {column: [row[column] for row in rows[:60]] for column in rows[0]}


def records(
    record: type[Any], columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> list[Any]:
    """``rows`` as ``record`` values, fields in ``columns`` order."""
    return [record(*(row[c] for c in columns)) for row in rows]


def _insert_sql(table: str, columns: Sequence[str], mark: str) -> str:
    quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    name = '"' + table.replace('"', '""') + '"'
    return f"INSERT INTO {name} ({quoted}) VALUES ({', '.join([mark] * len(columns))})"


def create_sqlite(
    path: str, rows: Sequence[Mapping[str, Any]], *, talk_birthdate: str = "DATE"
) -> None:
    """An SQLite file with the talk's ``people``, the odd table, its view, and
    two tables no service can serve (``blobs``: only a blob; ``computed``: a
    view of untyped expressions)."""
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(
            f"CREATE TABLE people (first_name TEXT, last_name TEXT, birthdate {talk_birthdate})"
        )
        connection.executemany(
            "INSERT INTO people VALUES (?, ?, ?)",
            [(first, last, born.isoformat()) for first, last, born in _TALK],
        )
        connection.execute(_SQLITE_ODD)
        connection.executemany(
            _insert_sql(ODD, ODD_COLUMNS, "?"),
            [
                tuple(
                    value.isoformat() if isinstance(value, datetime.date) else value
                    for value in (row[c] for c in ODD_COLUMNS)
                )
                for row in rows
            ],
        )
        connection.execute(_VIEW)
        connection.execute("CREATE TABLE blobs (data BLOB)")
        connection.execute(
            'CREATE VIEW computed AS SELECT 1 + 1 AS two, "id" * 2 AS twice FROM "my ""odd"" table"'
        )


def create_postgres(dsn: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """The same tables in the PostgreSQL database at ``dsn``."""
    import psycopg

    with psycopg.connect(dsn) as connection:
        connection.execute("CREATE TABLE people (first_name text, last_name text, birthdate date)")
        with connection.cursor() as cursor:
            cursor.executemany("INSERT INTO people VALUES (%s, %s, %s)", _TALK)
            connection.execute(_POSTGRES_ODD)
            cursor.executemany(
                _insert_sql(ODD, ODD_COLUMNS, "%s"),
                [tuple(row[c] for c in ODD_COLUMNS) for row in rows],
            )
        connection.execute(_VIEW)
        connection.execute("CREATE TABLE blobs (data bytea)")
        connection.execute("CREATE TABLE weird (payload jsonb, at timestamptz)")
