"""The people query language: what it accepts, what it refuses, the SQL it builds,
and (with Hypothesis) that no key or value ever reaches SQL text."""

from __future__ import annotations

import contextlib
import datetime
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from people_model import assert_whitelisted, hostile_queries, model, valid_queries

from nanoservices import InvalidRequestError
from nanoservices.services.people import (
    Person,
    Query,
    build_sql,
    create_demo_database,
    generate_people,
    parse_query,
)
from nanoservices.services.people._query import POSTGRES, SQLITE
from nanoservices.services.people._sqlite import SQLiteBackend

COUNT, SEED = 2000, 7


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("people") / "people.sqlite3"
    create_demo_database(path, count=COUNT, seed=SEED)
    return path


@pytest.fixture(scope="module")
def backend(db_path: Path) -> Iterator[SQLiteBackend]:
    backend = SQLiteBackend(db_path)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def everybody() -> list[Person]:
    return list(generate_people(COUNT, SEED))


def parsed_or_none(request: object) -> Query | None:
    """The parsed query, or None when refused (always in the people service's name)."""
    try:
        return parse_query(request)
    except InvalidRequestError as refused:
        service = refused.service
    assert service == "people"
    return None


def refusal(request: object) -> str:
    with pytest.raises(InvalidRequestError) as caught:
        parse_query(request)
    assert caught.value.service == "people"
    assert caught.value.request is request
    return caught.value.reason


# -- what it builds -------------------------------------------------------------


def test_talk_example_builds_one_parameterized_equality() -> None:
    sql, params = build_sql(parse_query({"last_name": "Lerner"}), SQLITE)
    assert sql == (
        'SELECT "id", "first_name", "last_name", "birth_date", "city", "email" FROM "people" '
        'WHERE "last_name" = ? ORDER BY "id" ASC'
    )
    assert params == ("Lerner",)


def test_fields_and_operators_are_anded_with_order_limit_offset() -> None:
    query = parse_query(
        {
            "birth_date": {">=": "1990-01-01", "<": datetime.date(2000, 1, 1)},
            "last_name": {"in": ["Lerner", "Cohen", "Lerner"]},
            "$order": ["last_name", "-birth_date"],
            "$limit": 10,
            "$offset": 5,
        }
    )
    sql, params = build_sql(query, POSTGRES)
    assert sql.endswith(
        'WHERE "birth_date" >= %s AND "birth_date" < %s AND "last_name" IN (%s, %s) '
        'ORDER BY "last_name" ASC, "birth_date" DESC, "id" ASC LIMIT %s OFFSET %s'
    )
    assert params == (
        datetime.date(1990, 1, 1),
        datetime.date(2000, 1, 1),
        "Lerner",
        "Cohen",
        10,
        5,
    )


def test_sqlite_gets_iso_dates_and_a_limit_before_any_offset() -> None:
    sql, params = build_sql(parse_query({"birth_date": "1990-01-01", "$offset": 3}), SQLITE)
    assert sql.endswith('WHERE "birth_date" = ? ORDER BY "id" ASC LIMIT ? OFFSET ?')
    assert params == ("1990-01-01", -1, 3)


def test_startswith_escapes_like_wildcards() -> None:
    sql, params = build_sql(parse_query({"email": {"startswith": "a_b%c\\"}}), SQLITE)
    assert '"email" LIKE ? ESCAPE ?' in sql
    assert params == ("a\\_b\\%c\\\\%", "\\")


def test_empty_in_matches_nobody_and_empty_not_in_everybody() -> None:
    sql, _ = build_sql(parse_query({"city": {"in": []}}), SQLITE)
    assert "WHERE FALSE" in sql
    sql, _ = build_sql(parse_query({"city": {"not in": ()}}), SQLITE)
    assert "WHERE" not in sql


def test_id_in_order_is_not_repeated() -> None:
    sql, _ = build_sql(parse_query({"$order": "-id"}), SQLITE)
    assert sql.endswith('ORDER BY "id" DESC')


# -- what it refuses ------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (["last_name", "Lerner"], "a query is a dict"),
        ("last_name = 'Lerner'", "a query is a dict"),
        (
            {"lastname": "Lerner"},
            "unknown column 'lastname'; table 'people' has columns 'id' (integer), "
            "'first_name' (text)",
        ),
        ({"last_name; DROP TABLE people": "x"}, "unknown column"),
        ({1: "x"}, "query keys are strings"),
        ({"$where": "1=1"}, "unknown option '$where'"),
        ({"last_name": {"~": "x"}}, "unknown operator '~' for column 'last_name'"),
        ({"last_name": {"= ''; --": "x"}}, "unknown operator"),
        ({"last_name": {}}, "no operator given for column 'last_name'"),
        ({"last_name": 3}, "column 'last_name' takes a str, got 3"),
        ({"last_name": None}, "column 'last_name' is never NULL"),
        ({"id": "3"}, "column 'id' takes an int"),
        ({"id": True}, "column 'id' takes an int"),
        ({"id": 2**63}, "out of the 64-bit range"),
        ({"birth_date": "yesterday"}, "ISO date string"),
        ({"birth_date": datetime.datetime(2000, 1, 1)}, "not a datetime"),
        ({"city": "a\0b"}, "NUL characters are not allowed"),
        ({"city": "\ud800"}, "lone surrogate"),
        ({"city": "x" * 1001}, "longer than 1000 characters"),
        ({"city": {"in": "Haifa"}}, "takes a list of values"),
        ({"city": {"in": ["Haifa", 3]}}, "takes a str, got 3"),
        ({"city": {"in": ["x"] * 1001}}, "at most 1000 values"),
        ({"id": {"like": "1%"}}, "operator 'like' does not fit column 'id' (integer)"),
        ({"city": {"like": "Hai\\"}}, "ends with a lone"),
        ({"$order": "age"}, "$order: unknown column 'age'"),
        ({"$order": ["city", "-city"]}, "given twice"),
        ({"$order": {"city": 1}}, "$order takes a column name or a list"),
        ({"$limit": -1}, "$limit takes a non-negative int"),
        ({"$limit": "10"}, "$limit takes a non-negative int"),
        ({"$offset": 1.5}, "$offset takes a non-negative int"),
    ],
)
def test_refuses_with_a_reason(request_: object, reason: str) -> None:
    assert reason in refusal(request_)


def test_refusal_message_names_the_service_and_the_problem() -> None:
    with pytest.raises(InvalidRequestError, match=r"service 'people': .*unknown column 'age'"):
        parse_query({"age": 3})


def test_refusal_is_a_type_error_for_callers_catching_builtins() -> None:
    with pytest.raises(TypeError) as caught:
        parse_query({"age": 3})
    # a TypeError, and the refusal itself (not a bug's bare TypeError from inside)
    assert isinstance(caught.value, InvalidRequestError)
    assert caught.value.service == "people"


# -- Hypothesis: nothing reaches SQL text, nothing breaks SQLite -------------------


@given(request_=hostile_queries())
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_input_is_refused_or_builds_whitelisted_sql(request_: Any) -> None:
    query = parsed_or_none(request_)
    if query is None:
        return
    for dialect in (SQLITE, POSTGRES):
        sql, params = build_sql(query, dialect)
        assert_whitelisted(sql, params, dialect.placeholder)


@given(request_=hostile_queries())
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_input_runs_on_sqlite_without_sql_errors(
    request_: Any, backend: SQLiteBackend, db_path: Path
) -> None:
    query = parsed_or_none(request_)
    if query is None:
        return
    for _ in backend.rows(query):  # sqlite3.Error (syntax, misuse) would fail the test
        pass


def test_hostile_inputs_left_the_table_whole(db_path: Path) -> None:
    # Runs after the Hypothesis tests in this module (pytest keeps file order).
    with contextlib.closing(sqlite3.connect(db_path)) as connection:
        (count,) = connection.execute("SELECT count(*) FROM people").fetchone()
    assert count == COUNT


@given(request_=valid_queries())
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_sqlite_answers_match_the_model(
    request_: dict[str, Any], backend: SQLiteBackend, everybody: list[Person]
) -> None:
    query = parse_query(request_)
    assert list(backend.rows(query)) == model(query, everybody)


def test_package_all_is_honest() -> None:
    import nanoservices.services.people as package

    for name in package.__all__:
        value = getattr(package, name)
        if callable(value):  # classes and functions report the package, not _modules
            assert value.__module__ == package.__name__, name
    assert package.people.name == "people"
