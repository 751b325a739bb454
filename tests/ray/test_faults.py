"""A service whose Ray host dies is restarted; its caller gets one clear error."""

from __future__ import annotations

import time

import pytest
import ray

from nanoservices import OnFailure, RestartLimitError, ServiceFailedError, State, TransportError
from nanoservices.ray import ServiceHostPool

pytestmark = pytest.mark.ray

CRASHER = "nanoservices.examples.faults:crasher"


@pytest.fixture
def hosts(local_ray: None) -> ServiceHostPool:
    """One host actor that Ray restarts whenever it dies; killed at the end."""
    pool = ServiceHostPool(1, num_cpus=0.1, max_restarts=-1)
    yield pool  # type: ignore[misc]
    pool.shutdown()


def test_a_crash_in_flight_fails_that_request_then_serves_again(hosts: ServiceHostPool) -> None:
    h = hosts.start(CRASHER)
    assert h("a")[0] == 1
    _, old_pid = h("b")
    with pytest.raises(ServiceFailedError) as caught:
        h("exit")  # os._exit inside the service: the whole actor process dies
    error = caught.value
    assert error.service == "crasher"
    assert error.request == "exit"
    assert error.restarted
    assert "lost with its Ray host actor" in str(error)
    count, pid = h("c")  # a fresh instance, in a fresh process
    assert count == 1
    assert pid != old_pid
    assert h.state is State.READY
    assert h.restarts == 1


def test_a_killed_actor_fails_the_next_request_of_every_session(hosts: ServiceHostPool) -> None:
    first, second = hosts.start(CRASHER), hosts.start(CRASHER)
    first("a"), second("a")
    actor = hosts.actors[0]
    before = ray.get(actor.ping.remote())
    ray.kill(actor, no_restart=False)
    _wait_for_a_new_incarnation(actor, before)  # the kill lands between requests
    for h in (first, second):
        with pytest.raises(ServiceFailedError) as caught:
            h("after the kill")
        assert caught.value.service == "crasher"
        assert caught.value.restarted
        assert h("again")[0] == 1  # served again, by a fresh instance
    assert hosts.loads() == [2]


def test_the_restart_policy_limits_restarts_after_host_crashes(hosts: ServiceHostPool) -> None:
    h = hosts.start(CRASHER, restart=OnFailure(1, per=60.0))
    with pytest.raises(ServiceFailedError):
        h("exit")
    assert h("a")[0] == 1
    with pytest.raises(RestartLimitError) as caught:
        h("exit")
    assert caught.value.service == "crasher"
    assert h.state is State.FAILED
    with pytest.raises(TransportError):
        h("a")


def test_a_host_ray_will_not_restart_gives_a_transport_error(local_ray: None) -> None:
    pool = ServiceHostPool(1, num_cpus=0.1, max_restarts=0)
    try:
        h = pool.start(CRASHER)
        with pytest.raises(TransportError) as caught:
            h("exit")
        assert caught.value.service == "crasher"
        assert "could not be reached again" in str(caught.value)
        assert h.state is State.FAILED
        h.close()  # nothing left to close: fine
    finally:
        pool.shutdown()


def test_the_async_handle_recovers_too(hosts: ServiceHostPool) -> None:
    import asyncio

    async def scenario() -> tuple[int, int]:
        h = hosts.start(CRASHER).aio()
        await h.call("a")
        with pytest.raises(ServiceFailedError) as caught:
            await h.call("exit")
        assert caught.value.restarted
        count, _ = await h("b")
        await h.close()
        return count, h.restarts

    assert asyncio.run(scenario()) == (1, 1)


def _wait_for_a_new_incarnation(actor: object, before: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if ray.get(actor.ping.remote(), timeout=10) != before:  # type: ignore[attr-defined]
                return
        except ray.exceptions.RayActorError:
            pass
        time.sleep(0.05)
    raise AssertionError("Ray did not restart the killed actor")


def test_an_open_stream_on_a_restarted_host_reports_its_loss(hosts: ServiceHostPool) -> None:
    h = hosts.start("nanoservices.examples.basics:countdown", batch=1)
    items = h.stream(100)
    assert next(items) == 100
    actor = hosts.actors[0]
    before = ray.get(actor.ping.remote())
    ray.kill(actor, no_restart=False)
    _wait_for_a_new_incarnation(actor, before)
    with pytest.raises(ServiceFailedError) as caught:
        list(items)  # never a quiet, early end: the rest of the stream was lost
    assert caught.value.restarted
    assert list(h.stream(2)) == [2, 1]
