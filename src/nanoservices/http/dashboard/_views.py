"""What each dashboard page shows, read from the server's state when the page asks.

Nothing here is kept up while the server runs: a page (or its next live update)
reads the session table, inspects the sessions' generators (where each one is
suspended, its locals redacted as [`inspect_service`][nanoservices.observe.inspect_service]
redacts) and asks the metrics for their totals. A session is named by a short
reference (the first characters of its id), never by its whole id: the id is its
owner's, and the dashboard's reader is not its owner.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

from nanoservices.core import ServiceError
from nanoservices.http._routes import Endpoints
from nanoservices.http._sessions import Session
from nanoservices.observe import FrameView, Inspection, inspect_service, statistics

from ._window import Rates

__all__ = [
    "REF_LENGTH",
    "Failure",
    "Parked",
    "ServiceRow",
    "SessionDetail",
    "SessionRow",
    "find_session",
    "overview",
    "service_sessions",
    "session_detail",
]

#: Characters of a session's id that name it on the dashboard.
REF_LENGTH: Final = 8
#: Sessions listed on a service's page at most (the groups count them all).
MAX_LISTED: Final = 200


@dataclass(frozen=True, slots=True)
class ServiceRow:
    """A service on the overview."""

    name: str
    shared: bool
    durable: bool
    sessions: int
    states: dict[str, int]
    streams_open: int
    restarts: int
    rates: Rates | None


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A session on its service's page: where it waits."""

    ref: str
    state: str
    function: str
    where: str
    idle_seconds: float
    streaming: bool


@dataclass(frozen=True, slots=True)
class Parked:
    """Sessions waiting at one place ("41 sessions parked at cart.py:22")."""

    where: str
    count: int


@dataclass(frozen=True, slots=True)
class Failure:
    """A session's last failure: what and where."""

    kind: str
    message: str
    where: str


@dataclass(frozen=True, slots=True)
class SessionDetail:
    """A session's page: its inspection, statistics and last failure."""

    ref: str
    service: str
    state: str
    shared: bool
    inspection: Inspection
    requests: int
    errors: int
    restarts: int
    idle_seconds: float
    failure: Failure | None
    notes: list[str] = field(default_factory=list)


def ref(session: Session) -> str:
    return session.id[:REF_LENGTH]


def _innermost(chain: tuple[FrameView, ...]) -> FrameView | None:
    """The innermost frame with a line (a plain iterator or a future has none)."""
    for view in reversed(chain):
        if view.lineno is not None:
            return view
    return None


def _short(view: FrameView | None) -> str:
    if view is None:
        return ""
    return f"{os.path.basename(view.filename)}:{view.lineno}"


def _inspected(session: Session, with_locals: bool) -> Inspection | None:
    try:
        return inspect_service(session.handle, locals=with_locals)
    except (TypeError, AttributeError):  # a handle kind that runs elsewhere
        return None


def overview(endpoints: Endpoints, rates: dict[str, Rates]) -> list[ServiceRow]:
    """Every served service: its sessions by state, streams open, restarts, rates."""
    by_service: dict[str, list[Session]] = {name: [] for name in endpoints.services}
    for session in endpoints.sessions.all():
        by_service[session.service].append(session)
    rows = []
    for name, served in endpoints.services.items():
        sessions = by_service[name]
        states = Counter(s.state for s in sessions)
        handles: dict[int, Any] = {id(s.handle): s.handle for s in sessions}
        restarts = sum(statistics(h).restarts for h in handles.values())
        streams = sum(1 for s in sessions if s.stream is not None and s.stream.is_open)
        rows.append(
            ServiceRow(
                name=name,
                shared=served.shared,
                durable=endpoints.keyed.is_keyed(served),
                sessions=len(sessions),
                states=dict(sorted(states.items())),
                streams_open=streams,
                restarts=restarts,
                rates=rates.get(name),
            )
        )
    return rows


def service_sessions(endpoints: Endpoints, name: str) -> tuple[list[Parked], list[SessionRow]]:
    """A service's sessions grouped by where they wait (most first), and listed."""
    now = time.monotonic()
    rows = []
    for session in endpoints.sessions.all():
        if session.service != name:
            continue
        inspection = _inspected(session, with_locals=False)
        innermost = _innermost(inspection.chain) if inspection is not None else None
        rows.append(
            SessionRow(
                ref=ref(session),
                state=session.state,
                function=innermost.function if innermost is not None else "",
                where=_short(innermost),
                idle_seconds=max(now - session.last_used, 0.0),
                streaming=session.stream is not None and session.stream.is_open,
            )
        )
    groups = Counter(row.where for row in rows if row.where)
    parked = [Parked(where, count) for where, count in groups.most_common()]
    rows.sort(key=lambda row: (row.where, row.ref))
    return parked, rows[:MAX_LISTED]


def find_session(endpoints: Endpoints, name: str, reference: str) -> Session | None:
    """The session of ``name`` whose id starts with ``reference`` (a whole reference)."""
    if len(reference) != REF_LENGTH:
        return None
    for session in endpoints.sessions.all():
        if session.service == name and session.id.startswith(reference):
            return session
    return None


def _failure(exc: ServiceError | None) -> Failure | None:
    if exc is None:
        return None
    where = getattr(exc, "where", None)
    cause = exc.__cause__
    kind = type(cause).__name__ if cause is not None else type(exc).__name__
    message = str(cause) if cause is not None else exc.message
    return Failure(kind, message, _where_text(where))


def _where_text(where: Any) -> str:
    """``cart() at cart.py:22 (service > helper)``: the file by its name only (the
    server's folders are not the reader's business)."""
    if where is None:
        return ""
    place = f"{where.function}() at {os.path.basename(where.file) or where.module}:{where.line}"
    chain = tuple(where.chain)
    return f"{place} ({' > '.join(chain)})" if len(chain) > 1 else place


def session_detail(session: Session) -> SessionDetail | None:
    """A session's inspection (locals redacted), statistics and last failure."""
    inspection = _inspected(session, with_locals=True)
    if inspection is None:
        return None
    stats = inspection.statistics
    return SessionDetail(
        ref=ref(session),
        service=session.service,
        state=session.state,
        shared=session.shared,
        inspection=inspection,
        requests=stats.requests,
        errors=stats.errors,
        restarts=stats.restarts,
        idle_seconds=max(time.monotonic() - session.last_used, 0.0),
        failure=_failure(session.last_failure),
    )
