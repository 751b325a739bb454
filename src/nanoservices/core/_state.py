"""The handle's state machine: the only place where states and legal moves are defined.

A handle stores one of READY, STREAMING, FAILED or CLOSED. BUSY is never stored:
it is read off the generator (``gi_running``) so the hot path writes nothing.
The hot path inlines its one move (READY -> BUSY -> READY) by calling the
generator directly; every other move of both engines (the sync handle and the
async one) goes through [`advance`][], so this table is the only writer of
state. A step (a call, a throw) runs from BUSY: it ends in a reply, an open
stream, a failure, a restart by the policy, or the generator's return.
``tests/test_state.py`` walks this table and checks that the handle agrees.
"""

from __future__ import annotations

import enum
from typing import Final

from ._errors import ServiceBusyError, ServiceClosedError, ServiceError, ServiceFailedError
from ._failure import is_cancellation

__all__ = ["MOVES", "Op", "State", "advance", "check_move", "refusal"]


class State(enum.Enum):
    """What a service can do right now."""

    READY = "ready"
    """Waiting for a request."""
    BUSY = "busy"
    """Running a request (read off the generator, never stored)."""
    STREAMING = "streaming"
    """A stream is open and holds the service."""
    FAILED = "failed"
    """The body raised and the restart policy did not restart it."""
    CLOSED = "closed"
    """Closed by the caller, or the generator returned."""


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
    (B, Op.RESTART): R,  # the body failed and the restart policy replaced it
    (S, Op.END_STREAM): R,
    (S, Op.RESET): R,
    (R, Op.RESET): R,
    (F, Op.RESET): R,  # nothing left to keep: a fresh instance from the factory
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


def check_move(state: State, op: Op, service: str) -> None:
    """Refuse ``op`` in ``state`` (raise the refusal) unless the table has the move.

    For a flow that must refuse before it does anything (reset, throw, restart),
    and moves later, once its effects are done."""
    if (state, op) not in MOVES:
        raise refusal(state, op, service)


def refusal(
    state: State, op: Op, service: str, request: object = None, cause: BaseException | None = None
) -> ServiceError:
    """The error for doing ``op`` in ``state``: says what happened and what to do.

    ``cause`` is what made a FAILED service fail: a cancellation is the caller's
    decision, so the advice is then to restart it, never to add a policy.
    """
    if state is State.CLOSED:
        return ServiceClosedError(
            service, f"cannot {op.value}: the service is closed (create a new one from its factory)"
        )
    if state is State.FAILED and is_cancellation(cause):
        return ServiceFailedError(
            service,
            request,
            f"cannot {op.value}: a request was cancelled and the service did not handle "
            "the cancellation (call restart() or reset() for a fresh instance)",
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
