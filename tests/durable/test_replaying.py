"""A service replayed as its key reopens knows it (``replaying()``), sync and async, so a
side effect it guards is done once: live, never again on reopen."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Generator

from nanoservices import replaying, service
from nanoservices.aio import aservice
from nanoservices.durable import JournalStore, adurable, durable


def test_reopening_a_key_replays_with_replaying_true(store: JournalStore) -> None:
    seen: list[tuple[int, bool]] = []
    with durable(noticing, seen.append, key="k", store=store) as live:
        live.call(7)
    with durable(noticing, seen.append, key="k", store=store):
        pass
    assert seen == [(7, False), (7, True)]
    assert not replaying()


def test_reopening_an_async_key_replays_with_replaying_true(store: JournalStore) -> None:
    seen: list[tuple[int, bool]] = []

    async def main() -> None:
        live = await adurable(anoticing, seen.append, key="k", store=store)
        await live.call(7)
        await live.aclose()
        again = await adurable(anoticing, seen.append, key="k", store=store)
        await again.aclose()

    asyncio.run(main())
    assert seen == [(7, False), (7, True)]


@service
def noticing(notice: Callable[[tuple[int, bool]], object]) -> Generator[None, int, None]:
    while True:
        notice(((yield), replaying()))


@aservice
async def anoticing(notice: Callable[[tuple[int, bool]], object]) -> AsyncGenerator[None, int]:
    while True:
        notice(((yield), replaying()))
