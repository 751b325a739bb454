"""A service's failure on the server: logged in full, answered with where it happened.

The client gets a problem document that says where the service failed (the
file relative to the service's folder, the function, the line, the chain of
functions), never its values. The operator's log gets the whole story at ERROR
on the ``nanoservices.http`` logger: the service, the session, the request
(shortened, secret-looking fields hidden) and the original exception's full
traceback. Refusals (an invalid request, a busy or closed service, a missed
deadline) are the caller's business: answered, not logged.
"""

from __future__ import annotations

import logging

from nanoservices.core import ServiceError, ServiceFailedError, ServiceStartError
from nanoservices.core.seam import masked_repr

from . import _problems
from ._problems import Refused

__all__ = ["failure", "log_failure"]

_log = logging.getLogger("nanoservices.http")


def log_failure(exc: ServiceFailedError, session: str | None) -> None:
    """Log ``exc`` at ERROR with the original's traceback; ``session`` is the
    session's id (None: the service failed while a session was being opened)."""
    whose = f"session {session}" if session is not None else "opening a session"
    where = f": in {exc.where}" if exc.where is not None else ""
    if isinstance(exc, ServiceStartError):
        what = "could not start"
    else:
        what = f"failed on request {masked_repr(exc.request)}"
    _log.error("service %r %s (%s)%s", exc.service, what, whose, where, exc_info=exc.__cause__)


def failure(
    exc: ServiceError, session: str | None, state: str | None = None, *, traceback: bool = False
) -> Refused:
    """The answer to an error a session's handle raised: a failure is logged first.
    ``traceback``: the operator's choice to send the server's traceback too."""
    if isinstance(exc, ServiceFailedError) and exc.__cause__ is not None:
        log_failure(exc, session)  # (with no cause: refused, the service failed earlier)
    return _problems.service_error(exc, state, traceback=traceback)
