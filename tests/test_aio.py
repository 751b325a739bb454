"""Async handles: cancellation, tasks sharing a handle, re-entry, dropped streams, wrapping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import pytest

from nanoservices import (
    OnFailure,
    ProtocolViolationError,
    ReentryError,
    ServiceBusyError,
    ServiceFailedError,
    State,
    Stream,
)
from nanoservices.aio import AsyncHandle, aservice, astreamed, to_async
from nanoservices.examples import abasics, basics


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _slow_items(n: int, closed: list[int]) -> AsyncIterator[int]:
    try:
        for i in range(n):
            await asyncio.sleep(0.01)
            yield i
    finally:
        closed.append(n)


@aservice
async def slow() -> AsyncGenerator[Stream[int] | list[int], int]:
    closed: list[int] = []
    request = yield closed
    while True:
        request = yield (list(closed) if request < 0 else astreamed(_slow_items(request, closed)))


def test_cancelling_the_task_mid_stream_leaves_the_service_ready() -> None:
    async def main() -> None:
        async with slow() as h:

            async def consume() -> None:
                async for _ in h.stream(1000):
                    pass

            task = asyncio.create_task(consume())
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert h.state is State.READY
            assert [x async for x in h.stream(3)] == [0, 1, 2]
            assert await h(-1) == [1000, 3]  # the cancelled source was closed

    run(main())


def test_cancelling_mid_stream_of_a_wrapped_offloaded_service() -> None:
    async def main() -> None:
        h = to_async(basics.countdown(), offload=True)

        async def consume() -> None:
            async for _ in h.stream(10**9):
                await asyncio.sleep(0)

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert h.state is State.READY
        assert [x async for x in h.stream(2)] == [2, 1]
        await h.aclose()

    run(main())


def test_tasks_sharing_a_handle_take_turns() -> None:
    @aservice
    async def slow_counter() -> AsyncGenerator[int, int]:
        total = 0
        while True:
            step = yield total
            await asyncio.sleep(0)  # another task would slip in here without turns
            total += step

    async def main() -> None:
        async with slow_counter() as h:

            async def worker() -> None:
                for _ in range(50):
                    await h(1)

            await asyncio.gather(*(worker() for _ in range(20)))
            assert await h(0) == 1000

    run(main())


def test_a_service_calling_its_own_handle_gets_reentry_error() -> None:
    box: list[AsyncHandle[Any, Any]] = []

    @aservice
    async def selfish() -> AsyncGenerator[Any, Any]:
        reply = None
        while True:
            yield reply
            reply = await box[0](1)

    async def main() -> None:
        async with selfish() as h:
            box.append(h)
            with pytest.raises(ServiceFailedError) as caught:
                await h(0)
            assert isinstance(caught.value.__cause__, ReentryError)

    run(main())


def test_zero_timeout_refuses_at_once_when_busy() -> None:
    async def main() -> None:
        h = to_async(basics.echo(), offload=True, timeout=0)
        first = asyncio.create_task(h(1))
        await asyncio.sleep(0)
        with pytest.raises(ServiceBusyError):
            await h(2)
        assert await first == 1
        await h.aclose()

    run(main())


def test_a_dropped_stream_is_closed_on_the_next_turn() -> None:
    async def main() -> None:
        async with abasics.countdown() as h:
            async for item in h.stream(5):
                if item == 4:
                    break
            assert h.state is State.READY
            assert await h(-1) == [5]

    run(main())


def test_restart_policy_applies_to_async_services() -> None:
    @aservice(restart=OnFailure(2, per=60))
    async def fragile() -> AsyncGenerator[float, float]:
        reply = 0.0
        while True:
            reply = 1 / (yield reply)

    async def main() -> None:
        async with fragile() as h:
            with pytest.raises(ServiceFailedError) as caught:
                await h(0.0)
            assert caught.value.restarted
            assert h.state is State.READY
            assert await h(4.0) == 0.25

    run(main())


def test_async_service_finally_runs_on_close() -> None:
    closed: list[str] = []

    @aservice
    async def tidy() -> AsyncGenerator[Any, Any]:
        try:
            reply = None
            while True:
                reply = yield reply
        finally:
            closed.append("closed")

    async def main() -> None:
        async with tidy() as h:
            assert await h(1) == 1
        assert h.state is State.CLOSED
        assert closed == ["closed"]

    run(main())


def test_a_plain_function_is_refused_with_a_clear_error() -> None:
    @aservice
    async def not_a_generator() -> AsyncGenerator[Any, Any]:  # type: ignore[misc]
        return None  # type: ignore[return-value]

    async def main() -> None:
        with pytest.raises(ProtocolViolationError, match="not an async generator"):
            await not_a_generator()

    run(main())


def test_wrapped_sync_handle_keeps_its_local_for_hooks() -> None:
    local = basics.echo()
    assert to_async(local).local is local
