"""PEP 380 delegation, one behaviour per test, through routers hosted in handles.

Every test runs twice: through a :class:`Menu` (real ``yield from``) and
through a keyed :class:`Router` (the PEP 380 expansion written by hand), each
hosted in a raw ``nanoservices`` handle. The ``Via`` adapter hides only how a
request reaches the sub-service.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator, Iterable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nanoservices import (
    LocalHandle,
    ProtocolViolationError,
    ReentryError,
    ServiceFailedError,
    State,
)
from nanoservices.compose import Menu, Router, route_of

Sub = Callable[[], Iterable[Any]]


class Via:
    """Drive a sub-service through a router hosted in a handle."""

    def __init__(self, kind: str, sub: Sub) -> None:
        self.kind = kind
        if kind == "menu":
            factory = Menu({"sub": sub}, prompt="?", on_return=lambda _, v: ("returned", v))
        else:
            factory = Router({"sub": sub})
        self.handle: LocalHandle[Any, Any] = factory.service(raw=True)()

    def enter(self) -> Any:
        """Pick the sub-service; returns its first yield."""
        return self.handle("sub" if self.kind == "menu" else ("sub", None))

    def send(self, value: Any) -> Any:
        if self.kind == "menu" or value is None:
            return self.handle(value)
        return self.handle(("sub", value))

    def returned(self, value: Any) -> Any:
        """What the caller gets when the sub-service returns ``value``."""
        return ("returned", value) if self.kind == "menu" else value


@pytest.fixture(params=["menu", "router"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def echo(log: list[Any]) -> Generator[Any, Any, str]:
    """Logs what it receives, replies ("got", x); returns on "stop"."""
    reply: Any = "ready"
    while True:
        x = yield reply
        log.append(x)
        if x == "stop":
            return "done"
        reply = ("got", x)


# -- sends and yields ----------------------------------------------------------------


def test_first_yield_of_the_sub_service_answers_the_choice(kind: str) -> None:
    via = Via(kind, lambda: echo([]))
    assert via.enter() == "ready"


def test_sent_values_reach_the_sub_service_as_the_same_objects(kind: str) -> None:
    log: list[Any] = []
    via = Via(kind, lambda: echo(log))
    via.enter()
    marker = object()
    for value in (0, "", [], marker):
        via.send(value)
    assert log[:3] == [0, "", []]
    assert log[3] is marker


def test_none_sent_is_next(kind: str) -> None:
    log: list[Any] = []
    via = Via(kind, lambda: echo(log))
    via.enter()
    assert via.send(None) == ("got", None)
    assert log == [None]


def test_yielded_values_come_back_to_the_caller(kind: str) -> None:
    via = Via(kind, lambda: echo([]))
    via.enter()
    assert via.send(41) == ("got", 41)


# -- return values -------------------------------------------------------------------


def test_return_value_of_the_sub_service_reaches_the_delegator(kind: str) -> None:
    via = Via(kind, lambda: echo([]))
    via.enter()
    assert via.send("stop") == via.returned("done")


@pytest.mark.parametrize("value", [None, (1, 2), ValueError("as a value"), StopIteration(3)])
def test_any_object_can_be_returned(kind: str, value: Any) -> None:
    def gives() -> Generator[None, Any, Any]:
        yield
        return value

    via = Via(kind, gives)
    via.enter()
    assert via.send(None) == via.returned(value)


def test_delegation_starts_afresh_after_the_sub_service_returns(kind: str) -> None:
    starts: list[int] = []

    def counted() -> Generator[Any, Any, str]:
        starts.append(1)
        return (yield from echo([]))

    via = Via(kind, counted)
    via.enter()
    via.send("stop")
    assert via.enter() == "ready"
    assert len(starts) == 2


# -- exceptions ----------------------------------------------------------------------


def test_exception_in_the_sub_service_propagates_as_the_same_object(kind: str) -> None:
    boom = KeyError("boom")

    def fails() -> Generator[None, Any, None]:
        yield
        raise boom

    via = Via(kind, fails)
    via.enter()
    with pytest.raises(ServiceFailedError) as info:
        via.send(1)
    assert info.value.__cause__ is boom
    assert route_of(info.value)[-1] == "fails"
    assert via.handle.state is State.FAILED


def test_exception_before_the_first_yield_propagates(kind: str) -> None:
    def broken() -> Generator[None, Any, None]:
        raise OSError("no start")
        yield  # pragma: no cover

    via = Via(kind, broken)
    with pytest.raises(ServiceFailedError) as info:
        via.enter()
    assert isinstance(info.value.__cause__, OSError)


def test_stop_iteration_raised_inside_becomes_runtime_error(kind: str) -> None:
    def leaks() -> Generator[None, Any, None]:
        yield
        raise StopIteration("leaked")

    via = Via(kind, leaks)
    via.enter()
    with pytest.raises(ServiceFailedError) as info:
        via.send(1)
    assert isinstance(info.value.__cause__, RuntimeError)


# -- throw ---------------------------------------------------------------------------


def test_throw_is_passed_to_the_sub_service(kind: str) -> None:
    caught: list[BaseException] = []

    def catches() -> Generator[str, Any, None]:
        while True:
            try:
                yield "waiting"
            except ValueError as exc:
                caught.append(exc)
                yield "caught"

    via = Via(kind, catches)
    via.enter()
    exc = ValueError("in")
    assert via.handle.throw(exc) == "caught"
    assert caught == [exc]


def test_throw_not_handled_propagates_out_as_the_same_object(kind: str) -> None:
    via = Via(kind, lambda: echo([]))
    via.enter()
    exc = ValueError("not handled")
    with pytest.raises(ServiceFailedError) as info:
        via.handle.throw(exc)
    assert info.value.__cause__ is exc


def test_throw_answered_by_returning_gives_the_return_value(kind: str) -> None:
    def gives_up() -> Generator[None, Any, str]:
        try:
            yield
        except ValueError:
            return "gave up"
        return "not reached"  # pragma: no cover

    via = Via(kind, gives_up)
    via.enter()
    assert via.handle.throw(ValueError) == via.returned("gave up")


# -- close and GeneratorExit -----------------------------------------------------------


def test_close_runs_the_sub_service_finally(kind: str) -> None:
    log: list[str] = []

    def guarded() -> Generator[None, Any, None]:
        try:
            while True:
                yield
        finally:
            log.append("finally")

    via = Via(kind, guarded)
    via.enter()
    via.handle.close()
    assert log == ["finally"]
    assert via.handle.state is State.CLOSED


def test_close_raises_generator_exit_inside_the_sub_service(kind: str) -> None:
    seen: list[type[BaseException]] = []

    def watches() -> Generator[None, Any, None]:
        try:
            yield
        except BaseException as exc:
            seen.append(type(exc))
            raise

    via = Via(kind, watches)
    via.enter()
    via.handle.close()
    assert seen == [GeneratorExit]


def test_sub_service_yielding_while_closed_is_a_protocol_violation(kind: str) -> None:
    exits: list[int] = []

    def stubborn() -> Generator[None, Any, None]:
        while True:
            try:
                yield
            except GeneratorExit:
                exits.append(1)
                if len(exits) > 1:
                    return  # the second time (garbage collection) it gives in
                yield

    via = Via(kind, stubborn)
    via.enter()
    with pytest.raises(ProtocolViolationError):
        via.handle.close()
    assert exits == [1]


def test_an_error_raised_while_closing_comes_out_of_close(kind: str) -> None:
    def fails_on_close() -> Generator[None, Any, None]:
        try:
            yield
        except GeneratorExit:
            raise ValueError("on close") from None

    via = Via(kind, fails_on_close)
    via.enter()
    with pytest.raises(ServiceFailedError, match="on close") as caught:  # issue 11, item 3
        via.handle.close()
    assert isinstance(caught.value.__cause__, ValueError)


def test_thrown_generator_exit_closes_the_sub_service(kind: str) -> None:
    log: list[str] = []

    def guarded() -> Generator[None, Any, None]:
        try:
            yield
        finally:
            log.append("finally")

    via = Via(kind, guarded)
    via.enter()
    with pytest.raises(GeneratorExit):
        via.handle.throw(GeneratorExit)
    assert log == ["finally"]


# -- plain iterables -------------------------------------------------------------------


def test_delegating_to_a_plain_iterable_yields_its_items(kind: str) -> None:
    via = Via(kind, lambda: [10, 20])
    assert [via.enter(), via.send(None)] == [10, 20]
    assert via.send(None) == via.returned(None)


def test_sending_a_value_to_a_plain_iterator_is_an_attribute_error(kind: str) -> None:
    via = Via(kind, lambda: [10, 20])
    via.enter()
    with pytest.raises(ServiceFailedError) as info:
        via.send("x")
    assert isinstance(info.value.__cause__, AttributeError)


def test_throw_with_a_plain_iterator_raises_in_the_delegator(kind: str) -> None:
    via = Via(kind, lambda: iter([10, 20]))
    via.enter()
    exc = ValueError("to nobody")
    with pytest.raises(ServiceFailedError) as info:
        via.handle.throw(exc)
    assert info.value.__cause__ is exc


def test_close_with_a_plain_iterator_just_closes(kind: str) -> None:
    via = Via(kind, lambda: [10, 20])
    via.enter()
    via.handle.close()
    assert via.handle.state is State.CLOSED


# -- re-entry --------------------------------------------------------------------------


def test_sub_service_calling_its_own_host_is_refused(kind: str) -> None:
    hosts: list[Via] = []

    def calls_home() -> Generator[Any, Any, None]:
        yield "ready"
        try:
            hosts[0].send("again")
        except ReentryError:
            yield "refused"

    via = Via(kind, calls_home)
    hosts.append(via)
    via.enter()
    assert via.send(None) == "refused"


# -- the hand-written expansion agrees with ``yield from`` --------------------------------


def _reference(script: list[tuple[str, Any]], sub: Sub) -> list[Any]:
    """Run ``script`` against a bare ``yield from`` delegator."""

    def delegator() -> Generator[Any, Any, Any]:
        return (yield from sub())

    gen = delegator()
    out: list[Any] = [_outcome(lambda: next(gen))]
    for op, value in script:
        step = functools.partial(gen.send if op == "send" else gen.throw, value)
        out.append(_outcome(step))
    return out


def _routed(script: list[tuple[str, Any]], sub: Sub) -> list[Any]:
    """Run ``script`` against the keyed router's generator, bare."""
    gen = Router({"k": sub})()
    next(gen)
    out: list[Any] = [_outcome(lambda: gen.send(("k", None)))]
    for op, value in script:
        if op == "send":
            step = functools.partial(gen.send, None if value is None else ("k", value))
        else:
            step = functools.partial(gen.throw, value)
        out.append(_outcome(step))
    return out


def _outcome(step: Callable[[], Any]) -> Any:
    try:
        return ("value", step())
    except StopIteration as stop:
        return ("returned", stop.value)
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc))


def _scripted_sub() -> Generator[Any, Any, Any]:
    total = 0
    while True:
        try:
            x = yield total
        except KeyError:
            total = -total
            continue
        if x is None:
            continue
        if x == 13:
            raise ValueError("unlucky")
        if x == 0:
            return total
        total += x


ops = st.one_of(
    st.tuples(st.just("send"), st.none() | st.integers(-3, 14)),
    st.tuples(st.just("throw"), st.sampled_from([KeyError("k"), IndexError("i")])),
)


@given(st.lists(ops, max_size=12))
def test_router_delegation_matches_yield_from_until_the_first_end(
    script: list[tuple[str, Any]],
) -> None:
    expected = _reference(script, _scripted_sub)
    got = _routed(script, _scripted_sub)
    end = next((i for i, o in enumerate(expected) if o[0] != "value"), len(expected) - 1)
    # past the end a bare delegator is finished, while the router lives on
    # (a return) or is dead too (an exception): compare up to the first end
    if expected[end][0] == "returned":  # the router answers with the value instead
        assert got[:end] == expected[:end]
        assert got[end] == ("value", expected[end][1])
    else:
        assert got[:end] == expected[:end]
        assert got[end] == expected[end]
