"""The people service on a real PostgreSQL the suite starts itself (see pgcluster.py)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from people_model import hostile_queries, model, stream_and_list_peaks, valid_queries
from pgcluster import PostgresCluster, unique

from nanoservices import InvalidRequestError, State
from nanoservices.services.people import (
    DatabaseUnavailableError,
    Person,
    create_demo_database,
    generate_people,
    parse_query,
    people,
)

psycopg = pytest.importorskip("psycopg")
from nanoservices.services.people._postgres import PostgresBackend  # noqa: E402

pytestmark = pytest.mark.postgres

COUNT, SEED = 2000, 7


@pytest.fixture(scope="module")
def cluster(pg_cluster: PostgresCluster) -> PostgresCluster:
    """The run's cluster (one per test process: tests/conftest.py)."""
    return pg_cluster


@pytest.fixture(scope="module")
def dsn(cluster: PostgresCluster) -> str:
    dsn = cluster.create_database(unique("people"))
    create_demo_database(dsn, count=COUNT, seed=SEED)
    return dsn


@pytest.fixture(scope="module")
def everybody() -> list[Person]:
    return list(generate_people(COUNT, SEED))


@pytest.fixture
def backend(dsn: str) -> Iterator[PostgresBackend]:
    backend = PostgresBackend(dsn)
    yield backend
    backend.close()


def tagged(dsn: str) -> tuple[str, str]:
    """``dsn`` with a unique application_name, to find its session in pg_stat_activity."""
    name = f"people-test-{uuid.uuid4().hex[:8]}"
    return f"{dsn}?application_name={name}", name


def sessions(dsn: str, application_name: str) -> list[tuple[int, str]]:
    with psycopg.connect(dsn, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pid, state FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        ).fetchall()
    return [(int(pid), str(state)) for pid, state in rows]


def wait_for_no_sessions(dsn: str, application_name: str) -> list[tuple[int, str]]:
    deadline = time.monotonic() + 5
    while (found := sessions(dsn, application_name)) and time.monotonic() < deadline:
        time.sleep(0.05)  # the server notices a closed socket asynchronously
    return found


# -- answers ------------------------------------------------------------------------


def test_talk_example(dsn: str, everybody: list[Person]) -> None:
    with people(dsn) as h:
        found = list(h.stream({"last_name": "Lerner"}))
    assert found == [p for p in everybody if p.last_name == "Lerner"]
    assert found


@given(request_=valid_queries())
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_answers_match_the_model_and_so_sqlite(
    request_: dict[str, Any], backend: PostgresBackend, everybody: list[Person]
) -> None:
    query = parse_query(request_)
    assert list(backend.rows(query)) == model(query, everybody)


@given(request_=hostile_queries())
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_input_is_refused_or_runs_without_sql_errors(
    request_: Any, backend: PostgresBackend
) -> None:
    try:
        query = parse_query(request_)
    except InvalidRequestError:
        return
    for _ in backend.rows(query):  # psycopg.errors.SyntaxError etc. would fail the test
        pass


def test_hostile_inputs_left_the_table_whole(dsn: str) -> None:
    with psycopg.connect(dsn) as connection:
        assert connection.execute("SELECT count(*) FROM people").fetchone() == (COUNT,)


def test_bad_query_fails_its_stream_and_the_service_lives_on(dsn: str) -> None:
    with people(dsn) as h:
        with pytest.raises(InvalidRequestError, match="unknown column 'nope'"):
            list(h.stream({"nope": "'; DROP TABLE people; --"}))
        assert h.state is State.READY
        assert [p.id for p in h.stream({"id": {"in": [3, 1]}})] == [1, 3]


@pytest.mark.parametrize(
    "bad", [{"id": 10**4400}, {"id": {"<": -(10**4400)}}, {"id": 2**63}, {"$offset": 10**4400}]
)
def test_a_value_the_database_cannot_take_is_an_invalid_request(dsn: str, bad: object) -> None:
    with people(dsn) as h:
        with pytest.raises(InvalidRequestError) as caught:
            list(h.stream(bad))
        assert "digits" in str(caught.value) or "64-bit" in str(caught.value)
        assert h.state is State.READY
        assert [p.id for p in h.stream({"id": 1})] == [1]


def test_the_connection_is_read_only(backend: PostgresBackend) -> None:
    connection = backend.connection
    assert connection is not None
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        connection.execute("DELETE FROM people")
    connection.rollback()


# -- streaming ------------------------------------------------------------------------


def test_leaving_early_closes_cursor_and_transaction(dsn: str) -> None:
    target, name = tagged(dsn)
    with people(target) as h:
        for person in h.stream({}):
            if person.id == 5:
                assert sessions(dsn, name)[0][1] == "idle in transaction"  # cursor open
                break
        # The abandoned stream is cancelled when dropped: its finally closed the cursor.
        assert sessions(dsn, name)[0][1] == "idle"
        assert [p.id for p in h.stream({"$limit": 2})] == [1, 2]


def test_server_side_cursor_keeps_memory_flat(cluster: PostgresCluster) -> None:
    dsn = cluster.create_database(unique("people_big"))
    create_demo_database(dsn, count=30_000, seed=1)
    with people(dsn) as h:
        streamed, listed, stream_peak, list_peak = stream_and_list_peaks(h)
    assert streamed == listed == 30_000
    assert stream_peak < list_peak / 5  # one fetchmany batch, not the whole answer


# -- the connection's life -------------------------------------------------------------


def test_closing_the_handle_closes_the_connection(dsn: str) -> None:
    target, name = tagged(dsn)
    h = people(target)
    assert len(list(h.stream({"$limit": 1}))) == 1
    assert len(sessions(dsn, name)) == 1
    h.close()
    assert wait_for_no_sessions(dsn, name) == []


def test_restart_fails_one_request_clearly_then_reconnects(
    cluster: PostgresCluster, dsn: str
) -> None:
    target, name = tagged(dsn)
    with people(target) as h:
        assert len(list(h.stream({"$limit": 1}))) == 1
        [(before, _)] = sessions(dsn, name)
        cluster.restart()
        with pytest.raises(DatabaseUnavailableError, match="lost the connection to PostgreSQL"):
            list(h.stream({"$limit": 1}))
        assert h.state is State.READY
        assert len(list(h.stream({"$limit": 1}))) == 1
        [(after, _)] = sessions(dsn, name)
        assert after != before


def test_database_down_then_back(cluster: PostgresCluster, dsn: str) -> None:
    with people(dsn) as h:
        cluster.stop()
        try:
            with pytest.raises(DatabaseUnavailableError, match="lost the connection"):
                list(h.stream({}))
            with pytest.raises(DatabaseUnavailableError, match="cannot connect to PostgreSQL"):
                list(h.stream({}))
            assert h.state is State.READY
        finally:
            cluster.start()
        assert len(list(h.stream({"$limit": 3}))) == 3
