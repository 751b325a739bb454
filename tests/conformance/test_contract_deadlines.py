"""Deadlines and cancellation (issue 16), on every transport: one meaning, per kind.

The service is ``basics.patient`` (async transports: its twin in ``abasics``):
it sleeps deaf to any deadline, works until its deadline stops it, streams
ticks, and notes what happened ("stopped", a stream's "finally") in its own
state, so a test asks the service itself, on any transport, what ran. No
timed asserts: outcomes, states and notes (timings: ``benchmarks/deadlines.py``).

What a deadline can do depends on where the service runs (docs/deadlines.md):

* WAITS: the service runs in the caller's thread (or inline on the loop) and
  cannot be interrupted: the deadline is checked before it runs and between
  stream items, and the service reads what is left with ``remaining()``;
* CANCELS: an async service (in the caller's loop, or on a Ray host's): the
  deadline cancels it at its own ``await``;
* GIVES_UP: a sync service on the other side of a thread, HTTP or Ray: the
  caller gets ``DeadlineExceeded`` at its deadline, the step runs to its end
  there, and the service serves the next request after it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nanoservices import DeadlineExceeded, ServiceError, State

from .transports import Transport

B = "nanoservices.examples.basics"
Start = Callable[..., Any]

WAITS = frozenset({"local", "local-pure", "shared", "shared-pure", "async-wrapped"})
CANCELS = frozenset({"async", "ray-async"})
GIVES_UP = frozenset({"async-offload", "http", "ray"})

SHORT = 0.05  # a deadline that passes while the service works (seconds)
STREAM = 0.3  # a deadline that passes mid-stream (after a Ray round trip or two)
LONG = 60.0  # a deadline that does not pass during a test


def test_every_transport_is_in_one_row_of_the_table(transport: Transport) -> None:
    assert transport.name in WAITS | CANCELS | GIVES_UP


def test_a_passed_deadline_refuses_before_the_service_runs(start: Start) -> None:
    with start(f"{B}:patient") as h:
        with pytest.raises(DeadlineExceeded) as caught:
            h.call(["note", "ran"], timeout=0)
        error = caught.value
        assert isinstance(error, ServiceError)
        assert isinstance(error, TimeoutError)
        assert error.service == "patient"
        assert "'ran'" in str(error)
        with pytest.raises(DeadlineExceeded):
            next(iter(h.stream(["ticks", 3], timeout=0)))
        assert h.call("notes") == []  # nothing ran: no note, no stream opened
        assert h.state is State.READY


def test_the_service_reads_the_time_left_on_every_transport(start: Start) -> None:
    with start(f"{B}:patient") as h:
        assert h.call("remaining") is None
        left = h.call("remaining", timeout=LONG)
        assert 0 < left <= LONG


def test_a_handle_wide_default_applies_and_a_calls_own_timeout_wins(start: Start) -> None:
    with start(f"{B}:patient") as h:
        h.timeout = LONG
        assert h.timeout == LONG
        assert 0 < h.call("remaining") <= LONG
        h.timeout = 0
        with pytest.raises(DeadlineExceeded):
            h.call(["note", "ran"])
        with pytest.raises(DeadlineExceeded):
            next(iter(h.stream(["ticks", 3])))
        assert 0 < h.call("remaining", timeout=LONG) <= LONG
        h.timeout = None
        assert h.call("remaining") is None
        assert h.call("notes") == []


def test_a_service_that_stops_at_its_deadline_serves_on(start: Start, transport: Transport) -> None:
    with start(f"{B}:patient") as h:
        if transport.name in WAITS:  # it returns when its deadline stops it
            assert h.call(["until", LONG], timeout=SHORT) == "stopped"
        elif transport.name in CANCELS:  # cancelled at its await; it handles it
            with pytest.raises(DeadlineExceeded, match="patient"):
                h.call(["until", LONG], timeout=SHORT)
        else:  # its answer and the caller's deadline race: either is right
            try:
                assert h.call(["until", LONG], timeout=SHORT) == "stopped"
            except DeadlineExceeded:
                pass
        assert h.call("notes") == ["stopped"]
        assert h.state is State.READY


def test_a_service_deaf_to_its_deadline(start: Start, transport: Transport) -> None:
    with start(f"{B}:patient") as h:
        if transport.name in WAITS:  # it cannot be interrupted: the caller waits
            assert h.call(["nap", 0.3], timeout=SHORT) == "rested"
            assert h.state is State.READY
        elif transport.name in CANCELS:  # it does not handle the cancellation
            with pytest.raises(DeadlineExceeded):
                h.call(["nap", LONG], timeout=SHORT)
            assert h.state is State.FAILED  # as any cancelled call it does not handle
            h.reset()  # a failed service restarts
        else:  # the caller gives up; the service finishes its nap, then serves on
            with pytest.raises(DeadlineExceeded):
                h.call(["nap", 0.3], timeout=SHORT)
        assert h.call(["note", "after"]) == "after"
        assert h.state is State.READY


def test_a_stream_past_its_deadline_is_cancelled_and_its_finally_runs(start: Start) -> None:
    with start(f"{B}:patient") as h:
        items = h.stream(["ticks", None], timeout=STREAM)  # endless: only the deadline ends it
        got: list[int] = []
        with pytest.raises(DeadlineExceeded):  # noqa: PT012 (the loop is what raises)
            for item in items:
                got.append(item)
        assert got == list(range(len(got)))
        assert not items.is_open
        assert h.call("notes") == ["finally"]
        assert h.state is State.READY


@pytest.mark.parametrize("after", [1, 2, 10])
def test_the_consumer_cancels_at_any_item_and_the_finally_runs(start: Start, after: int) -> None:
    with start(f"{B}:patient") as h:
        items = h.stream(["ticks", None])
        assert [next(items) for _ in range(after)] == list(range(after))
        items.cancel()
        assert not items.is_open
        assert h.call("notes") == ["finally"]  # cancel() returns once the finally ran
        assert h.state is State.READY


def test_a_stream_within_its_deadline_ends_as_usual(start: Start) -> None:
    with start(f"{B}:patient") as h:
        assert list(h.stream(["ticks", 3], timeout=LONG)) == [0, 1, 2]
        assert h.call("notes") == ["finally"]
        assert h.state is State.READY
