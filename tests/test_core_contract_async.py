"""Issue 11, async items: each test failed before its fix (``@aservice``, ``AsyncHandle``)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import pytest

import nanoservices as ns
from nanoservices import State
from nanoservices.aio import AsyncHandle, AsyncHandleProtocol, aservice, astreamed, to_async
from nanoservices.examples import abasics, basics


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# -- 9. a task cancelled inside the handle's turn never leaves the lock held ----------------


async def _slow_to_close(gate: asyncio.Event, entered: asyncio.Event) -> AsyncIterator[int]:
    try:
        yield 1
        yield 2
    finally:
        entered.set()
        await gate.wait()  # closing the source takes a while


@aservice
async def slow_close(gate: asyncio.Event, entered: asyncio.Event) -> AsyncGenerator[Any, int]:
    request = yield None
    while True:
        request = yield (astreamed(_slow_to_close(gate, entered)) if request else request)


def test_a_task_cancelled_while_dropped_streams_close_releases_the_turn() -> None:
    async def main() -> None:
        gate, entered = asyncio.Event(), asyncio.Event()
        h = await slow_close(gate, entered)
        items = h.stream(1)
        assert await items.__anext__() == 1
        del items
        gc.collect()  # dropped mid-stream: its source is closed on the next turn
        task = asyncio.create_task(h.call(0))
        await entered.wait()  # the turn is taken, the dropped source is being closed
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not h._lock.locked()
        gate.set()
        assert await h.call(0) == 0

    run(main())


# -- 10. refuse() in an @aservice ----------------------------------------------------------


@aservice
async def picky() -> AsyncGenerator[Any, int]:
    request = yield None
    while True:
        request = yield (ns.refuse("odd") if request % 2 else request)


def test_refuse_in_an_aservice_call_raises_invalid_request() -> None:
    async def main() -> None:
        h = await picky()
        with pytest.raises(ns.InvalidRequestError, match="odd"):
            await h.call(1)
        assert h.state is State.READY
        assert await h.call(2) == 2

    run(main())


def test_refuse_in_an_aservice_stream_raises_invalid_request() -> None:
    async def main() -> None:
        h = await picky()
        with pytest.raises(ns.InvalidRequestError, match="odd"):
            await h.stream(1).open()
        assert h.state is State.READY
        assert [x async for x in h.stream(2)] == [2]

    run(main())


# -- 11. a cancelled await h.call() is the caller's decision ------------------------------------


def _patient(handles: bool, policy: ns.RestartPolicy | None) -> Any:
    @aservice(name="patient", restart=policy)
    async def patient(started: asyncio.Event) -> AsyncGenerator[Any, int]:
        reply: Any = None
        while True:
            request = yield reply
            if request == 0:
                reply = "quick"
                continue
            try:
                started.set()
                await asyncio.Event().wait()  # forever: only a cancellation ends it
                reply = "never"
            except asyncio.CancelledError:
                if not handles:
                    raise
                reply = "cancelled"

    return patient


async def _cancel_a_call(h: AsyncHandle[Any, Any], started: asyncio.Event) -> None:
    task = asyncio.create_task(h.call(1))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("policy", [None, ns.OnFailure(3)])
def test_a_cancelled_call_the_service_handles_leaves_it_ready(
    policy: ns.RestartPolicy | None,
) -> None:
    async def main() -> None:
        started = asyncio.Event()
        h = await _patient(True, policy)(started)
        await _cancel_a_call(h, started)
        assert h.state is State.READY
        assert h.supervision.failures == 0
        assert await h.call(0) == "quick"

    run(main())


def test_a_cancelled_call_the_service_does_not_handle_is_restarted_by_its_policy() -> None:
    async def main() -> None:
        started = asyncio.Event()
        h = await _patient(False, ns.OnFailure(3))(started)
        await _cancel_a_call(h, started)
        assert h.state is State.READY
        assert h.supervision.restarts == 1
        assert await h.call(0) == "quick"

    run(main())


def test_a_cancelled_call_without_a_policy_fails_and_never_advises_a_policy() -> None:
    async def main() -> None:
        started = asyncio.Event()
        h = await _patient(False, None)(started)
        await _cancel_a_call(h, started)
        assert h.state is State.FAILED
        with pytest.raises(ns.ServiceFailedError) as caught:
            await h.call(0)
        assert "policy" not in str(caught.value)
        assert "cancel" in str(caught.value)
        await h.restart()
        assert await h.call(0) == "quick"

    run(main())


# -- 15. call() on a streamed reply ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["aservice", "wrapped"])
def test_call_on_a_streamed_reply_raises_stream_reply_error(kind: str) -> None:
    async def main() -> None:
        h = await abasics.countdown() if kind == "aservice" else to_async(basics.countdown())
        with pytest.raises(ns.StreamReplyError, match="countdown") as caught:
            await h.call(3)
        assert caught.value.request == 3
        assert h.state is State.READY
        assert [x async for x in h.stream(2)] == [2, 1]

    run(main())


# -- 19. the async twin of the Handle protocol ---------------------------------------------------


def test_async_handles_offer_every_operation() -> None:
    async def main() -> None:
        for h in (await abasics.counter(3), to_async(basics.counter(3))):
            assert isinstance(h, AsyncHandleProtocol)
            assert h.greeting == 3
            await h.call(1)
            await h.restart()
            assert await h.call(0) == 3
        assert {"restart", "greeting", "aclose"} <= set(dir(AsyncHandleProtocol))

    run(main())


def test_the_service_error_says_where_an_async_service_failed() -> None:
    async def main() -> None:
        h = await abasics.divider(1.0)
        with pytest.raises(ns.ServiceFailedError) as caught:
            await h.call(0.0)
        notes = "\n".join(getattr(caught.value, "__notes__", []))
        assert "abasics.py" in notes
        assert "divider" in notes

    run(main())
