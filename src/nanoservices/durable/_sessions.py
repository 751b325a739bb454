"""A journal store as [`KeyedSessions`][nanoservices.sessions.KeyedSessions]: the
protocol the transports speak, implemented by durable services.

``open_session`` is [`durable`][nanoservices.durable.durable], ``aopen_session``
[`adurable`][nanoservices.durable.adurable], both on this store; ``close`` closes the
store when the sessions own it (opened from a location), and leaves a store the
caller passed in open.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ._handle import DurableHandle, durable
from ._open import open_store
from ._store import JournalStore

if TYPE_CHECKING:
    from nanoservices.aio import AsyncHandle, AsyncServiceFactory
    from nanoservices.core import ServiceFactory
    from nanoservices.sessions import KeyedSessions

__all__ = ["JournalSessions", "is_sessions_source", "sessions_at"]


class JournalSessions:
    """Durable sessions journalled in ``store`` (closed with them when ``owned``)."""

    __slots__ = ("owned", "store")

    def __init__(self, store: JournalStore, *, owned: bool = False) -> None:
        self.store = store
        self.owned = owned

    def open_session(
        self,
        factory: ServiceFactory[Any, Any, Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        key: str,
        name: str | None = None,
        snapshots: Any = None,
    ) -> DurableHandle[Any, Any]:
        handle = durable(factory, *args, key=key, store=self.store, snapshots=snapshots, **kwargs)
        if name is not None and name != factory.spec.name:
            handle.local.rename(name)
        return handle

    async def aopen_session(
        self,
        factory: AsyncServiceFactory[Any, Any, Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        key: str,
        name: str | None = None,
        snapshots: Any = None,
        timeout: float | None = None,
    ) -> AsyncHandle[Any, Any]:
        from nanoservices.aio import AsyncServiceFactory  # asyncio loads only when asked for

        from ._async import adurable

        if name is not None and name != factory.spec.name:
            factory = AsyncServiceFactory(replace(factory.spec, name=name))
        return await adurable(
            factory,
            *args,
            key=key,
            store=self.store,
            snapshots=snapshots,
            timeout=timeout,
            **kwargs,
        )

    def close(self) -> None:
        if self.owned:
            self.store.close()

    def __repr__(self) -> str:
        return f"<JournalSessions {self.store!r}{' (owned)' if self.owned else ''}>"


def is_sessions_source(where: object) -> bool:
    """Whether [`sessions_at`][] takes ``where``."""
    from nanoservices.sessions import KeyedSessions

    return isinstance(where, JournalStore | str | os.PathLike | KeyedSessions)


def sessions_at(where: object) -> KeyedSessions:
    """The keyed sessions ``where`` names: a journal store (left open when they close),
    a location (an SQLite path or a ``postgresql://`` DSN, opened here in ``sync``
    mode and closed with them), or sessions of any kind, as they are."""
    from nanoservices.sessions import KeyedSessions

    if isinstance(where, JournalStore):
        return JournalSessions(where)
    if isinstance(where, str | os.PathLike):
        return JournalSessions(open_store(where), owned=True)
    if isinstance(where, KeyedSessions):
        return where
    raise TypeError(
        "keyed sessions live in a journal store, an SQLite path or a postgresql:// DSN, "
        f"not {where!r}"
    )
