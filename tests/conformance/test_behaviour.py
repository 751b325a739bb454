"""What every handle does, whatever the transport: the caller cannot tell.

Services come from ``nanoservices.examples.basics`` by import path, so that
transports running them in another process can start them too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nanoservices import (
    InvalidRequestError,
    ServiceBusyError,
    ServiceClosedError,
    ServiceFailedError,
    State,
    StreamReplyError,
)

B = "nanoservices.examples.basics"
Start = Callable[..., Any]


def test_call_returns_the_reply(start: Start) -> None:
    with start(f"{B}:times_five") as h:
        assert h.call(10) == 50
        assert h(3) == 15
        assert h("ab") == "ababababab"


def test_state_is_kept_between_requests(start: Start) -> None:
    with start(f"{B}:counter", 100) as h:
        assert h(1) == 101
        assert h(10) == 111
        assert h(-11) == 100


def test_falsy_requests_are_ordinary_requests(start: Start) -> None:
    with start(f"{B}:echo") as h:
        for value in (None, 0, "", [], False):
            assert h(value) == value
        assert h.state is State.READY


def test_stream_hands_out_every_item_then_ends(start: Start) -> None:
    with start(f"{B}:countdown") as h:
        assert list(h.stream(4)) == [4, 3, 2, 1]
        assert list(h.stream(0)) == []
        assert h.state is State.READY
        assert h(-1) == [4, 0]  # both sources ran to their end


def test_stream_is_lazy(start: Start) -> None:
    with start(f"{B}:countdown") as h:
        items = h.stream(10**9)  # would never finish if it were drained eagerly
        assert next(items) == 10**9
        assert next(items) == 10**9 - 1
        items.cancel()


def test_leaving_a_stream_early_puts_the_service_back_to_ready(start: Start) -> None:
    with start(f"{B}:countdown") as h:
        for item in h.stream(5):
            if item == 3:
                break
        assert list(h.stream(2)) == [2, 1]
        assert h(-1) == [5, 2]  # the abandoned source was closed


def test_a_stream_holds_the_service_until_cancelled(start: Start) -> None:
    with start(f"{B}:countdown") as h:
        items = h.stream(5)
        assert next(items) == 5
        assert h.state is State.STREAMING
        with pytest.raises(ServiceBusyError, match="countdown"):
            h(3)
        items.cancel()
        assert h.state is State.READY
        assert list(h.stream(1)) == [1]


def test_reset_mid_stream(start: Start) -> None:
    with start(f"{B}:countdown") as h:
        items = h.stream(5)
        assert next(items) == 5
        h.reset()
        assert h.state is State.READY
        assert list(items) == []  # the reset stream is over for its caller too
        assert list(h.stream(2)) == [2, 1]


def test_call_tells_a_streamed_reply_or_a_refusal_by_its_type(start: Start) -> None:
    # relay builds its streams and refusals through helpers: its own code names neither
    with start(f"{B}:relay") as h:
        with pytest.raises(StreamReplyError, match="relay"):
            h.call(3)
        assert h.state is State.READY
        with pytest.raises(InvalidRequestError, match="odd requests are refused"):
            h.call("odd")
        assert h.state is State.READY
        assert list(h.stream(2)) == [2, 1]
        assert h("x") == "x"


def test_body_error_names_service_and_request(start: Start) -> None:
    with start(f"{B}:divider", 6.0) as h:
        assert h(3.0) == 2.0
        with pytest.raises(ServiceFailedError) as caught:
            h(0.0)
        assert caught.value.service == "divider"
        assert caught.value.request == 0.0
        assert "ZeroDivisionError" in str(caught.value)
        assert h.state is State.FAILED
        with pytest.raises(ServiceFailedError, match="failed earlier"):
            h(1.0)


def test_bad_request_is_refused_and_the_service_survives(start: Start) -> None:
    with start(f"{B}:md5") as h:
        with pytest.raises(InvalidRequestError) as caught:
            h(42)
        assert caught.value.service == "md5"
        assert "expected str" in str(caught.value)
        assert h.state is State.READY
        assert h("hello") == "5d41402abc4b2a76b9719d911017c592"


def test_closed_service_refuses_calls(start: Start) -> None:
    h = start(f"{B}:echo")
    h.close()
    assert h.state is State.CLOSED
    with pytest.raises(ServiceClosedError, match="closed"):
        h(1)
    h.close()  # closing twice is fine


def test_throw_reaches_the_service(start: Start) -> None:
    with start(f"{B}:echo") as h:
        with pytest.raises(ServiceFailedError) as caught:
            h.throw(KeyError("stop"))
        assert isinstance(caught.value.__cause__, KeyError) or "KeyError" in str(caught.value)
        assert h.state is State.FAILED
