"""Issue 11, core items: each test failed before its fix (sync handle, validation, md5)."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Generator, Iterator
from typing import Any

import pytest

import nanoservices as ns
from nanoservices import State
from nanoservices.services.hashing import md5 as hashing_md5


class Boom(Exception):
    """What a source's or a body's ``finally`` raises."""


def _raising_finally(closed: list[str]) -> Iterator[int]:
    try:
        yield 1
        yield 2
    finally:
        closed.append("source")
        raise Boom("disk full")


@ns.service
def leaky_source(closed: list[str]) -> Generator[Any, int, None]:
    """Streams a source whose ``finally`` raises."""
    yield None
    while True:
        yield ns.streamed(_raising_finally(closed))


def _interrupting() -> Iterator[int]:
    yield 1
    raise KeyboardInterrupt


@ns.service
def interrupted() -> Generator[Any, int, None]:
    yield None
    while True:
        yield ns.streamed(_interrupting())


# -- 1. throw() mid-stream with a raising source finally -------------------------------


def test_throw_mid_stream_with_a_raising_source_finally_never_sticks_streaming() -> None:
    closed: list[str] = []
    h = leaky_source(closed)
    items = h.stream(0)
    assert next(items) == 1
    with pytest.raises(ns.ServiceFailedError) as caught:
        h.throw(KeyError("x"))
    assert isinstance(caught.value.__cause__, Boom)
    assert closed == ["source"]
    assert h.state is State.READY
    h.reset()
    assert next(h.stream(0)) == 1


# -- 2. KeyboardInterrupt / SystemExit pass through as themselves -------------------------


@pytest.mark.parametrize("shared", [False, True])
def test_keyboard_interrupt_in_a_stream_source_propagates_as_itself(shared: bool) -> None:
    h: Any = interrupted().shared() if shared else interrupted()
    items = h.stream(0)
    assert next(items) == 1
    with pytest.raises(KeyboardInterrupt):
        next(items)
    assert h.state is State.READY


class Reset(Exception):
    """The raw service's reset exception."""


@ns.raw(reset_with=Reset)
def raw_exiting() -> Generator[Any, Any, None]:
    request = yield None
    while True:
        try:
            yield from range(request)
            request = yield None
        except Reset:
            raise SystemExit(3) from None


def test_system_exit_while_a_raw_stream_is_reset_propagates_as_itself() -> None:
    h = raw_exiting()
    items = h.stream(3)
    assert next(items) == 0
    with pytest.raises(SystemExit):
        h.reset()


# -- 3. one close contract ----------------------------------------------------------------


def _closing_with(error: BaseException) -> Any:
    @ns.service(name="closer")
    def closer() -> Generator[Any, Any, None]:
        reply = None
        try:
            while True:
                reply = yield reply
        finally:
            raise error

    return closer


@pytest.mark.parametrize("error", [ValueError("bad end"), RuntimeError("disk full")])
def test_close_translates_what_the_finally_raises_keeping_the_cause(error: Exception) -> None:
    h = _closing_with(error)()
    with pytest.raises(ns.ServiceError) as caught:
        h.close()
    assert caught.value.__cause__ is error
    assert str(error) in str(caught.value)
    assert "yielded while being closed" not in str(caught.value)
    assert h.state is State.CLOSED
    h.close()  # closing twice is fine


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_close_of_a_generator_that_yields_on_close_is_a_protocol_violation() -> None:
    @ns.service
    def stubborn() -> Generator[Any, Any, None]:
        reply = None
        while True:
            try:
                reply = yield reply
            except GeneratorExit:
                reply = "no"

    h = stubborn()
    with pytest.raises(ns.ProtocolViolationError, match="yielded while being closed"):
        h.close()
    assert h.state is State.CLOSED


def test_close_from_inside_the_service_is_refused_and_changes_nothing() -> None:
    box: dict[str, Any] = {}

    @ns.service
    def self_closer() -> Generator[Any, Any, None]:
        reply = None
        while True:
            yield reply
            try:
                box["h"].close()
                reply = "closed"
            except ns.ServiceBusyError as exc:
                reply = type(exc).__name__

    h = box["h"] = self_closer()
    assert h(1) == "ReentryError"
    assert h.state is State.READY
    assert h(2) == "ReentryError"


# -- 5. a failure caught inside hot() -------------------------------------------------------


def test_a_failure_caught_inside_hot_leaves_the_handle_failed() -> None:
    from nanoservices.examples.basics import divider

    h = divider(6.0)
    with h.hot() as send, pytest.raises(ZeroDivisionError):
        send(0.0)
    assert h.state is State.FAILED
    assert h.supervision.failures == 1


def test_a_failure_caught_inside_hot_goes_through_the_restart_policy() -> None:
    from nanoservices.examples.basics import divider

    h = divider.with_options(restart=ns.OnFailure(3))(6.0)
    with h.hot() as send, pytest.raises(ZeroDivisionError):
        send(0.0)
    assert h.state is State.READY
    assert h.supervision.restarts == 1
    assert h(3.0) == 2.0


# -- 6. restart() closes an open native stream's source ------------------------------------


def test_restart_with_a_native_stream_open_closes_its_source() -> None:
    from nanoservices.examples.basics import countdown

    h = countdown()
    items = h.stream(5)
    assert next(items) == 5
    source = h._stream._items  # type: ignore[union-attr]
    h.restart()
    assert source.gi_frame is None  # the source's finally ran
    assert h.state is State.READY
    assert list(items) == []


# -- 7. a request that passes validation never kills the service -------------------------------


@dataclasses.dataclass
class Point:
    x: int
    y: int


@ns.service
def norm() -> Generator[int, Point, None]:
    reply = 0
    while True:
        point = yield reply
        reply = abs(point.x) + abs(point.y)


def test_a_converted_request_type_hands_the_body_the_converted_value() -> None:
    h = norm()
    assert h({"x": 3, "y": -4}) == 7
    assert h(Point(1, 2)) == 3
    with pytest.raises(ns.InvalidRequestError, match="norm"):
        h({"x": "3"})
    assert h.state is State.READY


def test_validation_never_leaks_a_raw_exception() -> None:
    @ns.service
    def letters() -> Generator[int, list[typing.Literal["a", "b"]], None]:
        reply = 0
        while True:
            reply = len((yield reply))

    h = letters()
    with pytest.raises(ns.InvalidRequestError, match="letters"):
        h(["\ud800"])
    assert h.state is State.READY
    assert h(["a", "b"]) == 2


def test_md5_refuses_a_string_it_cannot_encode_and_keeps_serving() -> None:
    h = hashing_md5()
    with pytest.raises(ns.InvalidRequestError, match="md5"):
        h("\ud800")
    assert h.state is State.READY
    assert h("hello") == "5d41402abc4b2a76b9719d911017c592"


# -- 8. the error says where the service failed ------------------------------------------------


def test_a_failing_service_error_shows_file_line_and_function() -> None:
    from nanoservices.examples import basics

    h = basics.divider(1.0)
    with pytest.raises(ns.ServiceFailedError) as caught:
        h(0.0)
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert "basics.py" in notes
    assert "divider" in notes
    line = basics.divider.spec.fn.__code__.co_firstlineno
    assert any(str(n) in notes for n in range(line, line + 10))


# -- 15. call() on a streamed reply ----------------------------------------------------------


@pytest.mark.parametrize("shared", [False, True])
def test_call_on_a_streamed_reply_raises_stream_reply_error(shared: bool) -> None:
    from nanoservices.examples.basics import countdown

    h: Any = countdown().shared() if shared else countdown()
    with pytest.raises(ns.StreamReplyError, match="countdown") as caught:
        h.call(3)
    assert caught.value.request == 3
    assert h.state is State.READY
    assert h(-1) == []  # the source was closed before its first item: no finally ran
    assert list(h.stream(2)) == [2, 1]


# -- 19. every handle kind offers the same operations -----------------------------------------


def test_local_and_shared_handles_offer_restart_and_greeting() -> None:
    from nanoservices.core import Handle
    from nanoservices.examples.basics import counter

    for h in (counter(3), counter(3).shared()):
        assert isinstance(h, Handle)
        assert h.greeting == 3
        h(1)
        h.restart()
        assert h(0) == 3
    assert {"restart", "greeting"} <= set(dir(Handle))


def test_a_return_caught_inside_hot_closes_the_handle() -> None:
    @ns.raw
    def ends_on_falsy() -> Generator[Any, Any, str]:
        request = yield None
        while request:
            request = yield request * 2
        return "bye"

    h = ends_on_falsy()
    with h.hot() as send:
        assert send(2) == 4
        with pytest.raises(StopIteration):
            send(0)
    assert h.state is State.CLOSED
    assert h.supervision.failures == 0
