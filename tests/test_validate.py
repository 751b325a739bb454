"""Declared request types: refused before the service sees them, state untouched."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Literal, TypedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st

import nanoservices as ns
from nanoservices.core._validate import build_check, request_type_of


class Query(TypedDict):
    last_name: str


def _recording(request_type: Any = None) -> tuple[Any, list[Any]]:
    seen: list[Any] = []

    def body() -> Generator[Any, Any, None]:
        reply = None
        while True:
            request = yield reply
            seen.append(request)
            reply = len(seen)

    options: dict[str, Any] = {} if request_type is None else {"request_type": request_type}
    return ns.service(**options)(body), seen


def test_type_is_read_from_the_generator_annotation() -> None:
    def svc() -> Generator[str, int, None]:
        yield ""

    assert request_type_of(svc) is int


def test_unannotated_service_accepts_anything() -> None:
    factory, seen = _recording()
    h = factory()
    h(1)
    h("x")
    assert seen == [1, "x"]


@pytest.mark.parametrize(
    ("request_type", "good", "bad", "reason"),
    [
        (str, "a", 1, "expected str, got int"),
        (int | str, 3, 2.5, "expected int | str, got float"),
        (float, 3, "3", "expected float, got str"),
        (dict[str, int], {"a": 1}, {"a": "x"}, "Expected `int`, got `str`"),
        (Literal["on", "off"], "on", "maybe", "Invalid enum value 'maybe'"),
        (Query, {"last_name": "Lerner"}, {"last": "x"}, "last_name"),
    ],
)
def test_bad_requests_are_refused_before_the_service_sees_them(
    request_type: Any, good: Any, bad: Any, reason: str
) -> None:
    factory, seen = _recording(request_type)
    h = factory()
    assert h(good) == 1
    with pytest.raises(ns.InvalidRequestError, match=reason) as caught:
        h(bad)
    assert isinstance(caught.value, TypeError)  # what a user would catch
    assert caught.value.service == "body"
    assert caught.value.request == bad
    assert seen == [good]  # never reached the service
    assert h.state is ns.State.READY
    assert h(good) == 2  # and its state is untouched


def test_validation_can_be_switched_off() -> None:
    @ns.service(validate=False)
    def svc() -> Generator[Any, str, None]:
        reply: Any = None
        while True:
            reply = yield reply

    assert svc()(42) == 42


def test_any_and_object_declare_nothing() -> None:
    assert build_check(Any) is None
    assert build_check(object) is None


@given(st.text() | st.binary() | st.integers() | st.none() | st.lists(st.integers()))
def test_str_check_agrees_with_isinstance(value: object) -> None:
    check = build_check(str)
    assert check is not None
    assert (check(value) is None) == isinstance(value, str)
