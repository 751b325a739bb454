"""Deadlines in the core: the error, ``remaining()``, and what each sync handle does.

The contract on every transport is ``tests/conformance/test_contract_deadlines.py``;
here are the parts only an in-process test can see (the hot path stays bare, a
deadline passed on to a nested call, the turn of a shared handle, the async
states). No timed asserts: events, outcomes and states.
"""

from __future__ import annotations

import asyncio
import math
import pickle
import threading
from collections.abc import AsyncGenerator, Generator, Iterator
from typing import Any

import pytest

import nanoservices as ns
from nanoservices import DeadlineExceeded, State, remaining
from nanoservices.aio import aservice, to_async
from nanoservices.examples.basics import patient


@ns.service
def asks() -> Generator[Any, Any, None]:
    """Replies with the time left, or with what a nested service saw."""
    reply: Any = None
    while True:
        request = yield reply
        reply = remaining() if request is None else request.call(None, timeout=60.0)


def test_the_error_is_a_service_error_and_a_timeout_error_that_pickles() -> None:
    error = DeadlineExceeded("svc", {"q": 1}, 0.5)
    assert isinstance(error, ns.ServiceError)
    assert isinstance(error, TimeoutError)
    assert str(error) == "service 'svc': request {'q': 1} missed its deadline (0.5s)"
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is DeadlineExceeded
    assert (copy.service, copy.request, copy.timeout, str(copy)) == (
        "svc", {"q": 1}, 0.5, str(error),
    )  # fmt: skip


def test_a_large_request_is_shortened_in_the_message() -> None:
    error = DeadlineExceeded("svc", "secret" * 10_000, 1.0)
    assert len(str(error)) < 200
    assert error.request == "secret" * 10_000  # kept whole as an attribute


@pytest.mark.parametrize("bad", [-1, math.nan])
def test_a_negative_or_nan_timeout_is_refused(bad: float) -> None:
    with patient() as h, pytest.raises(ValueError, match="timeout must be >= 0"):
        h.call("notes", timeout=bad)


@pytest.mark.parametrize("bad", [True, "1", [1]])
def test_a_timeout_that_is_not_a_number_is_refused(bad: Any) -> None:
    with patient() as h, pytest.raises(TypeError, match="timeout must be a number"):
        h.call("notes", timeout=bad)


def test_remaining_is_none_outside_a_deadline_and_inside_one_without() -> None:
    assert remaining() is None
    with asks() as h:
        assert h.call(None) is None
        assert 0 < h.call(None, timeout=5.0) <= 5.0


def test_a_nested_call_gets_the_earlier_deadline() -> None:
    with asks() as outer, asks() as inner:
        seen = outer.call(inner, timeout=1.0)  # the inner call asks for 60 s
        assert 0 < seen <= 1.0


def test_without_a_deadline_the_local_hot_path_stays_the_bare_generator() -> None:
    with asks() as h:
        assert h._sink is h.generator
        h.timeout = 5.0
        assert h._sink is not h.generator  # the default lives in the sink, not in call()
        assert 0 < h.call(None) <= 5.0
        h.timeout = None
        assert h._sink is h.generator


def test_a_local_stream_checks_its_deadline_at_each_item() -> None:
    with patient() as h:
        items = h.stream(["ticks", 5], timeout=60.0)
        assert next(items) == 0
        items._at = 0.0  # type: ignore[attr-defined]  # as if the deadline had passed
        with pytest.raises(DeadlineExceeded, match="passed its deadline"):
            next(items)
        assert not items.is_open
        assert h.call("notes") == ["finally"]
        assert h.state is State.READY


def _holding(h: ns.core.SharedHandle[Any, Any]) -> Iterator[None]:
    """A stream opened by another thread holds the shared handle's turn until told."""
    opened, done = threading.Event(), threading.Event()

    def hold() -> None:
        with h.stream(["ticks", 3]) as items:
            next(items)
            opened.set()
            done.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    opened.wait(10)
    try:
        yield
    finally:
        done.set()
        thread.join(10)


def test_the_wait_for_a_shared_turn_counts_against_the_deadline() -> None:
    with patient().shared() as h:
        for _ in _holding(h):
            with pytest.raises(DeadlineExceeded, match="waiting for a turn") as caught:
                h.call(["note", "late"], timeout=0.05)
            assert caught.value.request == ["note", "late"]
        assert h.call("notes") == ["finally"]  # the note never ran


def test_a_shared_handles_own_bound_on_the_turn_wins_when_shorter() -> None:
    with patient().shared(timeout=0.01) as h:
        for _ in _holding(h):
            with pytest.raises(ns.ServiceBusyError, match="still busy"):
                h.call(["note", "late"], timeout=60.0)


def test_a_shared_default_deadline_counts_the_turn_too() -> None:
    with patient().shared() as h:
        h.timeout = 0.05
        for _ in _holding(h):
            with pytest.raises(DeadlineExceeded):
                h.call(["note", "late"])
        h.timeout = None
        assert h.call("notes") == ["finally"]


def _cancellable(handles: bool, policy: ns.RestartPolicy | None) -> Any:
    @aservice(name="cancellable", restart=policy)
    async def cancellable() -> AsyncGenerator[Any, Any]:
        reply: Any = None
        while True:
            request = yield reply
            if request == "quick":
                reply = "quick"
                continue
            try:
                await asyncio.Event().wait()  # only a cancellation ends it
            except asyncio.CancelledError:
                if not handles:
                    raise
                reply = "cancelled"

    return cancellable


@pytest.mark.parametrize(
    ("handles", "policy", "state"),
    [
        (True, None, State.READY),
        (False, None, State.FAILED),
        (False, ns.OnFailure(3), State.READY),  # restarted by its policy
    ],
)
def test_an_async_deadline_cancels_the_call_and_leaves_the_contracted_state(
    handles: bool, policy: ns.RestartPolicy | None, state: State
) -> None:
    async def main() -> None:
        h = await _cancellable(handles, policy)()
        with pytest.raises(DeadlineExceeded, match="was cancelled") as caught:
            await h.call("wait", timeout=0.01)
        assert caught.value.service == "cancellable"
        assert h.state is state
        if state is State.READY:
            assert await h.call("quick") == "quick"
        assert h.supervision.restarts == (1 if policy is not None else 0)

    asyncio.run(main())


def test_a_cancellation_from_outside_stays_a_cancelled_error() -> None:
    async def main() -> None:
        h = await _cancellable(True, None)()
        task = asyncio.ensure_future(h.call("wait", timeout=60.0))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert h.state is State.READY

    asyncio.run(main())


def test_a_wrapped_sync_service_sees_the_deadline_inline_and_offloaded() -> None:
    async def main() -> None:
        for offload in (False, True):
            h = to_async(patient(), offload=offload)
            assert await h.call("remaining") is None
            assert 0 < await h.call("remaining", timeout=5.0) <= 5.0
            await h.aclose()

    asyncio.run(main())


def test_a_durable_handle_refuses_a_passed_deadline_without_journalling_it(
    tmp_path: Any,
) -> None:
    from nanoservices.durable import SQLiteStore, durable

    store = SQLiteStore(str(tmp_path / "journal.sqlite"))
    try:
        with durable(asks, key="k", store=store) as h:  # it reads its deadline
            assert 0 < h.call(None, timeout=5.0) <= 5.0
            h.timeout = 5.0
            assert 0 < h.call(None) <= 5.0
        with durable(patient, key="notes", store=store) as h:
            with pytest.raises(DeadlineExceeded):
                h.call(["note", "late"], timeout=0)
            with pytest.raises(DeadlineExceeded):
                h.stream(["ticks", 2], timeout=0)
            assert h.call(["note", "kept"], timeout=5.0) == "kept"
        with durable(patient, key="notes", store=store) as h:
            assert h.stats.replayed == 1  # the refused requests left no entry
            assert h.call("notes") == ["kept"]
    finally:
        store.close()


def test_a_registry_name_passes_the_deadline_on() -> None:
    registry = ns.Registry()
    registry.register("asks", asks)
    ref = registry.get("asks")
    assert 0 < ref.call(None, timeout=5.0) <= 5.0
    with pytest.raises(DeadlineExceeded):
        ref.call(None, timeout=0)
    registry.close()
