"""Time travel: a key's history replayed to any step, on every store.

Over a ``yield from`` chain (the ledger and its audit), a typed service (the
counter: requests come back as their structs, streams, throws, failures) and an
async service (the async counter).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from nanoservices import ServiceFailedError, replaying, service
from nanoservices.aio import aservice
from nanoservices.durable import (
    JournalError,
    JournalStore,
    MemoryStore,
    ReplayMismatchError,
    Snapshots,
    adurable,
    durable,
    history,
)
from nanoservices.examples.ledger import (
    Audit,
    Balance,
    Check,
    Close,
    Deposit,
    Withdraw,
    fixed_ledger,
    ledger,
)

from .aservices import acounter
from .conftest import open_store
from .services import Add, Boom, Count, Get, Request, counter, snapshots


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JournalStore]:
    """A fresh store of each kind: in memory, an SQLite file, a PostgreSQL database."""
    if request.param == "memory":
        opened: JournalStore = MemoryStore()
    elif request.param == "sqlite":
        opened = open_store(str(tmp_path / "journal.sqlite"))
    else:
        cluster = request.getfixturevalue("pg_cluster")
        opened = open_store(cluster.create_database(f"h{uuid.uuid4().hex[:12]}"))
    with opened:
        yield opened


def _audited(store: JournalStore, alerts: list[str], key: str = "acme") -> None:
    """Seven steps; the balance goes negative at step 5, inside the audit."""
    with durable(ledger, alerts.append, key=key, store=store) as h:
        assert h.call(Deposit(100)) == 100
        assert h.call(Withdraw(30)) == 70
        h.call(Audit(fee=40))
        assert h.call(Check("rent")) == 30
        assert h.call(Check("food")) == -10
        assert h.call(Close()) == -10
        assert h.call(Balance()) == -10


def _chain(moment: Any) -> list[str]:
    return [view.function for view in moment.chain]


def test_steps_come_back_typed_with_replies_errors_and_times(store: JournalStore) -> None:
    with durable(counter, key="c", store=store) as h:
        h.call(Add(2))
        with pytest.raises(ServiceFailedError):
            h.call(Add(-1))
        h.restart()
        h.call(Add(5))
        h.throw(Boom())
        assert list(h.stream(Count(2))) == [1, 2]
        h.call(Get())
    with history(counter, key="c", store=store) as hist:
        assert len(hist) == 10
        steps = list(hist)
        assert [s.kind for s in steps] == [
            "call", "call", "restart", "call", "throw", "stream", "item", "item", "end", "call",
        ]  # fmt: skip
        assert steps[0].request == Add(2)
        assert type(steps[0].request) is Add
        assert steps[0].reply == 2
        assert steps[0].error is None
        assert isinstance(steps[1].error, ServiceFailedError)
        assert isinstance(steps[1].error.__cause__, ValueError)
        assert isinstance(steps[4].request, Boom)
        assert steps[4].reply == -5
        assert [steps[6].reply, steps[7].reply] == [1, 2]
        assert steps[9].reply == [1, -2]  # -5 + 1 + 2
        assert all(s.matches and s.replayed for s in steps)
        times = [s.time for s in steps]
        assert all(t is not None for t in times)
        assert times == sorted(times)  # type: ignore[type-var]


def test_the_frame_after_any_step_shows_the_yield_from_chain(store: JournalStore) -> None:
    _audited(store, [])
    with history(ledger, key="acme", store=store) as hist:
        moment = hist.at(5)
        assert _chain(moment) == ["ledger", "_ledger", "audit"]
        audit = moment.chain[2]
        assert audit.locals["balance"] == "-10"
        assert audit.locals["checked"] == "['rent', 'food']"
        assert audit.source == "request = yield reply"
        assert moment.step is not None
        assert moment.step.request == Check("food")
        assert _chain(hist.at(2)) == ["ledger", "_ledger"]  # before the audit
        assert hist.at(0).step is None
        assert hist.at(0).chain[1].locals["balance"] == "0"
        assert "audit" in hist.at(4).where()
        with pytest.raises(IndexError, match="step 8 is not in the journal"):
            hist.at(8)
        with pytest.raises(IndexError, match=r"steps 1 to 7, or 0 for the start\)$"):
            hist.at(-1)  # a moment may be the start, so the error says it


def test_forward_and_back_move_one_step(store: JournalStore) -> None:
    _audited(store, [])
    with history(ledger, key="acme", store=store) as hist:
        hist.at(3)
        assert hist.forward().chain[2].locals["balance"] == "30"
        assert hist.position == 4
        assert hist.back().chain[2].locals["balance"] == "70"
        assert hist.position == 3
        assert hist.at(7).chain[1].locals["reply"] == "-10"


def test_diff_and_changes_find_where_the_balance_went_negative(store: JournalStore) -> None:
    _audited(store, [])
    with history(ledger, key="acme", store=store) as hist:
        diff = {(c.function, c.name): (c.before, c.after) for c in hist.diff(4, 5)}
        assert diff[("audit", "balance")] == ("30", "-10")
        assert diff[("audit", "request")] == ("Check(entry='rent')", "Check(entry='food')")
        assert ("_ledger", "balance") not in diff
        changes = [(c.seq, c.function, c.after) for c in hist.changes("balance")]
        assert changes == [
            (1, "_ledger", "100"),
            (2, "_ledger", "70"),
            (3, "audit", "70"),
            (4, "audit", "30"),
            (5, "audit", "-10"),
            (6, "_ledger", "-10"),
            (6, "audit", None),
        ]
        negative = next(c for c in hist.changes("balance", function="audit") if c.after == "-10")
        assert negative.seq == 5


def test_replaying_is_true_while_a_history_replays(store: JournalStore) -> None:
    alerts: list[str] = []
    _audited(store, alerts)
    assert alerts == ["balance -10 after checking food"]  # live: the alert went out
    with history(ledger, alerts.append, key="acme", store=store) as hist:
        assert hist[5].reply == -10
    assert alerts == ["balance -10 after checking food"]  # replayed: not sent again
    assert not replaying()


def test_a_fork_continues_from_a_step_and_leaves_the_original_alone(store: JournalStore) -> None:
    _audited(store, [])
    with history(ledger, key="acme", store=store) as hist:
        with hist.fork(4, "acme-what-if") as fork:
            assert fork.call(Close()) == 30  # the audit closed before the second check
            assert fork.call(Withdraw(10)) == 20
        assert store.entries("acme").entries[-1].seq == 7
        with pytest.raises(JournalError, match="already has a journal"):
            hist.fork(2, "acme-what-if")
    with history(ledger, key="acme-what-if", store=store) as forked:
        assert len(forked) == 6
        assert forked[6].reply == 20


def test_divergence_names_the_first_step_edited_code_answers_differently(
    store: JournalStore,
) -> None:
    _audited(store, [])
    with history(ledger, key="acme", store=store) as hist:
        found = hist.diverge(fixed_ledger)
        assert found is not None
        assert found.seq == 5
        assert (found.step.reply, found.edited.reply) == (-10, 30)
        assert found.original.chain[2].function == "audit"
        assert found.changed.chain[2].function == "fixed_audit"
        assert found.changed.chain[2].locals["balance"] == "30"
        assert "step 5 diverges" in str(found)
        assert hist.diverge(ledger) is None


def test_the_history_of_an_async_service(store: JournalStore) -> None:
    async def write() -> None:
        h = await adurable(acounter, key="a", store=store)
        await h.call(Add(3))
        await h.call(Add(4))
        async with h.stream(Count(2)) as items:
            assert [i async for i in items] == [1, 2]
        await h.aclose()

    asyncio.run(write())
    with history(acounter, key="a", store=store) as hist:
        assert [s.kind for s in hist] == ["call", "call", "stream", "item", "item", "end"]
        assert hist[1].request == Add(3)
        assert hist[2].reply == 7
        moment = hist.at(2)
        assert moment.chain[0].function == "acounter"
        assert moment.chain[0].locals["total"] == "7"
        assert hist.back().chain[0].locals["total"] == "3"

        async def fork() -> Any:
            h = await hist.fork(2, "a2")
            try:
                return await h.call(Get())
            finally:
                await h.aclose()

        assert asyncio.run(fork()) == [2, 7]


@service
def counted(starts: list[int], seen: list[object]) -> Generator[Any, Any, None]:
    """A counter that tells how often it was started and what it was sent (the cost
    of moving through its history, counted instead of timed)."""
    starts.append(1)
    total = 0
    reply: Any = None
    while True:
        request = yield reply
        seen.append(request)
        if isinstance(request, list):  # a snapshot being restored
            total = request[0]
        elif request is not None:
            total += request
        reply = total if request is not None else [total]


def _counted_snapshots(every: int) -> Snapshots:
    return Snapshots(
        take=lambda h: h.call(None), restore=lambda h, s: h.call(s), every=every, state_type=list
    )


def test_moving_back_replays_from_the_nearest_checkpoint(store: JournalStore) -> None:
    starts: list[int] = []
    seen: list[object] = []
    with durable(counted, starts, seen, key="n", store=store) as h:
        for _ in range(30):
            h.call(1)
    starts.clear()
    seen.clear()
    snaps = _counted_snapshots(1000)  # the journal is not compacted: checkpoints every 10
    with history(counted, starts, seen, key="n", store=store, snapshots=snaps, every=10) as hist:
        assert hist.at(25).chain[0].locals["total"] == "25"
        assert len(starts) == 1
        before = len(seen)
        assert hist.forward().chain[0].locals["total"] == "26"
        assert (len(starts), len(seen) - before) == (1, 1)  # one more request, no restart
        before = len(seen)
        assert hist.at(24).chain[0].locals["total"] == "24"
        # a fresh instance at the checkpoint of step 20: restored, then steps 21 to 24
        assert len(starts) == 2
        assert seen[before:] == [[20], 1, 1, 1, 1]
        assert hist.at(3).chain[0].locals["total"] == "3"  # before any checkpoint: the start
        assert len(starts) == 3


def test_a_journal_starting_from_a_snapshot(store: JournalStore) -> None:
    with durable(counter, key="s", store=store, snapshots=snapshots(every=4)) as h:
        for n in range(1, 7):
            h.call(Add(n))
    with pytest.raises(JournalError, match="starts from a snapshot"):
        history(counter, key="s", store=store)
    with history(counter, key="s", store=store, snapshots=snapshots()) as hist:
        assert (hist.first, hist.last, len(hist)) == (4, 6, 2)
        assert hist.at(4).chain[0].locals["total"] == "10"
        assert hist[6].reply == 21
        with pytest.raises(IndexError):
            hist.at(3)


_VARIANT = {"offset": 0}


@service(name="drifting")
def drifting() -> Generator[Any, Any, None]:
    """Replies with what it is sent plus a module-level offset (not deterministic)."""
    reply: Any = None
    while True:
        request = yield reply
        reply = request + _VARIANT["offset"]


def test_a_step_whose_replay_differs_is_refused_unless_forced(store: JournalStore) -> None:
    with durable(drifting, key="d", store=store) as h:
        h.call(1)
        h.call(2)
    _VARIANT["offset"] = 1
    try:
        with (
            history(drifting, key="d", store=store) as hist,
            pytest.raises(ReplayMismatchError, match="entry 1"),
        ):
            hist.at(2)
        with history(drifting, key="d", store=store, force=True) as hist:
            assert hist[2].reply == 3
            assert not hist[2].matches
    finally:
        _VARIANT["offset"] = 0


@service
def keeper_of_secrets() -> Generator[Any, Any, None]:
    api_token = "s3cr3t"
    reply: Any = None
    while True:
        request = yield reply
        reply = (request, len(api_token))


def test_locals_are_redacted_as_inspect_redacts(store: JournalStore) -> None:
    with durable(keeper_of_secrets, key="x", store=store) as h:
        h.call("hello")
    with history(keeper_of_secrets, key="x", store=store) as hist:
        assert hist.at(1).chain[0].locals["api_token"] == "<hidden>"
    with history(keeper_of_secrets, key="x", store=store, redact=None) as hist:
        assert hist.at(1).chain[0].locals["api_token"] == "'s3cr3t'"


def test_no_journal_no_history(store: JournalStore) -> None:
    with pytest.raises(JournalError, match="no journal"):
        history(counter, key="nothing", store=store)


def test_the_time_travel_benchmark_runs() -> None:
    """A smoke run of the benchmark's time travel rows (no speed asserted here)."""
    from nanoservices._bench._travel import measure_time_travel, render

    figures = measure_time_travel(steps=300, every=50, samples=5)
    assert figures.steps == 300
    assert figures.at_median_ms > 0
    assert figures.replay_per_entry_us > 0
    assert "at(n), random n: median" in render(figures)


def test_a_replayed_nap_is_instant(store: JournalStore) -> None:
    """The bundled ``patient`` skips its sleep when replaying (counted, not timed: the
    nap's reply and the notes come back, and replaying() was true around the step)."""
    from nanoservices.examples.basics import patient

    with durable(patient, key="p", store=store) as h:
        assert h.call(["note", "before"]) == "before"
        assert h.call(["nap", 0.01]) == "rested"
    slept: list[float] = []
    import nanoservices.examples.basics as basics

    real_sleep = basics.time.sleep
    basics.time.sleep = slept.append  # type: ignore[assignment]
    try:
        with history(patient, key="p", store=store) as hist:
            assert hist[2].reply == "rested"
    finally:
        basics.time.sleep = real_sleep  # type: ignore[assignment]
    assert slept == []


def test_debug_refuses_an_async_service(store: JournalStore) -> None:
    async def write() -> None:
        h = await adurable(acounter, key="a", store=store)
        await h.call(Add(1))
        await h.aclose()

    asyncio.run(write())
    with (
        history(acounter, key="a", store=store) as hist,
        pytest.raises(JournalError, match="sync service") as refused,
    ):
        hist.debug(1)
    assert "journal inspect --at N" in str(refused.value)  # what to use instead, there too
    assert hist.position == hist.first  # refused before replaying anything


def test_a_journal_written_by_another_factory_is_refused_unless_forced(
    store: JournalStore,
) -> None:
    _audited(store, [])
    recorded = store.factory_of("acme")
    assert recorded is not None
    assert recorded[0] == "nanoservices.examples.ledger:ledger"
    refused = r"written by nanoservices\.examples\.ledger:ledger, not"
    with pytest.raises(JournalError, match=refused):
        history(fixed_ledger, key="acme", store=store)
    with history(fixed_ledger, key="acme", store=store, force=True) as hist:
        assert hist[5].reply == 30  # its own answers, not the journal's: forced
        assert not hist[5].matches


def test_a_journal_written_before_the_code_changed_is_refused_unless_forced(
    store: JournalStore,
) -> None:
    _audited(store, [])
    store.record_factory("acme", "nanoservices.examples.ledger:ledger", "0" * 16)
    with pytest.raises(JournalError, match="changed since the journal was written"):
        history(ledger, key="acme", store=store)
    with history(ledger, key="acme", store=store, force=True) as hist:
        assert hist[5].reply == -10
    with durable(ledger, key="acme", store=store) as h:  # reopening records the code now
        h.call(Balance())
    with history(ledger, key="acme", store=store) as hist:
        assert len(hist) == 8


def test_a_fork_of_a_journal_that_starts_from_a_snapshot(store: JournalStore) -> None:
    with durable(counter, key="s", store=store, snapshots=snapshots(every=4)) as h:
        for n in range(1, 7):
            h.call(Add(n))
    with history(counter, key="s", store=store, snapshots=snapshots()) as hist:
        with hist.fork(5, "s2") as fork:
            assert fork.call(Get()) == [5, 15]  # the snapshot's 4 adds, then step 5
        assert store.entries("s").snapshot_seq == 4  # the original is untouched
    with durable(counter, key="s2", store=store, snapshots=snapshots()) as again:
        assert again.call(Get()) == [5, 15]


@aservice
async def adoubling() -> AsyncGenerator[Any, Request]:
    """The async counter's edit: adds twice what it is sent."""
    total = 0
    reply: Any = None
    while True:
        request = yield reply
        total += 2 * request.n if isinstance(request, Add) else 0
        reply = total


def test_divergence_of_an_async_service(store: JournalStore) -> None:
    async def write() -> None:
        h = await adurable(acounter, key="a", store=store)
        await h.call(Add(0))
        await h.call(Add(3))
        await h.aclose()

    asyncio.run(write())
    with history(acounter, key="a", store=store) as hist:
        found = hist.diverge(adoubling)
        assert found is not None
        assert (found.seq, found.step.reply, found.edited.reply) == (2, 3, 6)
        assert found.changed.chain[0].function == "adoubling"
