"""The state table has no dead rows: both engines take every move it lists.

``advance`` is the only writer of state; this test records every move the sync
and the async engine ask it for (and every move a flow checks with ``check_move``
before its effects) while they run through the contract, and checks that each
row of the table is taken by both (the hot path's own READY -> BUSY -> READY is
inlined, and CLOSED -> close -> CLOSED, "closing twice
is fine", is answered before the table is asked: those rows are documentation).
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

import nanoservices as ns
from nanoservices.aio import _engine as _ahandle
from nanoservices.core import _handle, _state, _steps
from nanoservices.core._state import MOVES, Op, State
from nanoservices.examples import abasics, basics

INLINED = {(State.READY, Op.CALL), (State.BUSY, Op.REPLY)}


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> set[tuple[State, Op]]:
    moves: set[tuple[State, Op]] = set()

    def recording(state: State, op: Op, service: str) -> State:
        moves.add((state, op))
        return _state.advance(state, op, service)

    def checking(state: State, op: Op, service: str) -> None:
        moves.add((state, op))  # a flow's check before its effects reads the table too
        _state.check_move(state, op, service)

    for module in (_handle, _ahandle):
        monkeypatch.setattr(module, "advance", recording)
    monkeypatch.setattr(_steps, "check_move", checking)
    return moves


def _quietly(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except ns.ServiceError:
        pass


def test_the_sync_handle_takes_every_move(taken: set[tuple[State, Op]]) -> None:
    h = basics.keeper()
    items = h.stream(3)
    next(items)
    h.throw(KeyError("k"))  # (S, THROW), (S, RESET)
    h.throw(KeyError("k"))  # (R, THROW), (B, REPLY) is inlined
    list(h.stream(2))  # (B, OPEN_STREAM), (S, END_STREAM)
    h.reset()  # (R, RESET)
    h.stream(2).cancel()  # (S, RESET)
    held = h.stream(2)
    next(held)
    h.restart()  # (S, RESTART), (B, RESTART)
    h.restart()  # (R, RESTART)
    _quietly(h, "boom")  # (B, FAIL)
    h.reset()  # (F, RESET) -> restart
    _quietly(h, "boom")
    h.restart()  # (F, RESTART)
    _quietly(h, "boom")
    h.close()  # (F, CLOSE)
    h.close()  # twice: nothing to do
    streaming = basics.keeper()
    held = streaming.stream(2)
    next(held)
    streaming.close()  # (S, CLOSE)
    basics.echo().close()  # (R, CLOSE)

    @ns.raw
    def ends() -> Any:
        request = yield None
        while request:
            request = yield request

    ended = ends()
    ended(0)  # (B, FINISH)
    _quietly(ended.close)
    _quietly(ended.reset)
    gc.collect()
    fragile = basics.fragile()
    _quietly(fragile, -1)  # restarted by the policy: (B, RESTART)
    assert set(MOVES) - INLINED - taken <= {(State.CLOSED, Op.CLOSE)}, set(MOVES) - taken


def test_the_async_engine_takes_every_move(taken: set[tuple[State, Op]]) -> None:
    async def main() -> None:
        h = await abasics.keeper()
        items = h.stream(3)
        await items.__anext__()
        await h.throw(KeyError("k"))
        await h.throw(KeyError("k"))
        assert [x async for x in h.stream(2)] == [2, 1]
        await h.reset()
        s = h.stream(2)
        await s.open()
        await s.aclose()
        held = h.stream(2)
        await held.__anext__()
        await h.restart()
        await h.restart()
        for then in (h.reset, h.restart, h.aclose):
            try:
                await h.call("boom")
            except ns.ServiceError:
                pass
            await then()
        await h.aclose()
        streaming = await abasics.keeper()
        held = streaming.stream(2)
        await held.__anext__()
        await streaming.aclose()
        await (await abasics.echo()).aclose()

        @ns.aio.aservice
        async def ends() -> Any:
            request = yield None
            while request != 0:
                request = yield request

        ended = await ends()
        await ended.call(0)

    asyncio.run(main())
    gc.collect()
    assert set(MOVES) - INLINED - taken <= {(State.CLOSED, Op.CLOSE)}, set(MOVES) - taken
