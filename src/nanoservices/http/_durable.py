"""Durable sessions: a served service whose sessions keep their state across server restarts.

The operator declares a service durable and chooses its store
(``Served(counter, durable="journal.sqlite")``, or ``nanoservices serve
--durable PATH_OR_DSN``); a client opens a session with a **key**. The key is
the client's name for its state: opening the same key again, after the
session was closed, expired, or the server was restarted (or killed), replays
the key's journal and the client finds its state back.

A key only names a journal inside the operator's store: it is validated
strictly ([`KEY_PATTERN`][]: letters, digits and ``._:-``, at most 128
characters) and prefixed with the service's name, so two services sharing a
store never share a journal. Two sessions never hold one key at once: the
second is refused with 409 ``key-locked`` (the store's lease), never both
writing.

[`DurableSessions`][] is everything the server knows of durability, in one
object: no other module of the server imports ``nanoservices.durable``.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, Final

from nanoservices.aio import AsyncHandle, AsyncServiceFactory, SyncEngine
from nanoservices.core import InvalidRequestError, ServiceError, ServiceFactory
from nanoservices.durable import (
    JournalError,
    JournalStore,
    KeyLockedError,
    adurable,
    durable,
    open_store,
)
from nanoservices.observe import statistics

from . import _problems
from ._host import Served, factory_arguments
from ._problems import Refused
from ._wire import SessionOpen

__all__ = [
    "KEY_PATTERN",
    "DurableSessions",
    "check_key",
    "close_stores",
    "journal_key",
    "journal_problem",
    "open_stores",
    "start_durable",
]

#: What a client's key may be: 1 to 128 of letters, digits and ``. _ : -``, starting
#: with a letter or digit (no path separators, no spaces, nothing to escape).
KEY_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def check_key(served: Served, key: object) -> str:
    """``key`` if it is a valid key for a durable session of ``served``; else the refusal."""
    if served.durable is None:
        raise InvalidRequestError(
            served.name,
            {"key": key},
            "this service is not durable: open its sessions without a key",
        )
    if key is None:
        raise InvalidRequestError(
            served.name,
            {"key": None},
            'this service is durable: open a session with a key ({"key": "..."}) that '
            "names its state",
        )
    if not isinstance(key, str) or KEY_PATTERN.fullmatch(key) is None:
        raise InvalidRequestError(
            served.name,
            {"key": key},
            "a key is 1 to 128 letters, digits and '._:-', starting with a letter or digit",
        )
    return key


def journal_key(served: Served, key: str) -> str:
    """The key in the store: the service's name and the client's key."""
    return f"{served.name}/{key}"


def open_stores(services: dict[str, Served]) -> dict[str, tuple[JournalStore, bool]]:
    """The store of each durable service, and whether the server owns it (opened it
    from a location, so closes it); services naming one location share one store."""
    stores: dict[str, tuple[JournalStore, bool]] = {}
    by_location: dict[str, JournalStore] = {}
    try:
        for name, served in services.items():
            where = served.durable
            if where is None:
                continue
            if isinstance(where, JournalStore):
                stores[name] = (where, False)
                continue
            location = os.fspath(where)
            if location not in by_location:
                by_location[location] = open_store(location)
            stores[name] = (by_location[location], True)
    except BaseException:
        for store in by_location.values():
            store.close()
        raise
    return stores


def close_stores(stores: dict[str, tuple[JournalStore, bool]]) -> None:
    """Close the stores the server opened (each once)."""
    seen: set[int] = set()
    for store, owned in stores.values():
        if owned and id(store) not in seen:
            seen.add(id(store))
            store.close()


async def start_durable(
    served: Served,
    store: JournalStore,
    key: str,
    args: list[Any],
    kwargs: dict[str, Any],
) -> AsyncHandle[Any, Any]:
    """Open ``key`` of ``served`` (its journal replayed) behind an async handle."""
    call_args, call_kwargs = factory_arguments(served, args, kwargs)
    if isinstance(served.factory, AsyncServiceFactory):
        afactory: AsyncServiceFactory[Any, Any, Any] = served.factory
        if served.name != served.spec.name:
            afactory = AsyncServiceFactory(replace(served.spec, name=served.name))
        return await adurable(
            afactory,
            *call_args,
            key=journal_key(served, key),
            store=store,
            snapshots=served.snapshots,
            timeout=served.timeout,
            **call_kwargs,
        )
    factory: ServiceFactory[Any, Any, Any] = served.factory

    def opened() -> Any:
        handle = durable(
            factory,
            *call_args,
            key=journal_key(served, key),
            store=store,
            snapshots=served.snapshots,
            **call_kwargs,
        )
        if served.name != served.spec.name:
            handle.local.rename(served.name)
        return handle

    handle = await asyncio.to_thread(opened) if served.offload else opened()
    return AsyncHandle(SyncEngine(handle, served.offload), timeout=served.timeout)


def journal_problem(exc: JournalError, key: str, state: str | None = None) -> Refused:
    """The refusal for a journal error: 409 ``key-locked`` for a key another session
    holds (a client rebuilds it as ServiceBusyError), else 500 ``journal``."""
    extra: dict[str, Any] = {} if state is None else {"state": state}
    if isinstance(exc, KeyLockedError):
        return _problems.key_locked(exc.service, key, **extra)
    return _problems.journal_unusable(exc.service, key, type(exc).__name__, exc.message, **extra)


class DurableSessions:
    """The server's durable services: their stores, opening a key, their errors, their
    statistics. The server's one seam to ``nanoservices.durable``."""

    def __init__(self, services: Mapping[str, Served]) -> None:
        self._services = services
        self._stores: dict[str, tuple[JournalStore, bool]] = {}

    @staticmethod
    def is_durable(served: Served) -> bool:
        return served.durable is not None

    @staticmethod
    def wanted(served: Served, opening: SessionOpen) -> bool:
        """Whether opening this session is the durable layer's (a durable service, or
        a key sent to any service: the refusal then says it is not durable)."""
        return served.durable is not None or opening.key is not None

    async def start(self) -> None:
        """Open the stores (at the server's start)."""
        self._stores = await asyncio.to_thread(open_stores, dict(self._services))

    def stores(self) -> list[JournalStore]:
        """The stores open now, each once (services naming one location share one)."""
        distinct = {id(store): store for store, _owned in self._stores.values()}
        return list(distinct.values())

    async def stop(self) -> None:
        """Close the stores the server opened (at its end, after every session)."""
        await asyncio.to_thread(close_stores, self._stores)

    async def open(self, served: Served, opening: SessionOpen) -> AsyncHandle[Any, Any]:
        """Open the client's key of a durable service (its journal replayed), or refuse:
        a bad key (422), a key another session holds (409 key-locked)."""
        try:
            key = check_key(served, opening.key)
        except InvalidRequestError as exc:
            raise _problems.service_error(exc) from None
        try:
            return await start_durable(
                served, self._stores[served.name][0], key, opening.args, opening.kwargs
            )
        except JournalError as exc:
            raise journal_problem(exc, key) from None
        except ServiceError as exc:
            raise _problems.service_error(exc) from None

    @staticmethod
    def refusal(exc: ServiceError, state: str) -> Refused | None:
        """The refusal for an error the store raised under a durable session, or None
        (an error like any other service's)."""
        if isinstance(exc, JournalError):
            return journal_problem(exc, exc.key.partition("/")[2], state)
        return None

    def stats(self, served: Served, handles: Iterable[AsyncHandle[Any, Any]]) -> dict[str, Any]:
        """A durable service's journals, summed over its open sessions (never their keys:
        those are other clients' names): entries a reopen would replay, entries replayed
        when they were opened, and the longest replay. Nothing for other services."""
        if served.durable is None:
            return {}
        extras = [statistics(handle).extra for handle in handles]
        return {
            "journal": {
                "entries": sum(int(e.get("journal_length", 0)) for e in extras),
                "replayed": sum(int(e.get("replayed", 0)) for e in extras),
                "replay_seconds_max": round(
                    max((float(e.get("replay_seconds", 0.0)) for e in extras), default=0.0), 6
                ),
            }
        }
