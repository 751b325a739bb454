"""The server's session table: who owns which service instance, and for how long.

Each client opens a session that owns its own service instance (or, for a
shared service, a turn at the one instance). Ids come from
``secrets.token_urlsafe``; a session is bound to its owner (the bearer token,
or the client id when auth is off), and to anyone else it does not exist.
Closed and expired ids are remembered for a while so their owner gets a clear
410 instead of a puzzling 404.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Final

from nanoservices.aio import AsyncHandle, AsyncReplyStream
from nanoservices.core import ServiceError

from . import _problems
from ._auth import header_bytes

__all__ = ["Session", "SessionTable", "close", "close_quietly"]

_log = logging.getLogger("nanoservices.http")

_TOMBSTONES: Final = 10_000


@dataclass(slots=True, eq=False)
class Session:
    """One client's hold on a service instance."""

    id: str
    service: str
    owner: str
    handle: AsyncHandle[Any, Any]
    shared: bool
    client: str = ""  # who the session counts against (see the per-client quota)
    last_used: float = field(default_factory=time.monotonic)
    stream: AsyncReplyStream[Any] | None = None  # its last stream (open or done)
    tracebacks: bool = False  # its failures' problem documents carry the traceback
    sending: bool = False  # a page of its stream is being sent (the client is reading)
    last_failure: ServiceError | None = None  # the last error its service answered with

    @property
    def state(self) -> str:
        """The state of the session's service, as the wire says it."""
        return self.handle.state.value


class SessionTable:
    """Sessions by id, with a limit, idle expiry, and memory of ended ids."""

    def __init__(self, max_sessions: int, idle_timeout: float) -> None:
        self.max_sessions = max_sessions
        self.idle_timeout = idle_timeout
        self._sessions: dict[str, Session] = {}
        self._ended: OrderedDict[str, tuple[str, str]] = OrderedDict()  # id -> (owner, why)
        self._per_client: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def full(self) -> bool:
        return len(self._sessions) >= self.max_sessions

    def add(
        self,
        service: str,
        owner: str,
        handle: AsyncHandle[Any, Any],
        shared: bool,
        client: str = "",
    ) -> Session:
        session = Session(secrets.token_urlsafe(24), service, owner, handle, shared, client)
        self._sessions[session.id] = session
        self._per_client[client] = self._per_client.get(client, 0) + 1
        return session

    def count(self, client: str) -> int:
        """Sessions open for ``client`` (its quota's use)."""
        return self._per_client.get(client, 0)

    def get(self, session_id: str, owner: str) -> Session | str | None:
        """The live session; else why it ended ("closed"/"expired"); else None (unknown).

        Owners are compared as bytes in constant time, and an unknown id costs the
        same comparison: the answer does not tell live ids of others from unknown ones.
        """
        asker = header_bytes(owner)
        session = self._sessions.get(session_id)
        ended = self._ended.get(session_id)
        held_by = session.owner if session is not None else ended[0] if ended else owner + "\x00"
        mine = secrets.compare_digest(header_bytes(held_by), asker)
        if session is not None:
            if not mine:
                return None  # someone else's: it does not exist for this caller
            session.last_used = time.monotonic()
            return session
        if ended is not None and mine:
            return ended[1]
        return None

    def find(self, session_id: str, owner: str, service: str) -> Session:
        """The caller's live session of ``service``; else the refusal that says why
        not (410 expired or closed, 404 unknown)."""
        found = self.get(session_id, owner)
        if isinstance(found, Session) and found.service == service:
            return found
        if found == "expired":
            raise _problems.session_expired(service)
        if found == "closed":
            raise _problems.session_closed(service)
        raise _problems.unknown_session(service)

    def remove(self, session: Session, why: str) -> None:
        if self._sessions.pop(session.id, None) is not None:
            left = self._per_client.get(session.client, 1) - 1
            if left:
                self._per_client[session.client] = left
            else:
                self._per_client.pop(session.client, None)
            self._ended[session.id] = (session.owner, why)
            while len(self._ended) > _TOMBSTONES:
                self._ended.popitem(last=False)

    def idle(self) -> list[Session]:
        """Sessions unused for longer than the idle timeout (a page being sent counts
        as use; an open stream whose next page nobody asks for does not)."""
        limit = time.monotonic() - self.idle_timeout
        return [s for s in self._sessions.values() if s.last_used < limit and not s.sending]

    def all(self) -> list[Session]:
        return list(self._sessions.values())


async def close(session: Session) -> None:
    """Close the session's open stream, and its own instance (a shared one stays)."""
    try:
        if session.stream is not None and session.stream.is_open:
            await session.stream.aclose()
    finally:
        if not session.shared:
            await session.handle.aclose()


async def close_quietly(session: Session, why: str) -> None:
    """Close a session for housekeeping (idle sweep, shutdown): a service whose
    ``finally`` raises is logged, never allowed to stop the other sessions' closing."""
    try:
        await close(session)
    except Exception:
        _log.exception(
            "closing %s session %s of service %r raised; going on",
            why, session.id[:6], session.service,
        )  # fmt: skip
