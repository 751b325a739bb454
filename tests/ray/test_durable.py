"""Durable services on Ray: a host that dies comes back with its services' state
replayed from their journals, not fresh; a key moves between hosts by a close on one
and an open on the other; one key is never open on two hosts.

A real local Ray; the journal is an SQLite file every host (on this machine) reaches.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import ray

from nanoservices import ServiceFailedError, State
from nanoservices.durable import KeyLockedError, SQLiteStore
from nanoservices.ray import ServiceHostPool
from tests.durable.services import Add, Count, Exit, Get, snapshots

pytestmark = pytest.mark.ray

COUNTER = "tests.durable.services:counter"


@pytest.fixture
def hosts(local_ray: None) -> Iterator[ServiceHostPool]:
    """Two host actors that Ray restarts whenever they die; killed at the end."""
    pool = ServiceHostPool(2, num_cpus=0.1, max_restarts=-1)
    yield pool
    pool.shutdown()


@pytest.fixture
def journal(tmp_path: Path) -> str:
    return str(tmp_path / "journal.sqlite")


def _restarted(actor: object, before: str) -> None:
    """Return once the killed actor answers from a new process (each ray.get waits for
    its answer: no sleeps; the kill is asynchronous, so an answer may still be the old one)."""
    for _ in range(1000):
        try:
            if ray.get(actor.ping.remote(), timeout=60) != before:  # type: ignore[attr-defined]
                return
        except ray.exceptions.RayActorError:
            continue
    raise AssertionError("Ray did not restart the killed actor")


def test_a_killed_host_comes_back_with_the_state_replayed(
    hosts: ServiceHostPool, journal: str
) -> None:
    h = hosts.start(COUNTER, key="acct-1", store=journal, host=0)
    other = hosts.start(COUNTER, key="acct-2", store=journal, host=0)
    assert h(Add(5)) == 5
    assert list(h.stream(Count(2))) == [1, 2]
    assert other(Add(100)) == 100
    actor = hosts.actors[0]
    before = ray.get(actor.ping.remote())
    ray.kill(actor, no_restart=False)
    _restarted(actor, before)
    # The restarted host did not know the sessions: each is reopened from its journal
    # and its request sent again (it never ran), so the caller sees no error at all.
    assert h(Add(1)) == 9
    assert h(Get()) == [2, 9]
    assert other(Get()) == [1, 100]
    assert (h.restarts, other.restarts) == (1, 1)
    h.close()
    other.close()


def test_the_request_in_flight_fails_once_and_nothing_acknowledged_is_lost(
    hosts: ServiceHostPool, journal: str
) -> None:
    h = hosts.start(COUNTER, key="acct-3", store=journal)
    acked = [h(Add(n)) for n in range(1, 11)]
    with pytest.raises(ServiceFailedError) as caught:
        h(Exit())  # the host's process ends in the middle of this request
    error = caught.value
    assert error.restarted
    assert "reopened under its key" in str(error)
    assert h.state is State.READY
    assert h(Get()) == [10, acked[-1]]  # every acknowledged request is back
    h.close()


def test_a_key_moves_between_hosts_by_close_and_open(hosts: ServiceHostPool, journal: str) -> None:
    h = hosts.start(COUNTER, key="acct-4", store=journal, host=0)
    h(Add(7))
    moved = hosts.move(h, 1)
    assert h.state is State.CLOSED
    assert moved(Get()) == [1, 7]
    assert hosts.loads() == [0, 1]
    with pytest.raises(KeyLockedError) as caught:  # never open on two hosts at once
        hosts.start(COUNTER, key="acct-4", store=journal, host=0)
    assert caught.value.key == "acct-4"
    moved.close()
    with hosts.start(COUNTER, key="acct-4", store=journal, host=0) as back:
        assert back(Get()) == [1, 7]


def test_snapshots_travel_with_the_session(hosts: ServiceHostPool, journal: str) -> None:
    with hosts.start(COUNTER, key="acct-5", store=journal, snapshots=snapshots(every=4)) as h:
        for _ in range(10):
            h(Add(1))
    with SQLiteStore(journal) as store:
        (info,) = store.list_keys()
    assert info.snapshot_seq > 0
    with hosts.start(COUNTER, key="acct-5", store=journal, snapshots=snapshots(every=4)) as h:
        assert h(Get()) == [10, 10]


def test_a_durable_session_is_declared_with_a_key_and_a_reachable_store(
    hosts: ServiceHostPool, journal: str
) -> None:
    with pytest.raises(ValueError, match="needs store="):
        hosts.start(COUNTER, key="k")
    with pytest.raises(ValueError, match="key="):
        hosts.start(COUNTER, store=journal)
    with SQLiteStore(journal) as store, pytest.raises(TypeError, match="cannot travel"):
        hosts.start(COUNTER, key="k", store=store)  # type: ignore[arg-type]
    plain = hosts.start(COUNTER)
    with pytest.raises(ValueError, match="only a keyed session moves"):
        hosts.move(plain, 1)
    plain.close()


def test_the_async_twin_resumes_a_durable_session_too(hosts: ServiceHostPool, journal: str) -> None:
    import asyncio

    h = hosts.start(COUNTER, key="acct-6", store=journal, host=1)
    h(Add(3))
    twin = h.aio()
    actor = hosts.actors[1]
    before = ray.get(actor.ping.remote())
    ray.kill(actor, no_restart=False)
    _restarted(actor, before)

    async def scenario() -> list[int]:
        reply: list[int] = await twin.call(Get())
        return reply

    assert asyncio.run(scenario()) == [1, 3]
    assert twin.restarts == 1
    h.close()
