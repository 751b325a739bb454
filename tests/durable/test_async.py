"""Async durable services (``adurable``): the same journal as the sync handle, awaited."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from nanoservices import InvalidRequestError
from nanoservices.durable import (
    JournalStore,
    JournalTypeError,
    KeyLockedError,
    ReplayMismatchError,
    Snapshots,
    adurable,
    durable,
)
from nanoservices.examples.abasics import echo
from nanoservices.observe import inspect_service, statistics

from .aservices import acounter
from .services import Add, Boom, Count, Get, SetState, counter


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(scenario())  # type: ignore[arg-type]


async def _drive(store: JournalStore) -> list[int]:
    """Every kind of step; the state it leaves."""
    async with await adurable(acounter, key="a", store=store) as h:
        await h.call(Add(5))
        assert [i async for i in h.stream(Count(3))] == [1, 2, 3]
        async with h.stream(Count(5)) as items:
            assert [await items.__anext__(), await items.__anext__()] == [1, 2]
        assert await h.throw(Boom) == -14
        with pytest.raises(Exception, match="negative"):
            await h.call(Add(-1))
        await h.reset()
        await h.call(Add(1))
        state: list[int] = await h.call(Get())
        return state


def test_every_kind_of_step_replays(store: JournalStore) -> None:
    before = run(lambda: _drive(store))

    async def reopened() -> tuple[list[int], int]:
        async with await adurable(acounter, key="a", store=store) as h:
            return await h.call(Get()), h.stats.replayed

    state, replayed = run(reopened)
    assert state == before
    assert replayed > 5


def test_the_journal_is_the_sync_handles_one(store: JournalStore) -> None:
    before = run(lambda: _drive(store))
    with durable(counter, key="a", store=store) as h:  # written async, read sync
        assert h.call(Get()) == before
        h.call(Add(10))

    async def back() -> list[int]:
        async with await adurable(acounter, key="a", store=store) as h:
            state: list[int] = await h.call(Get())
            return state

    assert run(back) == [before[0] + 1, before[1] + 10]


def test_one_key_one_handle(store: JournalStore) -> None:
    async def scenario() -> None:
        async with await adurable(acounter, key="k", store=store):
            with pytest.raises(KeyLockedError):
                await adurable(acounter, key="k", store=store)
        async with await adurable(acounter, key="k", store=store) as again:
            assert await again.call(Get()) == [0, 0]

    run(scenario)


def test_async_snapshots_bound_the_replay(store: JournalStore) -> None:
    async def take(h: Any) -> list[int]:
        state: list[int] = await h.call(Get())
        return state

    async def restore(h: Any, state: list[int]) -> None:
        await h.call(SetState(*state))

    snaps = Snapshots(take, restore, every=3, state_type=list[int])

    async def scenario() -> tuple[list[int], int]:
        async with await adurable(acounter, key="s", store=store, snapshots=snaps) as h:
            for _ in range(10):
                await h.call(Add(2))
            assert h.stats.journal_length < 3
        async with await adurable(acounter, key="s", store=store, snapshots=snaps) as h:
            return await h.call(Get()), h.stats.replayed

    state, replayed = run(scenario)
    assert state == [10, 20]
    assert replayed < 3


def test_a_dropped_stream_is_journalled_where_it_stopped(store: JournalStore) -> None:
    async def scenario() -> list[int]:
        async with await adurable(acounter, key="d", store=store) as h:
            items = h.stream(Count(4))
            await items.__anext__()
            del items  # dropped mid-way: the service is given back
            await h.call(Add(100))
        async with await adurable(acounter, key="d", store=store) as h:
            state: list[int] = await h.call(Get())
            return state

    assert run(scenario) == [1, 101]


def test_a_changed_service_fails_replay_clearly(store: JournalStore) -> None:
    async def scenario() -> None:
        async with await adurable(echo, key="e", store=store) as h:
            await h.call("hello")
        with pytest.raises(JournalTypeError) as caught:  # "hello" is no counter request
            await adurable(acounter, key="e", store=store)
        assert (caught.value.key, caught.value.seq) == ("e", 1)
        async with await adurable(acounter, key="m", store=store) as h:
            await h.call(Add(1))
        with pytest.raises(ReplayMismatchError) as mismatch:  # echo replies otherwise
            await adurable(echo, key="m", store=store)
        assert mismatch.value.key == "m"

    run(scenario)


def test_statistics_inspection_and_refusals(store: JournalStore) -> None:
    async def scenario() -> None:
        async with await adurable(acounter, key="o", store=store) as h:
            await h.call(Add(1))
            assert statistics(h).extra["journal_length"] == 1
            assert "journal_length=1" in str(inspect_service(h))
            with pytest.raises(InvalidRequestError, match="msgspec"):
                await h.call(object())  # type: ignore[arg-type]
            assert h.stats.last_seq == 1  # never journalled
        with pytest.raises(TypeError, match="aservice"):
            await adurable(counter, key="x", store=store)  # type: ignore[arg-type]

    run(scenario)
