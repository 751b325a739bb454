"""Issue 11 on Ray: ``state`` is the last state seen (``fetch_state()`` asks), every
handle verb exists on both Ray handles, ``call()`` on a streamed reply never drains it."""

from __future__ import annotations

import asyncio
import time

import pytest
import ray

from nanoservices import ServiceFailedError, State, StreamReplyError
from nanoservices.ray import ServiceHostPool

from .test_faults import _wait_for_a_new_incarnation

pytestmark = pytest.mark.ray

B = "nanoservices.examples.basics"
GREETER = "nanoservices.examples.greeter:greeter"


def test_state_is_the_last_state_seen_and_fetch_state_asks_the_host(
    pool: ServiceHostPool,
) -> None:
    a = pool.start(f"{B}:counter", 0, session="seen-state")
    b = pool.start(f"{B}:counter", 0, session="seen-state")
    assert a(1) == 1
    b.close()  # closed by another handle: only the host knows
    assert a.state is State.READY  # the last state a saw; no round trip in a property
    assert a.fetch_state() is State.CLOSED
    assert a.state is State.CLOSED


def test_state_follows_what_each_answer_reported(pool: ServiceHostPool) -> None:
    with pool.start(f"{B}:divider", 6.0) as h:
        assert h.state is State.READY
        with pytest.raises(ServiceFailedError):
            h(0.0)
        assert h.state is State.FAILED  # reported with the failure, not asked
        h.reset()
        assert h.state is State.READY
        assert h.fetch_state() is State.READY
    assert h.state is State.CLOSED
    assert h.fetch_state() is State.CLOSED


def test_state_never_asks_the_host(local_ray: None) -> None:
    hosts = ServiceHostPool(1, num_cpus=0.1, max_restarts=0)
    h = hosts.start(f"{B}:echo")
    assert h("x") == "x"
    ray.kill(hosts.actors[0], no_restart=True)  # a round trip would fail now
    _wait_until_dead(hosts.actors[0])
    assert h.state is State.READY  # what h last saw, at once
    assert h.fetch_state() is State.FAILED  # asking finds the host gone
    assert h.state is State.FAILED
    h.close()
    hosts.shutdown()


def test_the_async_handle_has_state_fetch_state_restart_and_greeting(
    pool: ServiceHostPool,
) -> None:
    async def scenario() -> None:
        async with pool.start(f"{B}:counter", 10).aio() as h:
            assert h.state is State.READY
            assert h.greeting == 10  # counter's priming yield is its starting total
            assert await h(5) == 15
            await h.restart()
            assert await h(1) == 11
            assert await h.fetch_state() is State.READY
        assert h.state is State.CLOSED

    asyncio.run(scenario())


def test_greeting_is_what_the_service_yielded_when_primed(pool: ServiceHostPool) -> None:
    with pool.start(GREETER, "Who is there?") as h:
        assert h.greeting == "Who is there?"
        assert h("Ada") == "Hello, Ada"
        assert h.aio().greeting == "Who is there?"
        h.restart()
        assert h.greeting == "Who is there?"


def test_a_restarted_host_greets_again(local_ray: None) -> None:
    with ServiceHostPool(1, num_cpus=0.1) as hosts:
        h = hosts.start(GREETER, "again?")
        before = ray.get(hosts.actors[0].ping.remote())
        ray.kill(hosts.actors[0], no_restart=False)
        _wait_for_a_new_incarnation(hosts.actors[0], before)  # the kill lands first
        with pytest.raises(ServiceFailedError) as caught:
            h("Ada")
        assert caught.value.restarted
        assert h.greeting == "again?"
        assert h("Ada") == "Hello, Ada"


def test_call_on_a_streamed_reply_leaves_the_async_handle_ready(pool: ServiceHostPool) -> None:
    async def scenario() -> list[int]:
        async with pool.start(f"{B}:countdown").aio() as h:
            with pytest.raises(StreamReplyError):
                await h.call(10**12)
            assert h.state is State.READY
            return [item async for item in h.stream(2)]

    assert asyncio.run(scenario()) == [2, 1]


def _wait_until_dead(actor: object) -> None:
    """Until a ``ray.kill`` has landed (it is asynchronous)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            ray.get(actor.ping.remote(), timeout=10)  # type: ignore[attr-defined]
        except ray.exceptions.RayActorError:
            return
        time.sleep(0.01)
    raise AssertionError("the killed actor still answers")
