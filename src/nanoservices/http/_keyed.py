"""Keyed sessions: a served service whose sessions keep their state across server restarts.

The operator gives a service a store (``Served(counter, durable="journal.sqlite")``,
or ``nanoservices serve --durable PATH_OR_DSN``); a client opens a session with a
**key**. The key is the client's name for its state: opening the same key again,
after the session was closed, expired, or the server was restarted (or killed),
finds the state back.

A key only names a state inside the operator's store: it is validated strictly
([`KEY_PATTERN`][]: letters, digits and ``._:-``, at most 128 characters) and
prefixed with the service's name, so two services sharing a store never share a
state. Two sessions never hold one key at once: the second is refused with 409
``key-locked``, never both writing.

[`KeyedServices`][] is everything the server knows of keyed sessions, in one
object, and it knows them only by their protocol
([`nanoservices.sessions`][]): durable services implement it, and the store an
operator names is opened by ``nanoservices._session_stores``.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from nanoservices._session_stores import sessions_at
from nanoservices.aio import AsyncHandle, AsyncServiceFactory, SyncEngine
from nanoservices.core import InvalidRequestError, ServiceError
from nanoservices.observe import statistics
from nanoservices.sessions import KeyedSessions, KeyHeldError, SessionStateError

from . import _problems
from ._host import Served, factory_arguments
from ._problems import Refused
from ._wire import SessionOpen

__all__ = [
    "KEY_PATTERN",
    "KeyedServices",
    "check_key",
    "close_stores",
    "open_stores",
    "state_problem",
    "store_key",
]

#: What a client's key may be: 1 to 128 of letters, digits and ``. _ : -``, starting
#: with a letter or digit (no path separators, no spaces, nothing to escape).
KEY_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def check_key(served: Served, key: object) -> str:
    """``key`` if it is a valid key for a keyed session of ``served``; else the refusal."""
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


def store_key(served: Served, key: str) -> str:
    """The key in the store: the service's name and the client's key."""
    return f"{served.name}/{key}"


def open_stores(services: Mapping[str, Served]) -> dict[str, KeyedSessions]:
    """The keyed sessions of each keyed service; services naming one location share
    them (opened here, so closed by [`close_stores`][]), a store passed in is the
    operator's (left open)."""
    stores: dict[str, KeyedSessions] = {}
    by_location: dict[str, KeyedSessions] = {}
    try:
        for name, served in services.items():
            where = served.durable
            if where is None:
                continue
            if not isinstance(where, str | os.PathLike):
                stores[name] = sessions_at(where)
                continue
            location = os.fspath(where)
            if location not in by_location:
                by_location[location] = sessions_at(location)
            stores[name] = by_location[location]
    except BaseException:
        close_stores(by_location)
        raise
    return stores


def close_stores(stores: Mapping[str, KeyedSessions]) -> None:
    """Close each keyed sessions' store once (one the operator passed in stays open)."""
    seen: set[int] = set()
    for sessions in stores.values():
        if id(sessions) not in seen:
            seen.add(id(sessions))
            sessions.close()


async def open_keyed(
    served: Served, sessions: KeyedSessions, key: str, args: list[Any], kwargs: dict[str, Any]
) -> AsyncHandle[Any, Any]:
    """Open ``key`` of ``served`` (its state brought back) behind an async handle."""
    call_args, call_kwargs = factory_arguments(served, args, kwargs)
    named = {"key": store_key(served, key), "name": served.name, "snapshots": served.snapshots}
    factory = served.factory
    if isinstance(factory, AsyncServiceFactory):
        return await sessions.aopen_session(
            factory, call_args, call_kwargs, timeout=served.timeout, **named
        )
    opening = (factory, call_args, call_kwargs)
    # A sync handle of the sessions' own kind; SyncEngine drives it as a local one
    # (and observers find its local handle and its figures through it).
    handle: Any
    if served.offload:
        handle = await asyncio.to_thread(lambda: sessions.open_session(*opening, **named))
    else:
        handle = sessions.open_session(*opening, **named)
    return AsyncHandle(SyncEngine(handle, served.offload), timeout=served.timeout)


def state_problem(exc: SessionStateError, key: str, state: str | None = None) -> Refused:
    """The refusal for a keyed session's state error: 409 ``key-locked`` for a key
    another session holds (a client rebuilds it as ServiceBusyError), else 500
    ``journal`` (the store cannot read or write the key's state)."""
    extra: dict[str, Any] = {} if state is None else {"state": state}
    if isinstance(exc, KeyHeldError):
        return _problems.key_locked(exc.service, key, **extra)
    return _problems.journal_unusable(exc.service, key, type(exc).__name__, exc.message, **extra)


class KeyedServices:
    """The server's keyed services: their stores, opening a key, their errors, their
    statistics. The server's one seam to keyed sessions (see the module)."""

    def __init__(self, services: Mapping[str, Served]) -> None:
        self._services = services
        self._stores: dict[str, KeyedSessions] = {}

    @staticmethod
    def is_keyed(served: Served) -> bool:
        return served.durable is not None

    @staticmethod
    def wanted(served: Served, opening: SessionOpen) -> bool:
        """Whether opening this session is a keyed one (a keyed service, or a key sent
        to any service: the refusal then says it is not durable)."""
        return served.durable is not None or opening.key is not None

    async def start(self) -> None:
        """Open the stores (at the server's start)."""
        self._stores = await asyncio.to_thread(open_stores, dict(self._services))

    def stores(self) -> list[KeyedSessions]:
        """The keyed sessions open now, each once (services naming one location share them)."""
        distinct = {id(sessions): sessions for sessions in self._stores.values()}
        return list(distinct.values())

    async def stop(self) -> None:
        """Close the stores the server opened (at its end, after every session)."""
        await asyncio.to_thread(close_stores, self._stores)

    async def open(self, served: Served, opening: SessionOpen) -> AsyncHandle[Any, Any]:
        """Open the client's key of a keyed service (its state brought back), or refuse:
        a bad key (422), a key another session holds (409 key-locked)."""
        try:
            key = check_key(served, opening.key)
        except InvalidRequestError as exc:
            raise _problems.service_error(exc) from None
        try:
            return await open_keyed(
                served, self._stores[served.name], key, opening.args, opening.kwargs
            )
        except SessionStateError as exc:
            raise state_problem(exc, key) from None
        except ServiceError as exc:
            raise _problems.service_error(exc) from None

    @staticmethod
    def refusal(exc: ServiceError, state: str) -> Refused | None:
        """The refusal for an error the store raised under a keyed session, or None
        (an error like any other service's)."""
        if isinstance(exc, SessionStateError):
            return state_problem(exc, exc.key.partition("/")[2], state)
        return None

    def stats(self, served: Served, handles: Iterable[AsyncHandle[Any, Any]]) -> dict[str, Any]:
        """A keyed service's journals, summed over its open sessions (never their keys:
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
