"""The handle's state machine: the only place where states and legal moves are defined.

A handle stores one of READY, STREAMING, FAILED or CLOSED. BUSY is never stored:
it is read off the generator (``gi_running``) so the hot path writes nothing.
The hot path inlines its one move (READY -> BUSY -> READY) by calling the
generator directly; ``tests/test_state.py`` walks this table and checks that the
handle agrees with it.
"""

from __future__ import annotations

import enum
from typing import Final

from ._errors import ServiceBusyError, ServiceClosedError, ServiceError, ServiceFailedError

__all__ = ["MOVES", "Op", "State", "advance", "refusal"]


class State(enum.Enum):
    """What a service can do right now."""

    READY = "ready"  # waiting for a request
    BUSY = "busy"  # running a request (read off the generator, never stored)
    STREAMING = "streaming"  # a stream is open and holds the service
    FAILED = "failed"  # the body raised and the restart policy did not restart it
    CLOSED = "closed"  # closed by the caller, or the generator returned


class Op(enum.Enum):
    """What a caller (or the generator) does to a service."""

    CALL = "call"
    REPLY = "reply"
    OPEN_STREAM = "open a stream"
    END_STREAM = "end a stream"
    RESET = "reset"
    THROW = "throw"
    FAIL = "fail"
    FINISH = "finish"
    RESTART = "restart"
    CLOSE = "close"


R, B, S, F, C = State.READY, State.BUSY, State.STREAMING, State.FAILED, State.CLOSED

MOVES: Final[dict[tuple[State, Op], State]] = {  # every legal move, and only here
    (R, Op.CALL): B,
    (B, Op.REPLY): R,
    (B, Op.OPEN_STREAM): S,
    (B, Op.FAIL): F,
    (B, Op.FINISH): C,
    (S, Op.END_STREAM): R,
    (S, Op.FAIL): F,
    (S, Op.FINISH): C,
    (S, Op.RESET): R,
    (R, Op.RESET): R,
    (S, Op.THROW): B,
    (R, Op.THROW): B,
    (R, Op.RESTART): R,
    (S, Op.RESTART): R,
    (F, Op.RESTART): R,
    (R, Op.CLOSE): C,
    (S, Op.CLOSE): C,
    (F, Op.CLOSE): C,
    (C, Op.CLOSE): C,
}


def advance(state: State, op: Op, service: str) -> State:
    """The state after ``op``, or the error that refuses it."""
    try:
        return MOVES[state, op]
    except KeyError:
        raise refusal(state, op, service) from None


def refusal(state: State, op: Op, service: str, request: object = None) -> ServiceError:
    """The error for doing ``op`` in ``state``: says what happened and what to do."""
    if state is State.CLOSED:
        return ServiceClosedError(
            service, f"cannot {op.value}: the service is closed (create a new one from its factory)"
        )
    if state is State.FAILED:
        return ServiceFailedError(
            service,
            request,
            f"cannot {op.value}: the service failed earlier and was not restarted "
            "(call restart(), or give it a restart policy)",
        )
    if state is State.STREAMING:
        return ServiceBusyError(
            service,
            f"cannot {op.value}: a stream is open and holds the service "
            "(finish it, cancel() it, or reset() the service first)",
        )
    return ServiceBusyError(service, f"cannot {op.value} while the service is {state.value}")
