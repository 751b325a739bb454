"""The durable handle: what is journalled, what replay reproduces, what it refuses."""

from __future__ import annotations

import itertools
import time
from collections.abc import Generator
from typing import Any

import pytest

from nanoservices import InvalidRequestError, ServiceClosedError, ServiceFailedError, State, service
from nanoservices.durable import (
    JournalStore,
    JournalTypeError,
    KeyLockedError,
    Replayable,
    ReplayMismatchError,
    durable,
)

from .services import Add, Boom, Count, Get, counter, snapshots


def reopen(store: JournalStore, **options: Any) -> Any:
    return durable(counter, key="k", store=store, **options)


def test_replay_brings_the_state_back(store: JournalStore) -> None:
    with reopen(store) as handle:
        handle.call(Add(3))
        handle.call(Add(4))
    with reopen(store) as again:
        assert again.call(Get()) == [2, 7]
        assert again.stats.replayed == 2


def test_refused_requests_are_not_journalled(store: JournalStore) -> None:
    with reopen(store) as handle:
        with pytest.raises(InvalidRequestError):
            handle.call("not a request")  # validation: the service never saw it
        with pytest.raises(InvalidRequestError, match="msgspec"):
            handle.call(Add(object()))  # type: ignore[arg-type]
        assert handle.stats.last_seq == 0
        handle.call(Add(1))
        assert handle.stats.last_seq == 1


def test_a_failure_is_journalled_and_replayed(store: JournalStore) -> None:
    with reopen(store) as handle:
        handle.call(Add(2))
        with pytest.raises(ServiceFailedError):
            handle.call(Add(-1))
        assert handle.state is State.FAILED
        with pytest.raises(ServiceFailedError):
            handle.call(Add(1))  # refused by the state: not journalled
        assert handle.stats.last_seq == 2
    with reopen(store) as again:
        assert again.state is State.FAILED
        again.reset()  # restarts a failed service (journalled)
        assert again.call(Get()) == [0, 0]
    with reopen(store) as third:
        assert third.call(Get()) == [0, 0]


def test_streams_replay_as_far_as_they_were_read(store: JournalStore) -> None:
    with reopen(store) as handle:
        stream = handle.stream(Count(10))
        assert [next(stream), next(stream), next(stream)] == [1, 2, 3]
        stream.cancel()  # read 3 of 10: the total grew by 6
        assert list(handle.stream(Count(2))) == [1, 2]  # read to the end: +3
        for item in handle.stream(Count(5)):
            if item == 2:
                break  # dropped after 2 items: +3
        assert handle.call(Get()) == [0, 12]
    with reopen(store) as again:
        assert again.call(Get()) == [0, 12]


def test_reset_and_throw_and_restart_are_journalled(store: JournalStore) -> None:
    with reopen(store) as handle:
        handle.call(Add(5))
        stream = handle.stream(Count(4))
        next(stream)  # +1
        handle.reset()  # ends the stream
        assert handle.throw(Boom) == -6
        handle.call(Add(1))
    with reopen(store) as again:
        assert again.call(Get()) == [2, -5]
        again.restart()
    with reopen(store) as third:
        assert third.call(Get()) == [0, 0]


def test_a_journal_that_ends_inside_a_stream_is_closed_on_open(store: JournalStore) -> None:
    handle = reopen(store)
    stream = handle.stream(Count(5))
    next(stream)
    next(stream)
    # The process dies here: simulate by giving the key back without closing.
    handle.store.unlock("k")
    with reopen(store) as again:
        assert again.state is State.READY  # the dead reader's stream is cancelled
        assert again.call(Get()) == [0, 3]
    del stream, handle


_calls = itertools.count()


@service
def clocked() -> Generator[int, int, None]:
    reply = 0
    while True:
        n = yield reply
        reply = n + next(_calls)  # reads a global: not replayable as is


def test_a_reply_that_differs_on_replay_names_key_entry_and_request(store: JournalStore) -> None:
    with durable(clocked, key="acct-7", store=store) as handle:
        handle.call(10)
        handle.call(20)
    with pytest.raises(ReplayMismatchError) as caught:
        durable(clocked, key="acct-7", store=store)
    error = caught.value
    assert (error.key, error.seq, error.request) == ("acct-7", 1, 10)
    assert "acct-7" in str(error)
    assert "entry 1" in str(error)
    assert "10" in str(error)
    store.lock("acct-7")  # the failed open gave the key back
    store.unlock("acct-7")


@service
def counter_of_ints() -> Generator[int, int, None]:
    total = 0
    while True:
        total += yield total


def test_a_changed_request_type_fails_replay_clearly(store: JournalStore) -> None:
    with reopen(store) as handle:
        handle.call(Add(3))
    with pytest.raises(JournalTypeError, match=r"entry 1 .*request type") as caught:
        durable(counter_of_ints, key="k", store=store)
    assert caught.value.key == "k"


@service
def timestamped(clock: Replayable) -> Generator[list[int], str, None]:
    seen: list[int] = []
    while True:
        yield list(seen)
        seen.append(clock(time.perf_counter_ns))  # a side effect: another value each run


def test_replayable_side_effects_return_their_recorded_result(store: JournalStore) -> None:
    with durable(timestamped, Replayable(), key="t", store=store) as handle:
        handle.call("a")
        handle.call("b")
        live = handle.call("c")
    with durable(timestamped, Replayable(), key="t", store=store) as again:
        assert again.stats.replayed == 6  # three requests, three recorded results
        assert again.call("d")[:3] == live  # replay got the recorded values back


def test_snapshots_compact_the_journal(store: JournalStore) -> None:
    with reopen(store, snapshots=snapshots(every=3)) as handle:
        for n in range(1, 11):
            handle.call(Add(n))
        assert handle.stats.journal_length < 3
        assert handle.stats.snapshot_seq == 9
    keys = store.list_keys()
    assert keys[0].entries == 1
    assert keys[0].snapshot_seq == 9
    with reopen(store, snapshots=snapshots(every=3)) as again:
        assert again.stats.replayed == 1
        assert again.call(Get()) == [10, 55]


def test_a_snapshot_needs_a_restore(store: JournalStore) -> None:
    with reopen(store, snapshots=snapshots(every=1)) as handle:
        handle.call(Add(1))
    with pytest.raises(Exception, match="no snapshots= was given"):
        reopen(store)


def test_the_core_offers_no_durable_shortcut() -> None:
    # The core imports no other subpackage (ARCHITECTURE.md): ``durable(factory, key=...)``
    # is the one spelling, not a method on every factory.
    assert not hasattr(counter, "durable")


def test_a_closed_durable_handle_refuses_like_any_handle(store: JournalStore) -> None:
    handle = reopen(store)
    handle.call(Add(1))
    handle.close()
    with pytest.raises(ServiceClosedError):
        handle.call(Add(2))
    with reopen(store) as again:  # a second close of the first must not free this one's key
        handle.close()
        with pytest.raises(KeyLockedError):
            reopen(store)
        assert again.call(Get()) == [1, 1]
