"""``create_demo_database``: a new database full of reproducible people."""

from __future__ import annotations

import os

from ._connect import sqlite_path
from ._seed import generate_people

__all__ = ["create_demo_database"]


def create_demo_database(
    dsn_or_path: str | os.PathLike[str], *, count: int = 1000, seed: int = 0
) -> None:
    """Create a ``people`` table holding ``count`` people generated from ``seed``.

    ``dsn_or_path`` is an SQLite file path (or ``sqlite:///path``), which must
    not exist yet, or a ``postgresql://`` DSN whose database has no ``people``
    table yet. The same ``count`` and ``seed`` give the same people on both.
    """
    people = generate_people(count, seed)
    path = sqlite_path(dsn_or_path)
    if path is not None:
        from ._sqlite import create_table

        create_table(path, people)
    else:
        from ._postgres import create_table as create_postgres_table

        create_postgres_table(str(dsn_or_path), people)
