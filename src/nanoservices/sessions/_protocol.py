"""[`KeyedSessions`][]: where sessions opened with a key keep their state.

A transport (HTTP, Ray) offers sessions that a client opens with a **key**, the
client's name for its state: opening the key again, after the session was
closed or its host was lost (a server restarted or killed, a Ray actor
restarted), finds that state back. The transport knows only this protocol;
the durable layer implements it (a journal store: each accepted request
journalled, replayed when the key is opened again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from nanoservices.aio import AsyncHandle, AsyncServiceFactory
    from nanoservices.core import Handle, ServiceFactory

__all__ = ["KeyedSessions"]


@runtime_checkable
class KeyedSessions(Protocol):
    """Opens services under keys; what one key's session did is there when it is opened again.

    ``name``: the name the session's service answers to (errors, events) when
    it is served under another name than its own. ``snapshots``: how the
    implementation may save the service's state (its own type; ``None``: never).
    Opening a key another session holds raises
    [`KeyHeldError`][nanoservices.sessions.KeyHeldError]; a store that fails,
    there or later, [`SessionStateError`][nanoservices.sessions.SessionStateError].
    """

    def open_session(
        self,
        factory: ServiceFactory[Any, Any, Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        key: str,
        name: str | None = None,
        snapshots: Any = None,
    ) -> Handle[Any, Any]:
        """The sync service ``factory(*args, **kwargs)`` under ``key``, its state brought back."""
        ...

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
        """The async service ``factory(*args, **kwargs)`` under ``key`` (``timeout``: the
        async handle's, the wait for a turn)."""
        ...

    def close(self) -> None:
        """Give back what the sessions' store holds open (close their handles first)."""
        ...
