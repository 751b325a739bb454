"""Routers hosted in handles: the talk's menu, keyed routing, nesting, failure paths."""

from __future__ import annotations

import functools
from collections.abc import Generator
from typing import Any

import pytest

from nanoservices import (
    InvalidRequestError,
    OnFailure,
    RoutingError,
    ServiceFailedError,
    State,
    service,
    streamed,
)
from nanoservices.compose import Routed, Router, menu, route_of, router
from nanoservices.examples.talk import DifferentCity, forecasts, md5_service, times_five

DAYS = {"city": {"forecast": {"forecastDay": ["mon", "tue", "wed"]}}}
weather = functools.partial(forecasts, lambda city: DAYS)


def fails_on(bad: object) -> Generator[Any, Any, None]:
    reply = None
    while True:
        request = yield reply
        if request == bad:
            raise ValueError(f"bad {request!r}")
        reply = request


# -- the menu ------------------------------------------------------------------------


def test_menu_greets_with_its_prompt_and_serves_the_chosen_sub_service() -> None:
    h = menu({1: weather, 2: md5_service}, prompt="1 or 2?", raw=True, reset_with=DifferentCity)()
    assert h.greeting == "1 or 2?"
    assert h(2) is None
    assert h("abc") == "900150983cd24fb0d6963f7d28e17f72"
    assert h("") == "1 or 2?"  # md5_service ended: back at the menu


def test_menu_streams_through_a_raw_sub_service_and_resets_it() -> None:
    h = menu({1: weather}, prompt="?", raw=True, reset_with=DifferentCity)()
    h(1)
    assert list(h.stream(44)) == ["mon", "tue", "wed"]
    with h.stream(44) as days:
        assert next(days) == "mon"
    assert h.state is State.READY
    assert list(h.stream(44)) == ["mon", "tue", "wed"]


def test_menu_answers_an_unknown_choice_with_its_prompt() -> None:
    h = menu({1: times_five}, prompt="?", raw=True)()
    assert h(7) == "?"
    assert h([1]) == "?"  # unhashable is unknown too


def test_falsy_request_at_the_menu_ends_it() -> None:
    h = menu({1: times_five}, prompt="?", raw=True)()
    assert h(None) is None
    assert h.state is State.CLOSED


def test_menu_refuses_falsy_choices() -> None:
    with pytest.raises(ValueError, match="truthy"):
        menu({0: times_five})


def test_menu_on_return_turns_the_result_into_the_reply() -> None:
    def adder() -> Generator[int, int, int]:
        total = 0
        while n := (yield total):
            total += n
        return total

    h = menu({"add": adder}, on_return=lambda choice, total: f"{choice}={total}", raw=True)()
    h("add")
    h(2)
    h(3)
    assert h(0) == "add=5"


def test_menus_nest_and_a_failure_names_the_whole_path() -> None:
    inner = menu({"f": functools.partial(fails_on, 13)}, name="inner", prompt="inner?")
    outer = menu({"in": inner}, name="outer", prompt="outer?", raw=True)()
    assert outer("in") == "inner?"
    outer("f")
    with pytest.raises(ServiceFailedError) as info:
        outer(13)
    assert route_of(info.value) == ("outer", "inner", "fails_on")
    assert "nanoservices route: outer > inner > fails_on" in info.value.__cause__.__notes__  # type: ignore[union-attr]


# -- the keyed router -------------------------------------------------------------------


def test_router_keeps_each_sub_service_state_apart() -> None:
    @service
    def counter() -> Generator[int, Any, None]:
        n = 0
        while True:
            yield n
            n += 1

    h = router({"a": counter, "b": counter})()
    assert [h(("a", 1)), h(("a", 1)), h(("b", 1)), h(Routed("a", 1))] == [1, 2, 1, 3]


def test_router_refuses_unroutable_requests_before_running() -> None:
    h = router({"x5": times_five})()
    h(("x5", 2))
    for bad in (("nope", 1), "x5", (1, 2, 3), ([], 1)):
        with pytest.raises(InvalidRequestError):
            h(bad)
    assert h(("x5", 3)) == 15  # untouched


def test_router_checks_payloads_of_nested_routers_and_typed_services() -> None:
    @service
    def double() -> Generator[int | None, int, None]:
        reply = None
        while True:
            reply = 2 * (yield reply)

    inner = router({"double": double}, name="inner")
    h = router({"in": inner})()
    assert h(("in", ("double", 4))) == 8
    with pytest.raises(InvalidRequestError, match="'in'"):
        h(("in", ("double", "four")))
    with pytest.raises(InvalidRequestError):
        h(("in", ("triple", 4)))


def test_router_without_its_check_raises_routing_error_inside() -> None:
    h = service(Router({"x5": times_five}))()
    with pytest.raises(ServiceFailedError) as info:
        h(("nope", 1))
    assert isinstance(info.value.__cause__, RoutingError)


def test_router_answers_with_the_return_value_and_restarts_the_sub_service() -> None:
    h = router({"md5": md5_service}, raw=True)()
    assert h(("md5", "a")) == "0cc175b9c0f1b6a831c399e269772661"
    assert h(("md5", "")) is None  # md5_service returned
    assert h(("md5", "a")) == "0cc175b9c0f1b6a831c399e269772661"


def test_router_streams_a_native_sub_service() -> None:
    def rows() -> Generator[Any, Any, None]:
        request = yield None
        while True:
            request = yield streamed(range(request))

    h = router({"rows": rows})()
    assert list(h.stream(("rows", 3))) == [0, 1, 2]


def test_router_streams_and_resets_a_raw_sub_service() -> None:
    h = router({"w": weather}, raw=True, reset_with=DifferentCity)()
    with h.stream(("w", 44)) as days:
        assert next(days) == "mon"
    assert list(h.stream(("w", 44))) == ["mon", "tue", "wed"]


def test_closing_the_router_closes_every_sub_service_newest_first() -> None:
    log: list[str] = []

    def guarded(tag: str) -> Generator[None, Any, None]:
        try:
            while True:
                yield
        finally:
            log.append(tag)

    routes = {t: functools.partial(guarded, t) for t in "abc"}
    h = router(routes)()
    for key in ("b", "a", "c"):
        h((key, 1))
    h.close()
    assert log == ["c", "a", "b"]


def test_failure_in_a_sub_service_kills_the_router_and_a_policy_restarts_it() -> None:
    inner = router({"f": functools.partial(fails_on, 13)}, name="inner")
    h = router({"in": inner}, name="outer", restart=OnFailure(1))()
    assert h(("in", ("f", 1))) == 1
    with pytest.raises(ServiceFailedError) as info:
        h(("in", ("f", 13)))
    assert info.value.restarted
    assert route_of(info.value) == ("outer", "inner", "fails_on")
    assert h(("in", ("f", 2))) == 2


def test_none_request_continues_the_sub_service_that_served_last() -> None:
    h = router({"it": lambda: iter("xyz")})()
    assert h(None) is None  # nothing served yet
    assert [h(("it", None)), h(None), h(None)] == ["x", "y", "z"]


# -- issue 11: closing with a raising sub-service, finished one-shot routes ------------


class _Unclosable:
    """An iterator whose ``close`` lookup itself raises (a broken proxy, say)."""

    def __iter__(self) -> _Unclosable:
        return self

    def __next__(self) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        raise ValueError(f"lookup of {name} failed")


def test_router_close_closes_every_sub_service_even_when_a_close_lookup_raises() -> None:
    log: list[str] = []

    def guarded(tag: str) -> Generator[None, Any, None]:
        try:
            while True:
                yield
        finally:
            log.append(tag)

    a, c = functools.partial(guarded, "a"), functools.partial(guarded, "c")
    gen = Router({"a": a, "b": _Unclosable, "c": c})()
    next(gen)
    for key in ("a", "b", "c"):
        gen.send((key, None))
    with pytest.raises(ValueError, match="lookup of close failed") as info:
        gen.close()
    assert log == ["c", "a"]  # the ones after and before the broken one: all closed
    assert route_of(info.value) == ("router", "_Unclosable")


def test_router_close_raises_the_first_error_once_all_are_closed() -> None:
    log: list[str] = []

    def bad_finally(tag: str) -> Generator[None, Any, None]:
        try:
            while True:
                yield
        finally:
            log.append(tag)
            raise OSError(f"disk full in {tag}")

    gen = Router({t: functools.partial(bad_finally, t) for t in "ab"})()
    next(gen)
    gen.send(("a", None))
    gen.send(("b", None))
    with pytest.raises(OSError, match="disk full in b"):
        gen.close()
    assert log == ["b", "a"]


def counter() -> Generator[int, Any, str]:
    total = 0
    while True:
        step = yield total
        if step == "stop":
            return f"done at {total}"
        total += step


def test_a_finished_one_shot_route_says_so_instead_of_answering_none() -> None:
    h = router({"once": counter(), "fresh": counter})()
    assert h(("once", 1)) == 1
    assert h(("once", "stop")) == "done at 1"  # its return value answers
    with pytest.raises(ServiceFailedError) as info:
        h(("once", 5))
    cause = info.value.__cause__
    assert isinstance(cause, RoutingError)
    assert "'once'" in str(cause)
    assert "finished" in str(cause)


def test_a_finished_one_shot_route_stays_finished_after_the_router_restarts() -> None:
    h = router({"once": counter(), "fresh": counter}, restart=OnFailure(2))()
    assert h(("once", "stop")) == "done at 0"
    with pytest.raises(ServiceFailedError) as info:
        h(("once", 1))
    assert info.value.restarted
    assert h(("fresh", 2)) == 2  # the other routes serve on
    with pytest.raises(ServiceFailedError, match="finished"):
        h(("once", 1))


def test_a_one_shot_route_that_never_ran_serves_normally() -> None:
    h = router({"once": counter()})()
    assert h(("once", 4)) == 4
    assert h(("once", 3)) == 7


def test_a_callable_route_restarts_after_returning() -> None:
    h = router({"c": counter})()
    assert h(("c", 2)) == 2
    assert h(("c", "stop")) == "done at 2"
    assert h(("c", 5)) == 5  # a fresh sub-service, not None


def test_a_menu_refuses_to_reenter_a_finished_one_shot_route() -> None:
    def until_falsy() -> Generator[Any, Any, str]:
        while (yield "in"):
            pass
        return "out"

    h = menu({"x": until_falsy()}, prompt="?")()
    assert h("x") == "in"
    assert h(0) == "?"  # the sub-service returned: back at the menu
    with pytest.raises(ServiceFailedError) as info:
        h("x")
    assert isinstance(info.value.__cause__, RoutingError)
    assert "'x'" in str(info.value.__cause__)


def test_an_unhashable_key_without_the_check_is_a_routing_error() -> None:
    h = router({"c": counter}, validate=False)()
    with pytest.raises(ServiceFailedError) as info:
        h((["c"], 1))
    assert isinstance(info.value.__cause__, RoutingError)


def test_a_plain_iterator_route_takes_none_payloads_only() -> None:
    h = router({"it": lambda: iter("xy")})()
    assert h(("it", None)) == "x"
    with pytest.raises(ServiceFailedError) as info:
        h(("it", 1))  # PEP 380: send() on an iterator without one
    assert isinstance(info.value.__cause__, AttributeError)
