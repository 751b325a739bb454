"""What a failure means: one decision, shared by every handle (sync and async).

When a service body raises, every transport must agree on the outcome: which
error the caller gets, whether the supervisor restarts the service, and what a
failed stream does to it. The handles do the I/O (starting a fresh generator,
awaited or not); this module only decides, so the sync and the async handle
cannot drift apart (the httpx ``auth_flow`` idea, for failures).
"""

from __future__ import annotations

from dataclasses import dataclass

from ._errors import InvalidRequestError, RestartLimitError, ServiceError, ServiceFailedError
from ._supervise import RestartPolicy, Supervision

__all__ = ["Verdict", "judge_failure", "restart_failed", "stream_failure"]


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
    if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit, CancelledError
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
    if isinstance(exc, InvalidRequestError):
        return InvalidRequestError(name, request, exc.reason)
    if isinstance(exc, ServiceError) and exc.service == name:
        return exc
    return ServiceFailedError(name, request)
