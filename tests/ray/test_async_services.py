"""Async services (``@aservice``) on Ray: started like sync ones, run on the host's
event loop, cancelled at their own ``await`` by a deadline (the behaviour suite's
``ray-async`` transport runs the whole contract), restarted after a host crash,
durable under a key."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray

from nanoservices import DeadlineExceeded, ServiceFailedError, State
from nanoservices.examples import abasics
from nanoservices.ray import ServiceHostPool
from tests.durable.services import Add, Count, Get

pytestmark = pytest.mark.ray

CRASHER = "tests.ray.aservices:acrasher"


@pytest.fixture
def hosts(local_ray: None) -> Iterator[ServiceHostPool]:
    """One host actor that Ray restarts whenever it dies; killed at the end."""
    pool = ServiceHostPool(1, num_cpus=0.1, max_restarts=-1)
    yield pool
    pool.shutdown()


def test_an_async_service_factory_starts_on_a_host(pool: ServiceHostPool) -> None:
    with pool.start(abasics.counter, 5) as h:  # the factory itself, as for a sync service
        assert h.name == "counter"
        assert h.greeting == 5
        assert h.call(2) == 7
        assert h(3) == 10
        assert h.state is State.READY
    with pool.start("nanoservices.examples.abasics:countdown") as h:
        assert list(h.stream(3)) == [3, 2, 1]


def test_it_runs_on_the_hosts_event_loop(pool: ServiceHostPool) -> None:
    with pool.start(CRASHER) as h:
        assert h.call("where") == (True, "nanoservices-host-loop")


def test_a_deadline_cancels_it_at_its_await_on_the_host(pool: ServiceHostPool) -> None:
    with pool.start(abasics.patient) as h:
        with pytest.raises(DeadlineExceeded, match="cancelled"):
            h.call(["nap", 60], timeout=0.05)  # it would nap a minute: cancelled at its await
        assert h.state is State.FAILED  # as locally: it did not handle the cancellation
        h.reset()
        with pytest.raises(DeadlineExceeded):
            h.call(["until", 60], timeout=0.05)  # it handles the cancellation: notes it
        assert h.call("notes") == ["stopped"]
        assert h.state is State.READY


def test_the_awaitable_twin_drives_it_too(pool: ServiceHostPool) -> None:
    async def drive() -> tuple[int, list[int]]:
        twin = pool.start(abasics.countdown).aio()
        async with twin:
            return await twin.call(-1), [i async for i in twin.stream(3)]

    assert asyncio.run(drive()) == ([], [3, 2, 1])


def test_a_crash_restarts_it_from_its_factory(hosts: ServiceHostPool) -> None:
    h = hosts.start(CRASHER)
    assert h("a")[0] == 1
    with pytest.raises(ServiceFailedError) as caught:
        h("exit")  # the whole host process ends, its event loop with it
    assert caught.value.restarted
    assert caught.value.service == "acrasher"
    assert h("b")[0] == 1  # a fresh instance, on the restarted host's loop
    assert h.restarts == 1


def test_an_async_durable_session_comes_back_after_its_host_is_killed(
    hosts: ServiceHostPool, tmp_path: Path
) -> None:
    journal = str(tmp_path / "journal.sqlite")
    h = hosts.start("tests.durable.aservices:acounter", key="async-1", store=journal)
    assert h(Add(5)) == 5
    assert list(h.stream(Count(2))) == [1, 2]
    actor = hosts.actors[0]
    before = ray.get(actor.ping.remote())
    ray.kill(actor, no_restart=False)
    for _ in range(1000):  # each ray.get waits for an answer: no sleeps
        try:
            if ray.get(actor.ping.remote(), timeout=60) != before:
                break
        except ray.exceptions.RayActorError:
            continue
    assert h(Add(1)) == 9  # reopened from its journal on the new host, the request sent again
    assert h(Get()) == [2, 9]
    h.close()
