"""Every example of the talk (shared/talk/examples.md), as behaviours.

The generators are the talk's, unchanged (``nanoservices.examples.talk``), hosted
by the same handle as native services through ``nanoservices.raw``.
"""

from __future__ import annotations

import dis
import hashlib
import inspect
import sqlite3
from typing import Any

import pytest

import nanoservices as ns
from nanoservices import recipes
from nanoservices.examples.talk import (
    DifferentCity,
    combined,
    forecasts,
    md5_service,
    people_api,
    times_five,
)

DAYS = {
    44: [{"forecastDate": "2020-09-08", "weather": "Sunny"}, {"forecastDate": "2020-09-09"}],
    252: [{"forecastDate": "d1"}, {"forecastDate": "d2"}, {"forecastDate": "d3"}],
}


class FakeFetch:
    """The WMO site in a dict: counts requests to prove one fetch per city."""

    def __init__(self) -> None:
        self.requests: list[Any] = []

    def __call__(self, city_id: Any) -> dict[str, Any]:
        self.requests.append(city_id)
        return {"city": {"forecast": {"forecastDay": DAYS[city_id]}}}


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


# -- 1. generator basics ------------------------------------------------------


def test_a_function_with_yield_is_a_generator_function() -> None:
    assert inspect.CO_GENERATOR & recipes.fib.__code__.co_flags
    assert "GENERATOR" in dis.code_info(recipes.fib)
    g = recipes.fib()
    assert iter(g) is g
    assert [next(g) for _ in range(7)] == [0, 1, 1, 2, 3, 5, 8]


# -- 2. next vs send --------------------------------------------------------------


def test_times_five_raw_as_in_the_talk() -> None:
    g = times_five()
    next(g)
    assert g.send(10) == 50
    assert g.send(23) == 115
    assert g.send("abc") == "abcabcabcabcabc"
    with pytest.raises(StopIteration):
        g.send(None)


def test_times_five_hosted_unchanged() -> None:
    h = ns.raw(times_five)()
    assert h(10) == 50
    assert h(23) == 115
    assert h("abc") == "abcabcabcabcabc"
    assert h(None) is None  # the talk's falsy request ends the service...
    assert h.state is ns.State.CLOSED  # ...and the handle says so
    with pytest.raises(ns.ServiceClosedError):
        h(1)


def test_coroutine_decorator_primes() -> None:
    primed = ns.core.coroutine(times_five)
    g = primed()
    assert g.send(3) == 15


# -- 3. nanoservices --------------------------------------------------------------


def test_md5_service_hosted_unchanged() -> None:
    h = ns.raw(md5_service)()
    assert h("hello") == md5("hello")
    assert h("world") == md5("world")
    h("")
    assert h.state is ns.State.CLOSED


def test_forecasts_hands_out_one_day_per_step_then_waits() -> None:
    fetch = FakeFetch()
    h = ns.raw(forecasts, reset_with=DifferentCity)(fetch)
    assert list(h.stream(44)) == DAYS[44]
    assert h.state is ns.State.READY
    assert list(h.stream(252)) == DAYS[252]
    assert fetch.requests == [44, 252]  # one request per city


def test_forecasts_step_by_step_with_call_like_the_talk() -> None:
    h = ns.raw(forecasts, reset_with=DifferentCity)(FakeFetch())
    assert h(44) == DAYS[44][0]
    assert h(None) == DAYS[44][1]  # the value sent mid-stream is ignored
    assert h(None) is None  # days ran out: back at the top, waiting for a city
    assert h(252) == DAYS[252][0]


def test_different_city_mid_stream_by_throw() -> None:
    h = ns.raw(forecasts, reset_with=DifferentCity)(FakeFetch())
    assert h(252) == DAYS[252][0]
    assert h.throw(DifferentCity) is None  # abandoned: asking for a city again
    assert h(44) == DAYS[44][0]


def test_leaving_a_raw_stream_early_throws_the_reset_exception() -> None:
    fetch = FakeFetch()
    h = ns.raw(forecasts, reset_with=DifferentCity)(fetch)
    for day in h.stream(252):
        assert day == DAYS[252][0]
        break
    assert h.state is ns.State.READY
    assert list(h.stream(44)) == DAYS[44]
    assert h.supervision.restarts == 0  # reset by its own exception, no restart


def test_raw_stream_without_reset_exception_restarts_from_the_factory() -> None:
    h = ns.raw(forecasts)(FakeFetch())
    items = h.stream(252)
    next(items)
    items.cancel()
    assert h.state is ns.State.READY
    assert list(h.stream(44)) == DAYS[44]


def _people_db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE people (first_name TEXT, last_name TEXT, birthdate TEXT)")
    conn.executemany(
        "INSERT INTO people VALUES (?, ?, ?)",
        [
            ("Reuven", "Lerner", "1970-01-01"),
            ("Shikma", "Lerner", "2000-02-02"),
            ("Guido", "van Rossum", "1956-01-31"),
        ],
    )
    return conn


def test_people_api_streams_matching_rows_and_releases_the_connection() -> None:
    conns: list[Any] = []

    class Tracked:
        def __init__(self) -> None:
            self.conn = _people_db()
            self.closed = False
            conns.append(self)

        def cursor(self) -> sqlite3.Cursor:
            return self.conn.cursor()

        def close(self) -> None:
            self.closed = True
            self.conn.close()

    with ns.raw(people_api)(Tracked) as h:
        rows = list(h.stream({"last_name": "Lerner"}))
        assert [r[0] for r in rows] == ["Reuven", "Shikma"]
        assert list(h.stream({"first_name": "Guido"})) == [("Guido", "van Rossum", "1956-01-31")]
        assert not conns[0].closed
    assert conns[0].closed  # close ran the finally block


def test_people_api_values_never_become_sql() -> None:
    with ns.raw(people_api)(_people_db) as h:
        assert list(h.stream({"last_name": "x' OR '1'='1"})) == []
        assert len(list(h.stream({"last_name": "Lerner"}))) == 2


def test_close_runs_the_finally_blocks() -> None:
    ran: list[str] = []

    def service() -> Any:
        try:
            while (yield) is not None:
                pass
        finally:
            ran.append("finally")

    h = ns.raw(service)()
    h.close()
    assert ran == ["finally"]


# -- 4. yield from -------------------------------------------------------------------


def test_combined_menu_service_hosted_unchanged() -> None:
    fetch = FakeFetch()
    h = ns.raw(combined, reset_with=DifferentCity)(fetch)
    assert h.greeting == "Send 1 for weather, 2 for md5, or None to exit"
    assert h(1) is None  # weather chosen: forecasts is primed and waiting for a city
    assert list(h.stream(44)) == DAYS[44]
    assert h(None) == h.greeting  # forecasts ended: control is back at the menu
    assert h(2) is None  # md5 chosen
    assert h("hello") == md5("hello")
    assert h(None) == h.greeting
    assert h(None) is None
    assert h.state is ns.State.CLOSED


def test_throw_passes_through_yield_from_to_the_sub_service() -> None:
    h = ns.raw(combined, reset_with=DifferentCity)(FakeFetch())
    h(1)
    assert h(252) == DAYS[252][0]
    assert h.throw(DifferentCity) is None  # caught by forecasts, inside the menu
    assert h(44) == DAYS[44][0]
