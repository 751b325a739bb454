"""The people service on SQLite: streaming, surviving bad queries, owning its connection."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from people_model import stream_and_list_peaks

from nanoservices import InvalidRequestError, LocalHandle, ServiceFailedError, State, Stream
from nanoservices.services.people import (
    DatabaseUnavailableError,
    Person,
    _sqlite,
    create_demo_database,
    generate_people,
    people,
)

COUNT, SEED = 1000, 11


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("people") / "people.sqlite3"
    create_demo_database(path, count=COUNT, seed=SEED)
    return path


@pytest.fixture
def handle(db_path: Path) -> Iterator[LocalHandle[Any, Stream[Person]]]:
    with people(db_path) as h:
        yield h


def test_talk_example_streams_person_records(handle: LocalHandle[Any, Stream[Person]]) -> None:
    found = list(handle.stream({"last_name": "Lerner"}))
    expected = [p for p in generate_people(COUNT, SEED) if p.last_name == "Lerner"]
    assert found == expected
    assert found
    assert all(type(p) is Person for p in found)


def test_replies_come_one_per_step(handle: LocalHandle[Any, Stream[Person]]) -> None:
    rows = handle.stream({"$order": "-id"})
    assert next(rows).id == COUNT
    assert handle.state is State.STREAMING
    assert next(rows).id == COUNT - 1
    rows.cancel()
    assert handle.state is State.READY


HUGE = 10**4400  # past Python's 4,300-digit limit for int -> str


@pytest.mark.parametrize(
    "bad",
    [
        {"age": 3},
        {"last_name": {"=='x' OR 1=1 --": "x"}},
        "SELECT * FROM people",
        None,
        {"id": HUGE},
        {"id": {"in": [1, -HUGE]}},
        {"id": 2**63},
        {"$limit": HUGE},
    ],
)
def test_bad_query_fails_its_stream_and_the_service_lives_on(
    handle: LocalHandle[Any, Stream[Person]], bad: object
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        list(handle.stream(bad))
    assert caught.value.service == "people"
    str(caught.value)  # its text never raises
    assert handle.state is State.READY
    assert len(list(handle.stream({"$limit": 3}))) == 3


def test_leaving_a_stream_early_keeps_the_connection(
    handle: LocalHandle[Any, Stream[Person]],
) -> None:
    for person in handle.stream({}):
        if person.id == 10:
            break
    gc.collect()  # the abandoned stream is cancelled when dropped
    assert [p.id for p in handle.stream({"id": {"<=": 2}})] == [1, 2]


def test_closing_the_handle_closes_the_connection(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[sqlite3.Connection] = []
    connect = sqlite3.connect

    def spy(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        opened.append(connect(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(_sqlite.sqlite3, "connect", spy)
    h = people(db_path)
    assert len(list(h.stream({"$limit": 1}))) == 1
    (connection,) = opened
    h.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        connection.execute("SELECT 1")


@pytest.mark.parametrize("form", ["path", "str", "sqlite-url"])
def test_opens_a_path_or_a_sqlite_url(db_path: Path, form: str) -> None:
    target = {"path": db_path, "str": str(db_path), "sqlite-url": f"sqlite:///{db_path}"}[form]
    with people(target) as h:
        assert len(list(h.stream({"$limit": 2}))) == 2


def test_missing_file_is_refused_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sqlite3"
    with pytest.raises(ServiceFailedError, match="could not start") as caught:
        people(missing)
    assert isinstance(caught.value.__cause__, DatabaseUnavailableError)
    assert "no SQLite database file" in str(caught.value.__cause__)
    assert not missing.exists()


def test_the_connection_is_read_only(db_path: Path) -> None:
    backend = _sqlite.SQLiteBackend(db_path)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            backend.connection.execute("DELETE FROM people")
    finally:
        backend.close()


def test_like_is_case_sensitive_as_on_postgresql(handle: LocalHandle[Any, Stream[Person]]) -> None:
    assert list(handle.stream({"last_name": {"like": "lerner"}})) == []
    assert list(handle.stream({"last_name": {"like": "Lern%"}}))


def test_streaming_holds_one_row_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "big.sqlite3"
    create_demo_database(path, count=20_000, seed=1)
    with people(path) as h:
        streamed, listed, stream_peak, list_peak = stream_and_list_peaks(h)
    assert streamed == listed == 20_000
    assert stream_peak < list_peak / 20  # flat, not proportional to the answer
