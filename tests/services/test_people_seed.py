"""The demo people generator: reproducible, realistic enough, and its database."""

from __future__ import annotations

import contextlib
import datetime
import sqlite3
from pathlib import Path

import pytest

from nanoservices.services.people import create_demo_database, generate_people
from nanoservices.services.people._seed import CITIES, FIRST_NAMES, LAST_NAMES


def test_same_seed_same_people() -> None:
    assert list(generate_people(500, seed=3)) == list(generate_people(500, seed=3))


def test_other_seed_other_people() -> None:
    assert list(generate_people(50, seed=3)) != list(generate_people(50, seed=4))


def test_known_first_person_pins_the_algorithm() -> None:
    # If this changes, every demo database and benchmark changes with it.
    first = next(generate_people(1, seed=0))
    assert (first.id, first.first_name, first.last_name) == (1, "O'Neil", "Ferrari")


def test_people_look_real() -> None:
    people = list(generate_people(2000, seed=1))
    assert [p.id for p in people] == list(range(1, 2001))
    assert {p.first_name for p in people} <= set(FIRST_NAMES)
    assert {p.last_name for p in people} <= set(LAST_NAMES)
    assert {p.city for p in people} <= set(CITIES)
    assert all(
        datetime.date(1930, 1, 1) <= p.birth_date <= datetime.date(2010, 12, 31) for p in people
    )
    assert len({p.email for p in people}) == len(people)
    assert all(p.email.isascii() and p.email.count("@") == 1 for p in people)
    assert "Lerner" in {p.last_name for p in people}  # the talk's example finds someone


def test_demo_database_holds_the_generated_people(tmp_path: Path) -> None:
    path = tmp_path / "demo.sqlite3"
    create_demo_database(f"sqlite:///{path}", count=300, seed=9)
    with contextlib.closing(sqlite3.connect(path)) as connection:
        rows = connection.execute("SELECT * FROM people ORDER BY id").fetchall()
    expected = [
        (p.id, p.first_name, p.last_name, p.birth_date.isoformat(), p.city, p.email)
        for p in generate_people(300, seed=9)
    ]
    assert rows == expected


def test_demo_database_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "demo.sqlite3"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="already exists"):
        create_demo_database(path)
    assert path.read_bytes() == b"precious"
