"""A journal store is the keyed sessions the transports speak of (``nanoservices.sessions``):
opened by location or as a store, a key's state found again, a held key refused
with the protocol's error, the store closed only when the sessions own it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from nanoservices._session_stores import is_sessions_source, sessions_at
from nanoservices.durable import JournalStore, KeyLockedError
from nanoservices.sessions import KeyedSessions, KeyHeldError, SessionStateError

from .aservices import acounter
from .services import Add, Get, counter


def test_a_location_opens_sessions_that_find_a_key_again(journal_path: Path) -> None:
    sessions = sessions_at(str(journal_path))
    assert isinstance(sessions, KeyedSessions)
    first = sessions.open_session(counter, (), {}, key="cart/cust-9", name="cart")
    first.call(Add(5))
    first.close()
    again = sessions.open_session(counter, (), {}, key="cart/cust-9", name="cart")
    assert again.name == "cart"
    assert again.call(Get()) == [1, 5]
    with pytest.raises(KeyHeldError) as held:
        sessions.open_session(counter, (), {}, key="cart/cust-9")
    assert isinstance(held.value, KeyLockedError)
    assert held.value.key == "cart/cust-9"
    sessions.close()  # owned: the store opened from the location is closed
    with pytest.raises(SessionStateError, match="closed"):
        again.call(Add(1))
    again.close()


def test_a_store_passed_in_stays_open_when_its_sessions_close(store: JournalStore) -> None:
    sessions = sessions_at(store)
    handle = sessions.open_session(counter, (), {}, key="k")
    handle.call(Add(2))
    handle.close()
    sessions.close()
    assert store.entries("k").entries  # still usable


def test_async_sessions_are_renamed_and_journalled(journal_path: Path) -> None:
    async def main() -> list[int]:
        sessions = sessions_at(journal_path)
        handle = await sessions.aopen_session(acounter, (), {}, key="k", name="tally")
        assert handle.name == "tally"
        await handle.call(Add(3))
        await handle.aclose()
        again = await sessions.aopen_session(acounter, (), {}, key="k")
        try:
            got: list[int] = await again.call(Get())
        finally:
            await again.aclose()
            sessions.close()
        return got

    assert asyncio.run(main()) == [1, 3]


def test_what_is_no_store_is_refused_by_name() -> None:
    assert not is_sessions_source(42)
    assert is_sessions_source("journal.sqlite")
    with pytest.raises(TypeError, match="not 42"):
        sessions_at(42)
