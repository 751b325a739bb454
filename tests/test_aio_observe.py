"""Async handles are observable: the sync handle's events, statistics, inspection, explain."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from nanoservices import InvalidRequestError, OnFailure, ServiceFailedError, State
from nanoservices.aio import AsyncHandle, aservice, to_async
from nanoservices.examples import abasics, basics
from nanoservices.observe import (
    EventKind,
    Recorder,
    explain,
    inspect_service,
    live_services,
    measure,
    statistics,
    trace,
)

K = EventKind


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def engine(handle: AsyncHandle[Any, Any]) -> Any:
    return handle._engine


@aservice(restart=OnFailure(3, per=60))
async def adder() -> AsyncGenerator[int, object]:
    total = 0
    while True:
        total += yield total  # type: ignore[operator]


# -- events: the same kinds, in the same order, as the sync twin -------------------


def test_a_call_reports_request_then_reply_with_its_duration() -> None:
    async def main() -> Recorder:
        rec = Recorder()
        async with abasics.times_five() as h:
            trace(h, rec)
            assert await h(2) == 10
        return rec

    rec = run(main())
    assert rec.kinds() == [K.REQUEST, K.REPLY, K.CLOSE]
    assert rec.values(K.REQUEST, K.REPLY) == [2, 10]
    reply = rec.expect(K.REPLY, 10)
    assert reply.service == "times_five"
    assert reply.duration_ns is not None


def test_a_stream_reports_open_items_and_end_like_the_sync_handle() -> None:
    sync_rec = Recorder()
    local = basics.countdown()
    trace(local, sync_rec)
    assert list(local.stream(3)) == [3, 2, 1]

    async def main() -> Recorder:
        rec = Recorder()
        h = await abasics.countdown()
        trace(h, rec)
        assert [x async for x in h.stream(3)] == [3, 2, 1]
        return rec

    rec = run(main())
    assert rec.kinds() == sync_rec.kinds()
    assert rec.kinds() == [K.REQUEST, K.REPLY, K.STREAM_OPEN, K.ITEM, K.ITEM, K.ITEM, K.STREAM_END]
    assert rec.values(K.ITEM) == [3, 2, 1]


def test_leaving_a_stream_early_reports_a_reset_like_the_sync_handle() -> None:
    sync_rec = Recorder()
    local = basics.countdown()
    trace(local, sync_rec)
    with local.stream(3) as items:
        next(items)

    async def main() -> Recorder:
        rec = Recorder()
        h = await abasics.countdown()
        trace(h, rec)
        async with h.stream(3) as items:
            await items.__anext__()
        assert h.state is State.READY
        return rec

    rec = run(main())
    assert rec.kinds() == sync_rec.kinds() == [K.REQUEST, K.REPLY, K.STREAM_OPEN, K.ITEM, K.RESET]


def test_a_failure_reports_the_error_and_the_restart() -> None:
    async def main() -> Recorder:
        rec = Recorder()
        h = await adder()
        trace(h, rec)
        with pytest.raises(ServiceFailedError):
            await h("one")
        assert await h(5) == 5  # a fresh instance
        return rec

    rec = run(main())
    assert rec.kinds() == [K.REQUEST, K.ERROR, K.RESTART, K.REQUEST, K.REPLY]
    assert isinstance(rec.errors()[0], TypeError)
    assert rec.expect(K.ERROR).value == "one"


def test_a_refused_request_reports_an_error_and_leaves_the_service_untouched() -> None:
    async def main() -> Recorder:
        rec = Recorder()
        h = await abasics.md5()
        trace(h, rec)
        with pytest.raises(InvalidRequestError):
            await h(42)
        assert h.state is State.READY
        assert len(await h("ok")) == 32
        return rec

    rec = run(main())
    assert rec.kinds() == [K.REQUEST, K.ERROR, K.REQUEST, K.REPLY]
    assert isinstance(rec.errors()[0], InvalidRequestError)


def test_throw_restart_reset_and_close_are_reported_in_order() -> None:
    sync_rec = Recorder()
    local = basics.divider()
    trace(local, sync_rec)
    with pytest.raises(ServiceFailedError):
        local.throw(KeyError("x"))
    local.reset()  # FAILED: restarted from the factory
    local.restart()
    local.close()

    async def main() -> Recorder:
        rec = Recorder()
        h = await abasics.divider()
        trace(h, rec)
        with pytest.raises(ServiceFailedError):
            await h.throw(KeyError("x"))
        assert h.state is State.FAILED
        await h.reset()
        await h.restart()
        await h.aclose()
        await h.aclose()  # twice: one CLOSE
        return rec

    rec = run(main())
    assert rec.kinds() == sync_rec.kinds()
    assert rec.kinds() == [K.THROW, K.ERROR, K.RESTART, K.RESTART, K.CLOSE]


def test_a_hook_that_raises_is_removed_and_the_call_still_works(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(event: object) -> None:
        raise RuntimeError("hook bug")

    async def main() -> AsyncHandle[Any, Any]:
        h = await abasics.echo()
        h.subscribe(broken)
        assert await h(1) == 1
        return h

    with caplog.at_level(logging.ERROR, logger="nanoservices"):
        h = run(main())
    assert broken not in h.hooks
    assert "hook bug" in caplog.text


# -- free when off ----------------------------------------------------------------------


def test_with_no_hook_the_engine_sends_to_the_generator_itself() -> None:
    async def main() -> None:
        h = await abasics.echo()
        eng = engine(h)
        assert eng._sink is eng._agen  # the fast path: nothing between caller and service
        rec = Recorder()
        tracing = trace(h, rec)
        assert eng._sink is not eng._agen
        assert eng._sink.asend.__name__ == "asend_traced"
        tracing.stop()
        assert eng._sink is eng._agen
        assert h.hooks == ()
        assert await h(3) == 3
        assert rec.kinds() == []

    run(main())


def test_statistics_alone_only_time_calls_and_survive_a_restart() -> None:
    async def main() -> None:
        h = await adder()
        measure(h)
        assert engine(h)._sink.asend.__name__ == "asend_timed"
        await h(1)
        with pytest.raises(ServiceFailedError):
            await h("x")
        assert engine(h)._sink.asend.__name__ == "asend_timed"  # rewired after the restart
        await h(2)
        stats = statistics(h)
        assert (stats.requests, stats.errors, stats.restarts, stats.failures) == (3, 1, 1, 1)
        assert stats.collecting
        assert stats.p50_ns is not None
        measure(h).stop()
        assert engine(h)._sink is engine(h)._agen

    run(main())


def test_statistics_count_streams_and_items() -> None:
    async def main() -> None:
        h = await abasics.countdown()
        measure(h)
        assert [x async for x in h.stream(2)] == [2, 1]
        stats = statistics(h)
        assert (stats.requests, stats.streams, stats.items) == (1, 1, 2)

    run(main())


def test_statistics_of_an_unobserved_async_handle_know_its_state() -> None:
    async def main() -> None:
        h = await abasics.echo()
        stats = statistics(h)
        assert not stats.collecting
        assert stats.state is State.READY
        assert stats.requests == 0

    run(main())


# -- to_async wrappers -------------------------------------------------------------


def test_tracing_a_wrapped_shared_handle_traces_its_local_handle() -> None:
    local = basics.echo()
    wrapped = to_async(local.shared())
    assert wrapped.local is local
    rec = Recorder()
    trace(wrapped, rec)
    assert local.hooks == (rec,)
    assert wrapped.hooks == (rec,)
    assert run(wrapped(7)) == 7
    assert rec.kinds() == [K.REQUEST, K.REPLY]
    assert statistics(wrapped).state is State.READY


# -- inspection, listing, explain -----------------------------------------------------


def test_inspection_shows_the_line_where_an_async_service_waits() -> None:
    async def main() -> None:
        async with adder() as h:
            await h(4)
            seen = inspect_service(h)
            top = seen.chain[0]
            assert top.function.endswith("adder")
            assert top.status == "suspended"
            assert top.source.startswith("total += yield total")
            assert top.locals["total"] == "4"
            assert seen.state is State.READY
            assert seen.protocol == "native"
            assert "total += yield total" in str(inspect_service(h))
        assert inspect_service(h).chain == ()  # closed

    run(main())


def test_inspection_follows_the_await_chain_of_a_running_service() -> None:
    @aservice
    async def waiter() -> AsyncGenerator[str, object]:
        reply = "ready"
        while True:
            await (yield reply)  # type: ignore[misc]
            reply = "done"

    async def main() -> None:
        event = asyncio.Event()
        h = await waiter()
        task = asyncio.create_task(h(event.wait()))
        await asyncio.sleep(0)
        chain = inspect_service(h).chain
        assert chain[0].status == "running"
        assert h.state is State.BUSY
        assert chain[1].function == "Event.wait"
        assert chain[1].status == "suspended"
        assert chain[-1].status == "awaiting"  # the future: no frame
        event.set()
        assert await task == "done"

    run(main())


def test_inspection_shows_the_source_of_an_open_async_stream() -> None:
    async def main() -> None:
        h = await abasics.countdown()
        async with h.stream(3) as items:
            await items.__anext__()
            seen = inspect_service(h)
            assert seen.state is State.STREAMING
            assert seen.stream[0].function == "_count_down"
            assert seen.stream[0].source == "yield i"

    run(main())


def test_live_services_lists_async_handles_until_closed() -> None:
    async def main() -> None:
        h = await abasics.echo()
        assert any(s is h for s in live_services())
        wrapped = to_async(basics.echo())
        assert not any(s is wrapped for s in live_services())  # its local handle is listed
        await h.aclose()
        assert not any(s is h for s in live_services())
        assert any(s is h for s in live_services(include_closed=True))

    run(main())


def test_explain_tells_what_an_async_service_did_and_what_the_policy_did() -> None:
    async def main() -> str:
        h = await adder()
        await h(2)
        try:
            await h("one")
        except ServiceFailedError as error:
            return str(explain(error, h))
        raise AssertionError("expected a failure")

    text = run(main())
    assert "service 'adder' failed on request 'one'" in text
    assert "total += yield total" in text
    assert "adder (called)" not in text  # an async generator body, not a plain call
    assert "restarted from its factory" in text
    assert "1 restart(s)" in text
