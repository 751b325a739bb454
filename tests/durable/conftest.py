"""Fixtures of the durable tests: a fresh SQLite journal file per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nanoservices.durable import SQLiteStore


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite"


@pytest.fixture
def store(journal_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(journal_path) as opened:
        yield opened  # type: ignore[misc]
