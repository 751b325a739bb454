"""The rest of the contract (issue 11), on every transport: the caller cannot tell.

Refusals, ``call()`` on a streamed reply, ``throw()`` mid-stream and after a
stream, the restart policy, a raising ``finally``, a raising stream source,
cancelled and dropped streams, re-entry, ``restart()``, ``greeting`` and
closing twice. Services come from ``nanoservices.examples.basics`` (async
transports use their twins in ``abasics``).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import pytest

from nanoservices import (
    InvalidRequestError,
    RestartLimitError,
    ServiceError,
    ServiceFailedError,
    State,
    StreamReplyError,
)

from .transports import Transport

B = "nanoservices.examples.basics"
Start = Callable[..., Any]


def test_the_greeting_is_what_the_service_yielded_first(start: Start) -> None:
    with start(f"{B}:keeper", "hi there") as h:
        assert h.greeting == "hi there"


def test_a_refusal_names_the_service_and_it_serves_on(start: Start) -> None:
    with start(f"{B}:keeper") as h:
        with pytest.raises(InvalidRequestError, match="odd requests are refused") as caught:
            h("odd")
        assert caught.value.service == "keeper"
        assert h.state is State.READY
        assert h("even") == "even"


def test_a_refused_stream_request_raises_invalid_request(start: Start) -> None:
    with start(f"{B}:keeper") as h:
        with pytest.raises(InvalidRequestError, match="odd requests are refused"):
            next(iter(h.stream("odd")))
        assert h.state is State.READY
        assert list(h.stream(2)) == [2, 1]


def test_call_on_a_streamed_reply_says_to_use_stream(start: Start) -> None:
    with start(f"{B}:keeper") as h:
        with pytest.raises(StreamReplyError, match=r"stream\(\)") as caught:
            h.call(3)
        assert caught.value.service == "keeper"
        assert caught.value.request == 3
        assert h.state is State.READY
        assert list(h.stream(2)) == [2, 1]


def test_throw_mid_stream_ends_the_stream_then_reaches_the_service(start: Start) -> None:
    with start(f"{B}:keeper") as h:
        items = h.stream(5)
        assert next(items) == 5
        assert h.throw(KeyError("k")) == "caught k"
        assert h.state is State.READY
        assert h("closed") == [5]  # the stream's source was closed first
        assert list(items) == []


def test_throw_after_a_finished_stream_reaches_the_service(start: Start) -> None:
    with start(f"{B}:keeper") as h:
        assert list(h.stream(2)) == [2, 1]
        assert h.throw(KeyError("k")) == "caught k"
        assert h.state is State.READY
        assert h("closed") == [2]


def test_throw_mid_stream_whose_source_finally_raises_leaves_the_service_ready(
    start: Start,
) -> None:
    with start(f"{B}:leaky") as h:
        items = h.stream(99)
        assert next(items) == 0
        with pytest.raises(ServiceFailedError, match="leaky") as caught:
            h.throw(KeyError("k"))
        assert "disk full" in f"{caught.value} {caught.value.__cause__}"
        assert h.state is State.READY
        h.reset()
        assert next(h.stream(1)) == 0


def test_a_raising_stream_source_fails_the_stream_not_the_service(start: Start) -> None:
    with start(f"{B}:leaky") as h:
        items = h.stream(2)
        assert [next(items), next(items)] == [0, 1]
        with pytest.raises(ServiceFailedError, match="leaky"):
            next(items)
        assert h.state is State.READY
        items = h.stream(1)
        assert next(items) == 0
        items.cancel()
        assert h.state is State.READY


def test_a_failed_body_is_restarted_by_its_policy_until_the_limit(start: Start) -> None:
    with start(f"{B}:fragile") as h:
        assert h(5) == 5
        for _ in range(2):
            with pytest.raises(ServiceFailedError, match="fragile"):
                h(-1)
            assert h.state is State.READY  # restarted: a fresh instance, the total is lost
            assert h(1) == 1
        with pytest.raises(RestartLimitError, match="fragile"):
            h(-1)
        assert h.state is State.FAILED
        with pytest.raises(ServiceFailedError, match="failed earlier"):
            h(1)
        h.reset()  # a FAILED service starts afresh
        assert h(2) == 2


def test_restart_gives_a_fresh_instance(start: Start) -> None:
    with start(f"{B}:counter", 3) as h:
        assert h(1) == 4
        h.restart()
        assert h.state is State.READY
        assert h(0) == 3


def test_restart_with_a_stream_open_ends_it(start: Start) -> None:
    with start(f"{B}:keeper") as h:
        items = h.stream(5)
        assert next(items) == 5
        h.restart()
        assert h.state is State.READY
        assert list(items) == []
        assert h("closed") == []  # a fresh instance
        assert list(h.stream(2)) == [2, 1]


def test_a_raising_finally_on_close_is_a_service_error_with_its_text(start: Start) -> None:
    h = start(f"{B}:stubborn")
    assert h(1) == 1
    with pytest.raises(ServiceError, match="disk full") as caught:
        h.close()
    assert caught.value.service == "stubborn"
    assert h.state is State.CLOSED
    h.close()  # closing twice is fine


def test_cancel_closes_the_source_and_frees_the_service(start: Start) -> None:
    with start(f"{B}:keeper") as h:
        items = h.stream(5)
        assert next(items) == 5
        items.cancel()
        assert h.state is State.READY
        assert h("closed") == [5]
        items.cancel()  # cancelling twice is fine
        assert list(items) == []


def test_a_dropped_stream_gives_the_service_back(start: Start) -> None:
    with start(f"{B}:keeper") as h:
        items = h.stream(5)
        assert next(items) == 5
        del items
        gc.collect()
        assert h("closed") == [5]
        assert h.state is State.READY


def test_closing_twice_is_fine_and_a_closed_service_refuses(start: Start) -> None:
    h = start(f"{B}:keeper")
    h.close()
    h.close()
    assert h.state is State.CLOSED
    with pytest.raises(ServiceError, match="closed"):
        h("x")


def test_a_service_calling_its_own_handle_is_refused(start: Start, transport: Transport) -> None:
    if transport.name not in ("local", "local-pure", "shared", "shared-pure", "async"):
        pytest.skip("only an in-process service can hold its own handle")
    with start(f"{B}:keeper") as h:
        inner = getattr(h, "_handle", h)  # the async handle behind the test's sync facade
        assert h(lambda: inner.call("x")) == "ReentryError"
        assert h.state is State.READY
        assert h("y") == "y"
