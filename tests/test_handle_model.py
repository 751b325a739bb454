"""One model, two engines: random sequences against the sync and the async handle.

Hypothesis drives a ``LocalHandle`` and an ``@aservice`` ``AsyncHandle`` of the
same service through calls, streams read part-way (whose source may raise),
streamed replies asked for with ``call()``, failures under a restart policy,
``throw``, ``reset``, ``restart``, dropped streams and ``close``. Each step's
outcome (the reply, or the error's type) must be what the model predicts, the
same on both handles, and both must then be in the model's state.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from typing import Any

from hypothesis import HealthCheck, settings, stateful
from hypothesis import strategies as st

import nanoservices as ns
from nanoservices import State
from nanoservices.aio import aservice, astreamed

LIMIT = 2  # restarts the policy allows


def _items(n: int, bad: bool) -> Iterator[int]:
    yield from range(n)
    if bad:
        raise ValueError("the source broke")


async def _aitems(n: int, bad: bool) -> AsyncIterator[int]:
    for i in range(n):
        await asyncio.sleep(0)
        yield i
    if bad:
        raise ValueError("the source broke")


@ns.service(restart=ns.OnFailure(LIMIT, per=3600.0))
def model() -> Generator[Any, Any, None]:
    total = 0
    reply: Any = None
    while True:
        try:
            request = yield reply
        except KeyError:
            reply = ("caught", total)
            continue
        if request == "boom":
            raise ValueError("boom")
        if isinstance(request, tuple):
            reply = ns.streamed(_items(request[1], request[2]))
        else:
            total += request
            reply = total


@aservice(restart=ns.OnFailure(LIMIT, per=3600.0))
async def amodel() -> AsyncGenerator[Any, Any]:
    total = 0
    reply: Any = None
    while True:
        try:
            request = yield reply
        except KeyError:
            reply = ("caught", total)
            continue
        if request == "boom":
            raise ValueError("boom")
        if isinstance(request, tuple):
            reply = astreamed(_aitems(request[1], request[2]))
        else:
            total += request
            reply = total


def _outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return ("ok", fn(*args))
    except StopIteration:
        return ("end", None)
    except StopAsyncIteration:
        return ("end", None)
    except Exception as exc:
        return ("error", type(exc).__name__)


_REFUSED = {
    State.STREAMING: "ServiceBusyError",
    State.FAILED: "ServiceFailedError",
    State.CLOSED: "ServiceClosedError",
}


class TwoEngines(stateful.RuleBasedStateMachine):
    """The model: ``state``, ``total``, the open stream's items to come, restarts used."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.sync = model()
        self.ahandle = self.loop.run_until_complete(self._astart())
        self.sync_items: Any = None
        self.async_items: Any = None
        self.state = State.READY
        self.total = 0
        self.pending: list[int] = []
        self.bad = False
        self.restarts = 0

    async def _astart(self) -> Any:
        return await amodel()

    def _arun(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def both(self, sync_fn: Any, async_fn: Any, *args: Any) -> tuple[str, Any]:
        """Run one operation on each engine; they must agree."""
        mine = _outcome(sync_fn, *args)
        theirs = _outcome(lambda *a: self._arun(async_fn(*a)), *args)
        assert mine == theirs, f"sync {mine} != async {theirs}"
        return mine

    def _fresh(self) -> None:
        self.state = State.READY
        self.total = 0
        self.pending = []

    def _end_stream(self) -> None:
        self.sync_items = self.async_items = None
        self.pending = []

    # -- rules ----------------------------------------------------------------------

    @stateful.rule(n=st.integers(0, 9))
    def call(self, n: int) -> None:
        outcome = self.both(self.sync.call, self.ahandle.call, n)
        if self.state is State.READY:
            self.total += n
            assert outcome == ("ok", self.total)
        else:
            assert outcome == ("error", _REFUSED[self.state])

    @stateful.rule(n=st.integers(0, 3))
    def call_a_streamed_reply(self, n: int) -> None:
        outcome = self.both(self.sync.call, self.ahandle.call, ("stream", n, False))
        if self.state is State.READY:
            assert outcome == ("error", "StreamReplyError")
        else:
            assert outcome == ("error", _REFUSED[self.state])

    @stateful.rule()
    def boom(self) -> None:
        outcome = self.both(self.sync.call, self.ahandle.call, "boom")
        if self.state is not State.READY:
            assert outcome == ("error", _REFUSED[self.state])
        elif self.restarts < LIMIT:
            assert outcome == ("error", "ServiceFailedError")
            self.restarts += 1
            self._fresh()
        else:
            assert outcome == ("error", "RestartLimitError")
            self.state = State.FAILED

    @stateful.rule(n=st.integers(0, 4), bad=st.booleans())
    def open_stream(self, n: int, bad: bool) -> None:
        def sync_open() -> Any:
            return self.sync.stream(("stream", n, bad))

        async def async_open() -> Any:
            return await self.ahandle.stream(("stream", n, bad)).open()

        mine = _outcome(sync_open)
        theirs = _outcome(lambda: self._arun(async_open()))
        if self.state is State.READY:
            assert mine[0] == theirs[0] == "ok"
            self.sync_items, self.async_items = mine[1], theirs[1]
            self.state = State.STREAMING
            self.pending, self.bad = list(range(n)), bad
        else:
            assert mine == theirs == ("error", _REFUSED[self.state])

    @stateful.precondition(lambda self: self.sync_items is not None)
    @stateful.rule(k=st.integers(1, 3))
    def read(self, k: int) -> None:
        for _ in range(k):
            if self.sync_items is None:
                return
            sync_next = self.sync_items.__next__
            outcome = self.both(sync_next, self.async_items.__anext__)
            if self.state is not State.STREAMING:  # ended by someone else: nothing more
                assert outcome == ("end", None)
            elif self.pending:
                assert outcome == ("ok", self.pending.pop(0))
            elif self.bad:
                assert outcome == ("error", "ServiceFailedError")
                self._end_stream()
                self.state = State.READY
            else:
                assert outcome == ("end", None)
                self._end_stream()
                self.state = State.READY

    @stateful.precondition(lambda self: self.sync_items is not None)
    @stateful.rule()
    def drop_stream(self) -> None:
        self.sync_items = self.async_items = None
        gc.collect()
        if self.state is State.STREAMING:
            self.state = State.READY
            self.pending = []

    @stateful.rule()
    def throw(self) -> None:
        outcome = self.both(self.sync.throw, self.ahandle.throw, KeyError("k"))
        if self.state in (State.READY, State.STREAMING):
            assert outcome == ("ok", ("caught", self.total))
            self.state = State.READY
            self._end_stream()
        else:
            assert outcome == ("error", _REFUSED[self.state])

    @stateful.rule()
    def reset(self) -> None:
        outcome = self.both(self.sync.reset, self.ahandle.reset)
        if self.state is State.CLOSED:
            assert outcome == ("error", "ServiceClosedError")
            return
        assert outcome == ("ok", None)
        if self.state is State.FAILED:
            self._fresh()
        self.state = State.READY
        self._end_stream()

    @stateful.rule()
    def restart(self) -> None:
        outcome = self.both(self.sync.restart, self.ahandle.restart)
        if self.state is State.CLOSED:
            assert outcome == ("error", "ServiceClosedError")
            return
        assert outcome == ("ok", None)
        self._fresh()
        self._end_stream()

    @stateful.rule()
    def close(self) -> None:
        assert self.both(self.sync.close, self.ahandle.aclose) == ("ok", None)
        self.state = State.CLOSED
        self._end_stream()

    # -- invariants ---------------------------------------------------------------------

    @stateful.invariant()
    def both_in_the_model_state(self) -> None:
        assert self.sync.state is self.state
        assert self.ahandle.state is self.state
        if self.sync_items is not None:
            assert self.sync_items.is_open == self.async_items.is_open

    def teardown(self) -> None:
        self.sync_items = self.async_items = None
        self.sync.close()
        self._arun(self.ahandle.aclose())
        gc.collect()
        self.loop.close()


TwoEngines.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestTwoEngines = TwoEngines.TestCase
