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

from ._errors import (
    InvalidRequestError,
    ProtocolViolationError,
    RestartLimitError,
    ServiceError,
    ServiceFailedError,
)
from ._supervise import RestartPolicy, Supervision

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
    """Add to ``error`` a note saying where the service's own frame (``code``) was
    when ``exc`` left it: file, line and function. Error path only."""
    if code is None:
        return
    tb = exc.__traceback__
    where = None
    while tb is not None:
        if tb.tb_frame.f_code is code:
            where = tb
        tb = tb.tb_next
    if where is not None:
        error.add_note(
            f"the service failed in {code.co_qualname}() at {code.co_filename}:{where.tb_lineno}"
        )


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
        return Verdict(False, ServiceFailedError(name, request))
    if not sup.may_restart(policy):
        return Verdict(
            False,
            RestartLimitError(name, request, sup.restarts, f"{type(exc).__name__}: {exc}"),
        )
    return Verdict(True, ServiceFailedError(name, request, restarted=True))


def restart_failed(
    name: str, request: object, exc: BaseException, restart_error: ServiceError
) -> ServiceFailedError:
    """The error when the body failed and starting a fresh instance failed too."""
    from ._errors import short_repr

    return ServiceFailedError(
        name,
        request,
        f"failed on request {short_repr(request)} ({type(exc).__name__}: {exc}), "
        f"and restarting it failed too: {restart_error}",
    )


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
    return ServiceFailedError(name, request)


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
    return ServiceFailedError(name, None, f"raised while being closed: {type(exc).__name__}: {exc}")
