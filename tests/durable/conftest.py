"""Fixtures of the durable tests: a fresh journal store per test, on SQLite and
(marked ``postgres``) on the throwaway PostgreSQL cluster the suite starts itself
(``pg_cluster``, in tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from nanoservices.durable import JournalStore, SQLiteStore

if TYPE_CHECKING:  # crash_child.py imports this module outside pytest, without pgcluster
    from pgcluster import PostgresCluster

StoreSpec = Callable[[], str]  # makes a fresh store location: a file path or a DSN


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite"


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def location(request: pytest.FixtureRequest, journal_path: Path) -> str:
    """Where a fresh store lives: an SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(journal_path)
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"j{uuid.uuid4().hex[:12]}")


def open_store(location: str, *args: Any, **kwargs: Any) -> JournalStore:
    """The store at ``location`` (a DSN opens a PostgresStore)."""
    if location.startswith("postgresql://"):
        from nanoservices.durable.postgres import PostgresStore

        return PostgresStore(location, *args, **kwargs)
    return SQLiteStore(location, *args, **kwargs)


@pytest.fixture
def store(location: str) -> Iterator[JournalStore]:
    with open_store(location) as opened:
        yield opened
