"""Contract points the HTTP transport brought to the behaviour suite (issue 11, 15 and 19).

Parametrized over every transport: the same answer everywhere (contracts A and C).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nanoservices import State, StreamReplyError

Start = Callable[..., Any]
B = "nanoservices.examples.basics"


def test_call_on_a_streamed_reply_raises_stream_reply_error(start: Start) -> None:
    with start(f"{B}:countdown") as h:
        with pytest.raises(StreamReplyError, match="countdown"):
            h.call(3)
        assert h.state is State.READY
        assert list(h.stream(2)) == [2, 1]


def test_restart_starts_afresh_and_greeting_is_the_new_instances(start: Start) -> None:
    with start(f"{B}:counter", 10) as h:
        assert h.greeting == 10
        assert h(5) == 15
        h.restart()
        assert h.greeting == 10
        assert h.state is State.READY
        assert h(1) == 11
