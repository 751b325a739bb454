"""Contract points the Ray transport's owner added to the behaviour suite (issue 11).

Parametrized over every transport, like ``test_behaviour.py``: the caller cannot
tell where the service runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nanoservices import ServiceError, State, StreamReplyError

B = "nanoservices.examples.basics"
Start = Callable[..., Any]


def test_call_on_a_streamed_reply_raises_stream_reply_error(start: Start) -> None:
    with start(f"{B}:countdown") as h:
        with pytest.raises(StreamReplyError, match="stream") as caught:
            h.call(3)
        assert isinstance(caught.value, ServiceError)
        assert isinstance(caught.value, TypeError)
        assert caught.value.service == "countdown"
        assert caught.value.request == 3
        assert h.state is State.READY
        assert h(-1) == []  # the source was never drained (draining would have closed it)
        assert list(h.stream(2)) == [2, 1]  # the service serves on


@pytest.mark.timeout(60)
def test_call_on_an_endless_streamed_reply_does_not_hang(start: Start) -> None:
    with start(f"{B}:countdown") as h:
        with pytest.raises(StreamReplyError):
            h.call(10**12)  # draining this into a list would never end
        assert h.state is State.READY
        assert h(-1) == []


def test_restart_replaces_the_service_with_a_fresh_instance(start: Start) -> None:
    with start(f"{B}:counter", 100) as h:
        assert h(5) == 105
        h.restart()
        assert h.state is State.READY
        assert h(1) == 101  # the state went with the old instance


def test_every_handle_has_a_greeting(start: Start) -> None:
    with start(f"{B}:echo") as h:
        assert h.greeting is None  # echo's priming yield is None
        assert h("x") == "x"
