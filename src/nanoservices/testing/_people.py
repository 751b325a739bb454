"""A temporary SQLite people database, seeded as the demo seeds it.

The same ``count`` and ``seed`` give the same people every time (and the same
people as a PostgreSQL database seeded with them), so a test may assert on who
is in it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["people_database"]


def people_database(directory: str | os.PathLike[str], *, count: int = 100, seed: int = 0) -> Path:
    """Create ``people.sqlite3`` in ``directory`` with ``count`` people from ``seed``.

    Returns its path, for ``people(path)``. The file must not exist yet.
    """
    from nanoservices.services.people import create_demo_database

    path = Path(directory) / "people.sqlite3"
    create_demo_database(path, count=count, seed=seed)
    return path
