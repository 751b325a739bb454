"""What a failure means: one decision, shared by every handle (sync and async).

When a service body raises, every transport must agree on the outcome: which
error the caller gets, whether the supervisor restarts the service, and what a
failed stream does to it. The handles do the I/O (starting a fresh generator,
awaited or not); this module only decides, so the sync and the async handle
cannot drift apart (the httpx ``auth_flow`` idea, for failures).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from types import CodeType
from typing import Final

from ._errors import (
    InvalidRequestError,
    ProtocolViolationError,
    RestartLimitError,
    ServiceError,
    ServiceFailedError,
    exception_text,
    short_repr,
)
from ._supervise import RestartPolicy, Supervision
from ._where import where_failed

__all__ = [
    "Verdict",
    "close_failure",
    "is_cancellation",
    "judge_failure",
    "note_where",
    "passes_through",
    "restart_failed",
    "stream_failure",
]


def is_cancellation(exc: BaseException | None) -> bool:
    """Whether ``exc`` is asyncio's ``CancelledError`` (the caller's decision, not a
    failure). asyncio is not imported for this: if it is not loaded, it is not one."""
    aio = sys.modules.get("asyncio")
    return aio is not None and isinstance(exc, aio.CancelledError)


def passes_through(exc: BaseException) -> bool:
    """Whether ``exc`` reaches the caller as itself, never wrapped: ``KeyboardInterrupt``,
    ``SystemExit``, ``CancelledError`` (anything that is not an ``Exception``)."""
    return not isinstance(exc, Exception)


def note_where(error: BaseException, exc: BaseException, code: CodeType | None) -> None:
    """Record on ``error`` where ``exc`` was raised: ``error.where`` (a [`Where`][])
    and a note naming the raising frame, its file and line, and the chain from the
    service's own function (``code``) down to it. Error path only."""
    where = where_failed(exc, code)
    if where is None or not isinstance(error, ServiceFailedError):
        return
    error.where = where
    error.add_note(f"the service failed in {where}")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of a body failure.

    ``restart``: start a fresh generator from the factory, then raise ``error``.
    ``error``: what the caller gets; it is the original exception itself when
    that is not ours to wrap (``KeyboardInterrupt``, ``CancelledError``...).
    """

    restart: bool
    error: BaseException


def judge_failure(
    name: str,
    request: object,
    exc: BaseException,
    policy: RestartPolicy | None,
    sup: Supervision,
) -> Verdict:
    """Record the failure in ``sup`` and decide what follows (no restart is done here)."""
    sup.record_failure(exc)
    if is_cancellation(exc):  # the caller's decision: the policy may restart, never advise
        return Verdict(policy is not None and sup.may_restart(policy), exc)
    if passes_through(exc):  # KeyboardInterrupt, SystemExit
        return Verdict(False, exc)
    if policy is None:
        return Verdict(False, _left(ServiceFailedError(name, request), _FAILED))
    if not sup.may_restart(policy):
        limit = RestartLimitError(name, request, sup.restarts, exception_text(exc))
        return Verdict(False, _left(limit, _FAILED))
    return Verdict(True, _left(ServiceFailedError(name, request, restarted=True), _READY))


#: The states a failure may leave its service in (``State``'s values: the state
#: module builds on this one).
_FAILED: Final = "failed"
_READY: Final = "ready"


def _left(error: ServiceFailedError, state: str) -> ServiceFailedError:
    """``error``, recording the state its failure left the service in."""
    error.left_state = state
    return error


def restart_failed(
    name: str, request: object, exc: BaseException, restart_error: ServiceError
) -> ServiceFailedError:
    """The error when the body failed and starting a fresh instance failed too."""
    text = (
        f"failed on request {short_repr(request)} ({exception_text(exc)}), "
        f"and restarting it failed too: {restart_error}"
    )
    return _left(ServiceFailedError(name, request, text), _FAILED)


def stream_failure(name: str, request: object, exc: BaseException) -> BaseException:
    """The error for a streamed source that raised (the service itself survives).

    Raise it ``from exc`` unless it is ``exc`` itself. A refusal raised inside
    the stream is reported under this handle's name (the body cannot know it).
    """
    if passes_through(exc):
        return exc
    if isinstance(exc, InvalidRequestError):
        return InvalidRequestError(name, request, exc.reason)
    if isinstance(exc, ServiceError) and exc.service == name:
        return exc
    return _left(ServiceFailedError(name, request), _READY)


def close_failure(name: str, exc: Exception) -> ServiceError:
    """The error for a service whose ``finally`` raised while it was being closed.

    Raise it ``from exc``: the original stays the ``__cause__`` and its text is in
    the message. Yielding while being closed is the protocol's own violation.
    """
    if isinstance(exc, RuntimeError) and str(exc) in (
        "generator ignored GeneratorExit",
        "async generator ignored GeneratorExit",
    ):
        return ProtocolViolationError(
            name, "the generator yielded while being closed (it caught GeneratorExit)"
        )
    return ServiceFailedError(name, None, f"raised while being closed: {exception_text(exc)}")
