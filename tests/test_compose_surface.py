"""Composition reads like the rest of the library: one call gives a factory,
a routed request has its own spelling, menus and routers agree on their
defaults, pipelines take plain functions, and lambda routes have readable names."""

from __future__ import annotations

import inspect
from collections.abc import Generator

import pytest

from nanoservices import (
    InvalidRequestError,
    LocalHandle,
    ServiceFailedError,
    menu,
    pipeline,
    route,
    router,
    service,
)
from nanoservices.compose import Menu, Routed, Router, collect, keep, route_of, transform
from nanoservices.core import ServiceFactory
from nanoservices.examples.basics import counter, md5


def test_router_gives_a_factory_in_one_call() -> None:
    factory = router({"md5": md5, "count": counter})
    assert isinstance(factory, ServiceFactory)
    with factory() as h:
        assert isinstance(h, LocalHandle)
        assert h(route("count", 5)) == 5
        assert h(route("count", 2)) == 7


def test_a_routed_request_is_spelled_route_key_payload() -> None:
    assert route("add", 1) == Routed("add", 1) == ("add", 1)
    assert route("next") == Routed("next", None)
    with router({"count": counter})() as h:
        assert h.call(route("count", 3)) == 3
        with pytest.raises(InvalidRequestError, match="no route 'nope'"):
            h.call(route("nope", 1))
        assert h.call(route("count", 1)) == 4  # the typo was refused, nothing lost


def test_menu_gives_a_factory_in_one_call() -> None:
    @service
    def adder() -> Generator[int, int, int]:
        total = 0
        while request := (yield total):
            total += request
        return total

    factory = menu({"add": adder}, prompt="?")
    assert isinstance(factory, ServiceFactory)
    with factory() as h:
        assert h.greeting == "?"
        h("add")
        assert h(2) == 2
        assert h(0) == "?"  # the sub-service returned: back at the menu


def test_menu_and_router_agree_on_their_hosting_defaults() -> None:
    options = ("name", "raw", "reset_with", "restart")
    m, r = inspect.signature(menu).parameters, inspect.signature(router).parameters
    for option in options[1:]:
        assert m[option].default == r[option].default, option
    assert m["raw"].default is False  # both native, like @service
    ms = inspect.signature(Menu.service).parameters
    rs = inspect.signature(Router.service).parameters
    for option in options:
        assert ms[option].default == rs[option].default, option
    assert menu({"x": counter})().spec.protocol.name == "native"
    assert router({"x": counter})().spec.protocol.name == "native"


def test_a_route_made_from_a_lambda_is_named_by_its_key() -> None:
    def broken() -> Generator[None, object, None]:
        yield
        raise ValueError("no")

    with router({"bad": lambda: broken()})() as h, pytest.raises(ServiceFailedError) as info:
        h(route("bad", 1))
    assert route_of(info.value.__cause__ or info.value)[-1] == "bad"
    assert "<lambda>" not in " ".join(route_of(info.value.__cause__ or info.value))


def test_routers_still_nest_when_they_are_factories() -> None:
    inner = router({"count": counter}, name="inner")
    with router({"in": inner}, name="outer")() as h:
        assert h(route("in", route("count", 4))) == 4
        with pytest.raises(InvalidRequestError):
            h(route("in", route("nope", 1)))  # the inner keys are checked too


def test_a_pipeline_takes_plain_functions_as_transforms() -> None:
    p = pipeline(str.strip, keep(bool), str.upper, collect())
    assert p.run([" a ", "  ", "b"])["collect"] == ["A", "B"]
    q = str.strip | transform(str.upper) | (lambda s: s + "!") | collect()
    assert q.run([" x "])["collect"] == ["X!"]
    assert list(q.open().stages)[:2] == ["transform(strip)", "transform(upper)"]


def test_a_pipeline_refuses_what_is_neither_a_stage_nor_a_function() -> None:
    with pytest.raises(TypeError, match="not a pipeline stage: 42"):
        pipeline(42)  # type: ignore[arg-type]
