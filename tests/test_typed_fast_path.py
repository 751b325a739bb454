"""A typed service's check, on the C path and the pure-Python one alike.

The C handle lets a request through without calling the check when its class is
one the check accepts as it is (``str`` for a ``str`` service, the ``Struct``
class itself) or, for a router, when it is a pair naming a route whose payload
needs no check. Everything else goes the pure-Python way. So both handles must
give the same answer for every request: the same object to the service, the
same refusal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from typing import Any

import msgspec
import pytest

import nanoservices as ns
import nanoservices.core
from nanoservices.compose import route, router
from nanoservices.core._handle import LocalHandle, PureLocalHandle
from nanoservices.services.hashing import md5

KINDS = [pytest.param(PureLocalHandle, id="pure")]
if nanoservices.core.ACCELERATED:
    KINDS.append(pytest.param(LocalHandle, id="c"))


def _echo() -> Generator[Any, Any, None]:
    reply = None
    while True:
        reply = yield reply


class Point(msgspec.Struct):
    x: int
    y: int


class SubPoint(Point):
    pass


class Add(msgspec.Struct, tag=True):
    item: str


class Remove(msgspec.Struct, tag=True):
    item: str


@dataclasses.dataclass
class Note:
    text: str


class Text(str):
    pass


def _typed(tp: object) -> ns.ServiceFactory[[], Any, Any]:
    return ns.service(request_type=tp, name="typed")(_echo)


ACCEPTED = [
    (str, "ping"),
    (str, Text("sub")),  # a subclass: isinstance, not the exact class
    (bytes, b"ping"),
    (int, 7),
    (float, 7.5),
    (float, 7),  # an int where a float is declared (PEP 484's numeric tower)
    (str | bytes, b"x"),
    (Point, Point(1, 2)),
    (Point, Point("not checked", 2)),  # msgspec hands an exact Struct back as it is
    (Add | Remove, Remove("a")),
    (Note, Note("n")),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("tp", "request_"), ACCEPTED)
def test_an_accepted_request_reaches_the_service_as_itself(
    kind: type[Any], tp: object, request_: object
) -> None:
    h = kind(_typed(tp).spec)
    assert h.call(request_) is request_
    assert h(request_) is request_


REFUSED = [
    (str, b"bytes"),
    (int, True),  # bool is refused where a number is declared
    (int, 7.5),
    (float, "7.5"),
    (Point, SubPoint(1, 2)),  # strict: a subclass of the Struct is not the Struct
    (Point, {"x": 1}),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("tp", "request_"), REFUSED)
def test_a_refused_request_is_the_same_error_and_the_service_serves_on(
    kind: type[Any], tp: object, request_: object
) -> None:
    h = kind(_typed(tp).spec)
    with pytest.raises(ns.InvalidRequestError, match="service 'typed': invalid request"):
        h.call(request_)
    assert h.state is ns.State.READY


@pytest.mark.parametrize("kind", KINDS)
def test_a_converted_request_reaches_the_service_converted(kind: type[Any]) -> None:
    h = kind(_typed(Point).spec)
    assert h.call({"x": 1, "y": 2}) == Point(1, 2)
    h = kind(_typed(Add | Remove).spec)
    assert h.call({"type": "Add", "item": "a"}) == Add("a")


class Reversed(tuple[Any, ...]):
    """A pair that unpacks in the other order than it indexes."""

    def __iter__(self) -> Any:
        return iter(tuple(tuple.__iter__(self))[::-1])


@pytest.mark.parametrize("kind", KINDS)
def test_a_router_lets_routed_pairs_through_and_refuses_the_rest(kind: type[Any]) -> None:
    h = kind(router({"echo": _echo, "md5": md5})().spec)
    assert h.call(route("echo", "ping")) == "ping"
    assert h.call(("echo", 3)) == 3
    with pytest.raises(ns.InvalidRequestError, match="no route 'nope'"):
        h.call(route("nope", 1))
    with pytest.raises(ns.InvalidRequestError, match="expected a \\(key, payload\\) pair"):
        h.call("echo")
    with pytest.raises(ns.InvalidRequestError):
        h.call(([1], 2))  # an unhashable key
    with pytest.raises(ns.InvalidRequestError, match="expected str"):
        h.call(route("md5", 5))  # a typed route's payload is still checked
    # unpacked, this names no route: the router's own check says so, as in Python
    with pytest.raises(ns.InvalidRequestError, match="no route"):
        h.call(Reversed(("echo", "x")))
    assert h.state is ns.State.READY
    assert h.call(route("echo", "again")) == "again"


@pytest.mark.parametrize("kind", KINDS)
def test_typed_and_nested_routes_are_checked_as_in_python(kind: type[Any]) -> None:
    inner = router({"echo": _echo, "num": _typed(int)}, name="inner")
    h = kind(router({"in": inner, "md5": md5}, name="outer")().spec)
    assert h.call(route("md5", "x")) == md5().call("x")  # a typed route's payload
    assert h.call(route("in", route("echo", "x"))) == "x"  # a nested router
    assert h.call(route("in", route("num", 7))) == 7
    for bad, reason in [
        (route("md5", 5), "expected str"),
        (route("in", route("num", True)), "expected int"),
        (route("in", route("nope", 1)), "no route 'nope'"),
        (route("in", "echo"), "expected a \\(key, payload\\) pair"),
    ]:
        with pytest.raises(ns.InvalidRequestError, match=reason):
            h.call(bad)
    assert h.state is ns.State.READY
    assert h.call(route("in", route("num", 8))) == 8


@dataclasses.dataclass
class AddD:
    item: str


@dataclasses.dataclass
class RemoveD:
    item: str


def test_a_request_type_that_cannot_be_checked_is_refused_when_declared() -> None:
    def cart() -> Generator[object, AddD | RemoveD, None]:
        yield None

    with pytest.raises(TypeError) as caught:
        ns.service(cart)
    text = str(caught.value)
    assert "service 'cart'" in text
    assert "AddD | RemoveD" in text
    assert "more than one dataclass" in text  # msgspec's reason
    assert "tag=True" in text
    assert "validate=False" in text
    factory = ns.service(validate=False)(cart)  # the way out it names works
    assert factory.spec.check is None
    with pytest.raises(TypeError, match="service 'renamed'"):
        ns.service(request_type=Any, name="cart")(cart).with_options(
            name="renamed", request_type=AddD | RemoveD
        )


_as_stream = ns.streamed  # built by a helper: the service's own code names neither


def _refusal(reason: str) -> Any:
    return ns.refuse(reason)


@pytest.mark.parametrize("kind", KINDS)
def test_a_refusal_or_stream_built_by_a_helper_is_told_by_its_type(kind: type[Any]) -> None:
    @ns.service
    def indirect() -> Generator[Any, Any, None]:
        reply: Any = None
        while True:
            request = yield reply
            reply = _refusal("no") if request == "no" else _as_stream(range(request))

    assert not indirect.spec.refuses
    assert not indirect.spec.streams
    h = kind(indirect.spec)
    with pytest.raises(ns.InvalidRequestError, match="no"):
        h.call("no")
    with pytest.raises(ns.StreamReplyError):
        h(2)
    with pytest.raises(ns.StreamReplyError):
        h.call(2, timeout=5.0)  # the path with a deadline tells it too
    assert h.state is ns.State.READY
    assert list(h.stream(3)) == [0, 1, 2]
    with h.hot() as send:  # the bare send hands the marker back as it is
        assert type(send("no")) is ns.core.Refusal
