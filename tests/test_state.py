"""The state machine: the table is the truth, and the handle agrees with it."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
from hypothesis import stateful
from hypothesis import strategies as st

import nanoservices as ns
from nanoservices.core._state import MOVES, Op, State, advance, refusal
from nanoservices.examples import basics


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("op", list(Op))
def test_advance_follows_the_table_or_refuses(state: State, op: Op) -> None:
    if (state, op) in MOVES:
        assert advance(state, op, "svc") is MOVES[state, op]
    else:
        with pytest.raises(ns.ServiceError) as caught:
            advance(state, op, "svc")
        assert caught.value.service == "svc"
        assert op.value in str(caught.value)


def test_closed_is_final_but_closing_again_is_fine() -> None:
    assert {op for (state, op) in MOVES if state is State.CLOSED} == {Op.CLOSE}


@pytest.mark.parametrize(
    ("state", "error"),
    [
        (State.CLOSED, ns.ServiceClosedError),
        (State.FAILED, ns.ServiceFailedError),
        (State.STREAMING, ns.ServiceBusyError),
        (State.BUSY, ns.ServiceBusyError),
    ],
)
def test_refusals_name_the_situation(state: State, error: type[Exception]) -> None:
    assert isinstance(refusal(state, Op.CALL, "svc"), error)


def test_inlined_hot_path_agrees_with_the_table() -> None:
    """What the handle allows in each stored state is what the table allows."""
    ready = basics.countdown()
    assert ready(-1) == []  # (READY, CALL) is a move
    streaming = basics.countdown()
    items = streaming.stream(3)
    assert next(items) == 3
    assert (State.STREAMING, Op.CALL) not in MOVES
    with pytest.raises(ns.ServiceBusyError):
        streaming(1)
    failed = basics.divider()
    with pytest.raises(ns.ServiceFailedError):
        failed(0)
    assert failed.state is State.FAILED
    assert (State.FAILED, Op.CALL) not in MOVES
    with pytest.raises(ns.ServiceFailedError):
        failed(1)
    closed = basics.echo()
    closed.close()
    assert (State.CLOSED, Op.CALL) not in MOVES
    with pytest.raises(ns.ServiceClosedError):
        closed(1)


class HandleMachine(stateful.RuleBasedStateMachine):
    """Random sequences of operations against a tiny model of a counting service."""

    def __init__(self) -> None:
        super().__init__()

        @ns.service(restart=None)
        def model_service() -> Generator[Any, int, None]:
            total = 0
            request = yield None
            while True:
                if request < 0:
                    raise ValueError("negative")
                total += request
                request = yield (total if request % 2 else ns.streamed(range(request)))

        self.handle = model_service()
        self.total = 0
        self.state = State.READY
        self.stream: Any = None

    @stateful.rule(n=st.integers(min_value=0, max_value=5).map(lambda n: 2 * n + 1))
    def call_odd(self, n: int) -> None:
        if self.state is State.READY:
            self.total += n
            assert self.handle(n) == self.total
        else:
            with pytest.raises(ns.ServiceError):
                self.handle(n)

    @stateful.rule(n=st.integers(min_value=0, max_value=4).map(lambda n: 2 * n))
    def open_stream(self, n: int) -> None:
        if self.state is State.READY:
            self.total += n
            self.stream = self.handle.stream(n)
            self.state = State.STREAMING
            self.expected = list(range(n))
        else:
            with pytest.raises(ns.ServiceError):
                self.handle.stream(n)

    @stateful.rule()
    def step_stream(self) -> None:
        if self.state is State.STREAMING:
            item = next(self.stream, None)
            if self.expected:
                assert item == self.expected.pop(0)
            else:
                assert item is None
                self.state = State.READY

    @stateful.rule()
    def reset(self) -> None:
        if self.state is State.CLOSED:
            with pytest.raises(ns.ServiceClosedError):
                self.handle.reset()
            return
        self.handle.reset()
        if self.state is State.FAILED:
            self.total = 0
        self.state = State.READY

    @stateful.rule()
    def fail(self) -> None:
        if self.state is State.READY:
            with pytest.raises(ns.ServiceFailedError):
                self.handle(-1)
            self.state = State.FAILED

    @stateful.rule()
    def close(self) -> None:
        self.handle.close()
        self.state = State.CLOSED

    @stateful.invariant()
    def state_agrees(self) -> None:
        assert self.handle.state is self.state


TestHandleMachine = HandleMachine.TestCase
