"""Where the transports get keyed sessions: the one place that names their implementation.

HTTP and Ray speak only the protocol of [`nanoservices.sessions`][]; an operator
names a store (``Served(durable=...)``, ``serve --durable``, a Ray pool's
``store=``) and the transport asks here for the
[`KeyedSessions`][nanoservices.sessions.KeyedSessions] it means. Durable services
implement them (a journal store); the durable layer loads only when a service
is keyed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nanoservices.sessions import KeyedSessions

__all__ = ["is_sessions_source", "sessions_at"]


def sessions_at(where: object) -> KeyedSessions:
    """The keyed sessions ``where`` names: sessions (as they are), a journal store
    (left open when the sessions close), or a location (an SQLite path, a
    ``postgresql://`` DSN: opened here, closed with the sessions); else TypeError."""
    from nanoservices.durable import sessions_at as journal_sessions

    return journal_sessions(where)


def is_sessions_source(where: object) -> bool:
    """Whether [`sessions_at`][] takes ``where``."""
    from nanoservices.durable import is_sessions_source as journal_source

    return journal_source(where)
