"""The local handle: define, start, call, stream, reset, throw, close, state."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Generator, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import nanoservices as ns
from nanoservices.examples import basics


def test_factory_returns_a_primed_ready_handle() -> None:
    started: list[str] = []

    @ns.service
    def svc(prefix: str) -> Generator[str | None, str, None]:
        started.append(prefix)
        reply = None
        while True:
            reply = prefix + (yield reply)

    h = svc(">")
    assert started == [">"]  # primed on creation: the body ran to its first yield
    assert h.state is ns.State.READY
    assert h("x") == ">x"
    assert h.name == "svc"


def test_factory_arguments_are_the_configuration() -> None:
    a, b = basics.counter(10), basics.counter(1000)
    assert (a(1), b(1)) == (11, 1001)


@given(st.from_type(object).filter(lambda v: v is not None) | st.none())
def test_any_object_is_a_request_and_a_reply(value: object) -> None:
    with basics.echo() as h:
        assert h(value) is value


def test_handle_is_not_a_generator_callers_can_drive() -> None:
    h = basics.echo()
    assert not hasattr(h, "send")
    assert h.generator.gi_frame is not None  # but it can be looked at


def test_service_that_is_not_a_generator_is_refused_clearly() -> None:
    def not_a_generator() -> int:
        return 1

    factory = ns.service(not_a_generator)  # type: ignore[arg-type]
    with pytest.raises(ns.ProtocolViolationError, match="not a generator"):
        factory()


def test_service_failing_before_its_first_yield_fails_to_start() -> None:
    @ns.service
    def broken(dsn: str) -> Generator[None, None, None]:
        raise ConnectionError(f"cannot reach {dsn}")
        yield

    with pytest.raises(ns.ServiceStartError, match=r"could not start.*cannot reach db") as caught:
        broken("db")
    assert isinstance(caught.value, ns.ServiceFailedError)  # a failure, before any request
    assert isinstance(caught.value.__cause__, ConnectionError)


def test_call_on_a_streamed_reply_says_to_use_stream() -> None:
    h = basics.countdown()
    with pytest.raises(ns.StreamReplyError, match=r"stream\(\)"):
        h(3)
    assert h.state is ns.State.READY
    assert list(h.stream(3)) == [3, 2, 1]


def test_plain_reply_asked_for_as_a_stream_is_one_item() -> None:
    assert list(basics.echo().stream("x")) == ["x"]


def test_stream_as_context_manager_cancels_on_exit() -> None:
    h = basics.countdown()
    with h.stream(10) as items:
        assert next(items) == 10
    assert h.state is ns.State.READY
    assert h(-1) == [10]


def test_dropping_a_stream_mid_way_gives_the_service_back() -> None:
    h = basics.countdown()
    items = h.stream(10)
    next(items)
    del items
    assert h.state is ns.State.READY


def test_error_inside_a_stream_fails_the_stream_not_the_service() -> None:
    @ns.service
    def rows() -> Generator[ns.Stream[int], int, None]:
        def items(n: int) -> Iterator[int]:
            yield 1
            raise LookupError(f"row {n} is missing")

        request = yield ns.streamed(())
        while True:
            request = yield ns.streamed(items(request))

    h = rows()
    items = h.stream(7)
    assert next(items) == 1
    with pytest.raises(ns.ServiceFailedError, match="row 7 is missing") as caught:
        next(items)
    assert caught.value.request == 7
    assert isinstance(caught.value.__cause__, LookupError)
    assert h.state is ns.State.READY
    with h.stream(1) as again:
        assert next(again) == 1


def test_reset_when_ready_keeps_state() -> None:
    h = basics.counter()
    h(5)
    h.reset()
    assert h(1) == 6


def test_reset_of_a_failed_service_restarts_it() -> None:
    h = basics.divider(1.0)
    with pytest.raises(ns.ServiceFailedError):
        h(0)
    h.reset()
    assert h.state is ns.State.READY
    assert h(4) == 0.25


def test_throw_returns_what_the_service_yields_next() -> None:
    class Skip(Exception):
        pass

    @ns.service
    def skipper() -> Generator[str, None, None]:
        skipped = 0
        while True:
            try:
                yield f"skipped {skipped}"
            except Skip:
                skipped += 1

    h = skipper()
    assert h.throw(Skip) == "skipped 1"
    assert h.throw(Skip()) == "skipped 2"


@pytest.mark.parametrize("bad", [42, "boom", None, object, int])
def test_throwing_a_non_exception_is_refused(bad: Any) -> None:
    h = basics.echo()
    with pytest.raises(ns.InvalidRequestError, match="exception class or instance"):
        h.throw(bad)
    assert h.state is ns.State.READY
    assert h(1) == 1


def _resource(closed: list[bool]) -> ns.core.ServiceFactory[[], None, None]:
    """A service whose ``finally`` records that it ran."""

    @ns.service
    def resource() -> Generator[None, None, None]:
        try:
            while True:
                yield
        finally:
            closed.append(True)

    return resource


def test_close_runs_finally_and_context_manager_closes() -> None:
    closed: list[bool] = []
    resource = _resource(closed)

    with resource() as h:
        assert not closed
    assert closed == [True]
    assert h.state is ns.State.CLOSED
    with pytest.raises(ns.ServiceClosedError, match=r"'resource'.*closed"):
        h(None)
    with pytest.raises(ns.ServiceClosedError):
        h.stream(None)
    with pytest.raises(ns.ServiceClosedError):
        h.reset()


def test_close_mid_stream_closes_the_stream_source() -> None:
    source_closed: list[bool] = []

    def rows() -> Iterator[int]:
        try:
            yield from range(10)
        finally:
            source_closed.append(True)

    @ns.service
    def table() -> Generator[ns.Stream[int], None, None]:
        yield ns.streamed(())  # primed with an empty stream: the only source is the one we open
        while True:
            yield ns.streamed(rows())

    h = table()
    items = h.stream(None)  # kept: only close() may end the source, not garbage collection
    assert next(items) == 0
    h.close()
    assert source_closed == [True]
    assert not items.is_open
    assert h.state is ns.State.CLOSED


def test_a_collected_handle_closes_its_service() -> None:
    closed: list[bool] = []
    resource = _resource(closed)

    h = resource()
    ref = weakref.ref(h)
    del h
    gc.collect()
    assert ref() is None
    assert closed == [True]


# The generator stays suspended, so Python tries (and fails) to close it again when
# it is collected: that second complaint is expected here.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_generator_that_swallows_close_is_a_protocol_violation() -> None:
    @ns.service
    def stubborn() -> Generator[None, None, None]:
        while True:
            try:
                yield
            except GeneratorExit:
                pass

    h = stubborn()
    with pytest.raises(ns.ProtocolViolationError, match="yielded while being closed"):
        h.close()
    assert h.state is ns.State.CLOSED


def test_native_service_that_returns_is_closed_with_its_result() -> None:
    @ns.service
    def once() -> Generator[None, int, str]:
        n = yield
        return f"got {n}"

    h = once()
    assert h(3) == "got 3"
    assert h.result == "got 3"
    assert h.state is ns.State.CLOSED


def test_state_reports_busy_while_running() -> None:
    seen: list[ns.State] = []

    @ns.service
    def introspective() -> Generator[None, None, None]:
        while True:
            yield
            seen.append(me.state)

    me = introspective()
    me(None)
    assert seen == [ns.State.BUSY]
    assert me.state is ns.State.READY


def test_restart_makes_a_fresh_instance() -> None:
    h = basics.counter(0)
    h(5)
    h.restart()
    assert h(1) == 1


def test_restart_closes_the_old_generator_at_once() -> None:
    closed: list[bool] = []
    h = _resource(closed)()
    old = h.generator  # still referenced, so only an explicit close() runs its finally
    h.restart()
    assert closed == [True]
    assert old.gi_frame is None
    assert h.generator is not old
    assert h.state is ns.State.READY


def test_with_options_renames_and_changes_policy() -> None:
    factory = basics.divider.with_options(name="div", restart=ns.OnFailure(1, per=10))
    h = factory(2.0)
    with pytest.raises(ns.ServiceFailedError, match="'div'") as caught:
        h(0)
    assert caught.value.restarted
    assert basics.divider.name == "divider"  # the original factory is unchanged


def test_repr_names_service_state_and_protocol() -> None:
    assert repr(basics.echo()) == "<LocalHandle 'echo' ready (native)>"


def test_hot_path_sorts_out_errors_on_exit() -> None:
    h = basics.divider(1.0)
    with h.hot() as send:
        assert send(2.0) == 0.5
    with pytest.raises(ns.ServiceFailedError), h.hot() as send:
        send(0.0)
    assert h.state is ns.State.FAILED
    with pytest.raises(ns.ServiceFailedError), h.hot():
        pass  # refused up front: the service is failed
