"""Refusing one request from inside a service, which keeps serving."""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

import nanoservices as ns

CITIES = {"tel aviv": 44, "tokyo": 183}


@ns.service
def city_ids() -> Generator[int, str, None]:
    reply = ns.NO_REPLY
    lookups = 0
    while True:
        name = yield reply
        lookups += 1
        city = CITIES.get(name.lower())
        reply = ns.refuse(f"unknown city {name!r}") if city is None else city * 1000 + lookups


def test_a_refused_plain_request_is_an_invalid_request_and_the_service_lives_on() -> None:
    h = city_ids()
    assert h("Tokyo") == 183001
    with pytest.raises(ns.InvalidRequestError, match="unknown city 'Atlantis'") as caught:
        h("Atlantis")
    assert caught.value.service == "city_ids"
    assert caught.value.request == "Atlantis"
    assert h.state is ns.State.READY
    assert h("tel aviv") == 44003  # state kept: the refused lookup was counted


def test_refusing_is_detected_from_the_code_and_costs_nothing_elsewhere() -> None:
    assert city_ids.spec.refuses
    from nanoservices.examples import basics

    assert not basics.echo.spec.refuses
    h = basics.echo()
    assert h._sink is h.generator  # the bare generator: nothing on the hot path


def test_refusal_can_be_declared_when_it_is_not_visible() -> None:
    def helper(name: str) -> object:
        return ns.core.Refusal(f"no {name}")

    @ns.service(refuses=True)
    def indirect() -> Generator[object, str, None]:
        reply = ns.NO_REPLY
        while True:
            reply = helper((yield reply))

    with pytest.raises(ns.InvalidRequestError, match="no x"):
        indirect()("x")


def test_a_stream_can_be_refused_up_front() -> None:
    @ns.service
    def rows() -> Generator[ns.Stream[int], int, None]:
        n = yield ns.NO_REPLY
        while True:
            n = yield (ns.refuse("negative count") if n < 0 else ns.streamed(range(n)))

    h = rows()
    with pytest.raises(ns.InvalidRequestError, match="negative count"):
        h.stream(-1)
    assert h.state is ns.State.READY
    assert list(h.stream(2)) == [0, 1]


def test_invalid_request_raised_inside_a_stream_names_this_handle() -> None:
    def items(n: int) -> Iterator[int]:
        if n > 3:
            raise ns.InvalidRequestError("anyone", n, "at most 3 items")
        yield from range(n)

    @ns.service
    def limited() -> Generator[ns.Stream[int], int, None]:
        n = yield ns.NO_REPLY
        while True:
            n = yield ns.streamed(items(n))

    h = limited.with_options(name="renamed")()
    with pytest.raises(ns.InvalidRequestError, match="at most 3") as caught:
        list(h.stream(9))
    assert caught.value.service == "renamed"
    assert list(h.stream(2)) == [0, 1]


def test_bool_is_not_an_int_unless_declared() -> None:
    @ns.service
    def numbers() -> Generator[int, int, None]:
        total = ns.NO_REPLY
        while True:
            total = (yield total) * 2

    h = numbers()
    with pytest.raises(ns.InvalidRequestError, match="expected int, got bool"):
        h(True)
    assert h(2) == 4
