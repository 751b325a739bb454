"""The query service on any table or view, on SQLite and a real PostgreSQL: the talk's
own ``people`` table, a table with every kind of column (NULLs too) and names that
need quoting, a view of it; the model and the injection corpus on each."""

from __future__ import annotations

import datetime
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from people_model import assert_whitelisted, hostile_queries, model, valid_queries
from pgcluster import PostgresCluster, unique
from tables import (
    ODD,
    ODD_COLUMNS,
    TALK_ROWS,
    VIEW,
    VIEW_COLUMNS,
    create_postgres,
    create_sqlite,
    odd_rows,
    records,
    samples,
    view_rows,
)

from nanoservices import InvalidRequestError, ServiceStartError, State
from nanoservices.services.people import (
    DatabaseUnavailableError,
    Kind,
    TableError,
    build_sql,
    parse_query,
    people,
    table,
)
from nanoservices.services.people._backend import Backend, TableSpec
from nanoservices.services.people._connect import open_backend
from nanoservices.services.people._query import POSTGRES, SQLITE

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
FAST = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return odd_rows()


@pytest.fixture(scope="module")
def cluster(pg_cluster: PostgresCluster) -> PostgresCluster:
    """The run's cluster (one per test process: tests/conftest.py)."""
    return pg_cluster


@pytest.fixture(scope="module", params=BACKENDS)
def target(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[dict[str, Any]],
) -> str:
    """An SQLite path or a PostgreSQL DSN holding the tables of ``tables.py``."""
    if request.param == "sqlite":
        path = str(tmp_path_factory.mktemp("tables") / "tables.sqlite3")
        create_sqlite(path, rows)
        return path
    cluster: PostgresCluster = request.getfixturevalue("cluster")
    dsn = cluster.create_database(unique("tables"))
    create_postgres(dsn, rows)
    return dsn


def dialect_of(target: str) -> Any:
    return POSTGRES if target.startswith("postgresql://") else SQLITE


@pytest.fixture(scope="module")
def odd(target: str) -> Iterator[Backend]:
    backend = open_backend(target, TableSpec(ODD, "table"))
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def view(target: str) -> Iterator[Backend]:
    backend = open_backend(target, TableSpec(VIEW, "table"))
    yield backend
    backend.close()


# -- the talk's own table ------------------------------------------------------------


def test_people_works_on_the_talks_table(target: str) -> None:
    # Before: the service started, then every query failed with "no such column: city".
    with people(target) as h:
        (reuven,) = h.stream({"last_name": "Lerner"})
        assert (reuven.first_name, reuven.last_name) == ("Reuven", "Lerner")
        assert type(reuven).__name__ == "Person"
        assert type(reuven).__struct_fields__ == ("first_name", "last_name", "birthdate")
        assert reuven.birthdate == datetime.date(1970, 1, 1)
        children = h.stream({"birthdate": {">=": "2000-01-01"}, "$order": "-birthdate"})
        assert [p.first_name for p in children] == ["Amotz", "Shikma", "Atara"]
        # No primary key: every column breaks ties, in catalog order.
        assert [p.first_name for p in h.stream({})] == sorted(first for first, _, _ in TALK_ROWS)


def test_a_column_the_talks_table_lacks_is_refused_listing_what_it_has(target: str) -> None:
    with people(target) as h:
        with pytest.raises(InvalidRequestError) as caught:
            list(h.stream({"city": "Haifa"}))
        assert caught.value.service == "people"
        assert caught.value.reason == (
            "unknown column 'city'; table 'people' has columns 'first_name' (text, nullable), "
            "'last_name' (text, nullable), 'birthdate' (date, nullable)"
        )
        assert h.state is State.READY
        assert len(list(h.stream({"$limit": 2}))) == 2


def test_the_talks_sqlite_table_with_text_birthdates(tmp_path: Path) -> None:
    path = str(tmp_path / "family.sqlite3")
    create_sqlite(path, odd_rows(3), talk_birthdate="TEXT")  # as the tutorial makes it
    with people(path) as h:
        found = list(h.stream({"birthdate": {">": "2001"}, "$order": "birthdate"}))  # as text
    assert [p.birthdate for p in found] == ["2002-01-01", "2005-01-01"]


# -- any table ------------------------------------------------------------------------


def test_columns_and_kinds_come_from_the_catalog(odd: Backend) -> None:
    t = odd.table
    assert t.name == ODD
    assert [c.name for c in t.columns] == list(ODD_COLUMNS)
    kinds = [c.kind for c in t.columns]
    assert kinds == [
        Kind.INTEGER, Kind.TEXT, Kind.INTEGER, Kind.REAL, Kind.DATE, Kind.BOOLEAN, Kind.TEXT,
        Kind.OTHER,
    ]  # fmt: skip
    assert [c.nullable for c in t.columns] == [False, False, True, True, True, False, True, True]
    assert t.key == ("id",)


def test_records_are_typed_frozen_structs_named_from_the_columns(
    target: str, rows: list[dict[str, Any]]
) -> None:
    with table(target, ODD) as h:
        found = list(h.stream({}))
        record = type(found[0])
    assert found == records(record, ODD_COLUMNS, rows)
    assert record.__struct_fields__ == (
        "id", "first_name", "select", "weight_kg", "born_on", "is_active", "quote_d", "photo",
    )  # fmt: skip
    assert record.__struct_config__.frozen
    first = found[0]
    assert isinstance(first.born_on, datetime.date | None)
    assert type(first.is_active) is bool
    encoded = msgspec.json.decode(msgspec.json.encode(first))
    # The catalog's names, over HTTP too; msgspec cannot encode under a name with a quote.
    assert list(encoded) == [c if '"' not in c else "quote_d" for c in ODD_COLUMNS]


def test_records_pickle_for_ray(target: str) -> None:
    with table(target, ODD) as h:
        first, second = h.stream({"$limit": 2})
    again = pickle.loads(pickle.dumps([first, second]))
    assert again == [first, second]
    assert type(again[0]) is type(first)


def test_the_demo_person_pickles_by_reference() -> None:
    from nanoservices.services.people import Person, generate_people

    person = next(generate_people(1))
    assert pickle.loads(pickle.dumps(person)) == person
    assert type(pickle.loads(pickle.dumps(person))) is Person


def test_a_postgres_schema_can_be_named(target: str) -> None:
    if dialect_of(target) is SQLITE:
        pytest.skip("SQLite has no schemas")
    with table(target, "people", schema="public") as h:
        assert len(list(h.stream({}))) == len(TALK_ROWS)
    with pytest.raises(ServiceStartError, match="no table or view 'people' in schema 'nope'"):
        table(target, "people", schema="nope")


def test_nulls_are_asked_for_with_none(target: str, rows: list[dict[str, Any]]) -> None:
    with table(target, ODD) as h:
        unborn = [r.id for r in h.stream({"born on": None})]
        born = [r.id for r in h.stream({"born on": {"!=": None}})]
        heavy_first = [r.weight_kg for r in h.stream({"$order": "-weight kg", "$limit": 3})]
        nulls_first = [r.weight_kg for r in h.stream({"$order": "weight kg", "$limit": 1})]
    assert unborn == [row["id"] for row in rows if row["born on"] is None]
    assert born == [row["id"] for row in rows if row["born on"] is not None]
    assert unborn
    assert born
    assert heavy_first == sorted((r["weight kg"] for r in rows if r["weight kg"]), reverse=True)[:3]
    assert nulls_first == [None]  # NULL sorts first ascending on both backends


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        ({"is active": {"<": True}}, "operator '<' does not fit column 'is active' (boolean); "
         "boolean columns take =, !=, in, not in"),
        ({"select": {"like": "1%"}}, "operator 'like' does not fit column 'select' (integer)"),
        ({"photo": "x"}, "column 'photo' has type"),
        ({"$order": "photo"}, "column 'photo' has type"),
        ({"select": 1.5}, "column 'select' takes an int, got 1.5"),
        ({"weight kg": float("nan")}, "takes a finite number"),
        ({"weight kg": "80"}, "column 'weight kg' takes a number"),
        ({"is active": 1}, "column 'is active' takes True or False, got 1"),
        ({"first name": None}, "column 'first name' is never NULL"),
        ({"born on": {"<": None}}, "None (NULL) works with '=' and '!=' only"),
        ({"born on": {"in": [None]}}, "takes no None"),
        ({'"first name"': "x"}, "unknown column '\"first name\"'"),
        ({"first_name": "x"}, "unknown column 'first_name'; table 'my \"odd\" table' has columns "
         "'id' (integer), 'first name' (text), 'select' (integer, nullable)"),
    ],
)  # fmt: skip
def test_what_does_not_fit_the_column_is_refused(
    odd: Backend, request_: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_query(request_, odd.table, "table")
    assert caught.value.service == "table"
    assert reason in caught.value.reason


def test_a_bad_query_fails_its_stream_and_the_service_lives_on(target: str) -> None:
    with table(target, ODD) as h:
        with pytest.raises(InvalidRequestError, match=r"service 'table': .*'photo' has type"):
            list(h.stream({"photo": b"\x00"}))
        assert h.state is State.READY
        assert [r.id for r in h.stream({"id": {"in": [3, 1]}})] == [1, 3]


def test_a_view_is_served_and_ordered_by_all_its_columns(
    target: str, view: Backend, rows: list[dict[str, Any]]
) -> None:
    assert [c.name for c in view.table.columns] == list(VIEW_COLUMNS)
    assert view.table.key == VIEW_COLUMNS  # no primary key: every column breaks ties
    with table(target, VIEW) as h:
        found = list(h.stream({}))
    expected = model(
        parse_query({}, view.table), records(view.table.record, VIEW_COLUMNS, view_rows(rows))
    )
    assert found == expected
    assert len(found) == len(view_rows(rows))


# -- refused at start -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nope", "no table or view 'nope'"),
        ("blobs", "table 'blobs' has no column a query can use ('data' ("),
    ],
)
def test_a_table_it_cannot_serve_fails_at_start_naming_it(
    target: str, name: str, message: str
) -> None:
    with pytest.raises(ServiceStartError) as caught:
        table(target, name)
    assert caught.value.service == "table"
    assert isinstance(caught.value.__cause__, TableError)
    assert message in str(caught.value)


def test_a_view_of_untyped_expressions_fails_at_start_on_sqlite(target: str) -> None:
    if dialect_of(target) is POSTGRES:
        pytest.skip("PostgreSQL types every view column")
    with pytest.raises(ServiceStartError, match="'computed' has no column a query can use"):
        table(target, "computed")


def test_people_fails_at_start_where_there_is_no_people_table(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "empty.sqlite3"
    sqlite3.connect(path).close()
    with pytest.raises(ServiceStartError, match="no table or view 'people'") as caught:
        people(path)
    assert caught.value.service == "people"


def test_a_missing_database_is_still_unavailable_not_a_table_error(tmp_path: Path) -> None:
    with pytest.raises(ServiceStartError) as caught:
        table(tmp_path / "nope.sqlite3", ODD)
    assert isinstance(caught.value.__cause__, DatabaseUnavailableError)


# -- Hypothesis: the model, and the injection corpus --------------------------------------


@given(data=st.data())
@FAST
def test_odd_table_answers_match_the_model(
    data: st.DataObject, odd: Backend, rows: list[dict[str, Any]]
) -> None:
    request_ = data.draw(valid_queries(odd.table, samples(rows), max_offset=500))
    query = parse_query(request_, odd.table)
    everybody = records(odd.table.record, ODD_COLUMNS, rows)
    assert list(odd.rows(query)) == model(query, everybody)


@given(data=st.data())
@FAST
def test_view_answers_match_the_model(
    data: st.DataObject, view: Backend, rows: list[dict[str, Any]]
) -> None:
    shown = view_rows(rows)
    request_ = data.draw(valid_queries(view.table, samples(shown), max_offset=300))
    query = parse_query(request_, view.table)
    assert list(view.rows(query)) == model(query, records(view.table.record, VIEW_COLUMNS, shown))


@given(data=st.data())
@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_input_is_refused_or_runs_whitelisted_sql(
    data: st.DataObject, odd: Backend, view: Backend, rows: list[dict[str, Any]], target: str
) -> None:
    backend = data.draw(st.sampled_from([odd, view]))
    request_ = data.draw(hostile_queries(backend.table, samples(rows)))
    try:
        query = parse_query(request_, backend.table)
    except InvalidRequestError:
        return
    dialect = dialect_of(target)
    assert_whitelisted(*build_sql(query, dialect), dialect.placeholder, backend.table)
    for _ in backend.rows(query):  # sqlite3.Error, psycopg.errors.SyntaxError... fail the test
        pass


def test_hostile_inputs_left_the_tables_whole(target: str, rows: list[dict[str, Any]]) -> None:
    # Runs after the Hypothesis tests above (pytest keeps file order).
    with table(target, ODD) as h:
        assert [r.id for r in h.stream({})] == [row["id"] for row in rows]
    with people(target) as h:
        assert len(list(h.stream({}))) == len(TALK_ROWS)
