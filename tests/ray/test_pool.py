"""Many services per actor: placement over a pool, named sessions, the registry binding."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from nanoservices import (
    Handle,
    ServiceBusyError,
    ServiceClosedError,
    ServiceFailedError,
    State,
    StreamReplyError,
)
from nanoservices.examples import basics
from nanoservices.ray import RayBinding, ServiceHostPool

pytestmark = pytest.mark.ray

B = "nanoservices.examples.basics"


def test_a_ray_handle_is_a_handle(pool: ServiceHostPool) -> None:
    with pool.start(basics.echo) as h:
        assert isinstance(h, Handle)
        assert h.name == "echo"
        assert h("x") == "x"


def test_a_factory_with_options_keeps_them_on_ray(pool: ServiceHostPool) -> None:
    with pool.start(basics.echo.with_options(name="parrot")) as h:
        assert h.name == "parrot"


def test_round_robin_spreads_sessions_over_the_hosts(pool: ServiceHostPool) -> None:
    before = pool.loads()
    handles = [pool.start(f"{B}:counter", i) for i in range(4)]
    assert [after - b for after, b in zip(pool.loads(), before, strict=True)] == [2, 2]
    assert [h(1) for h in handles] == [1, 2, 3, 4]  # one instance each, state apart
    for h in handles:
        h.close()
    assert pool.loads() == before


def test_least_loaded_placement_fills_the_emptier_host(local_ray: None) -> None:
    with ServiceHostPool(2, num_cpus=0.1, placement="least_loaded") as hosts:
        first = hosts.start(f"{B}:echo")
        hosts.start(f"{B}:echo")
        first.close()
        hosts.start(f"{B}:echo")
        assert sorted(hosts.loads()) == [1, 1]


def test_a_named_session_is_one_instance_for_every_caller(pool: ServiceHostPool) -> None:
    a = pool.start(f"{B}:counter", 10, session="tally")
    b = pool.start(f"{B}:counter", 10, session="tally")
    assert a(1) == 11
    assert b(1) == 12  # the same instance
    b.close()
    with pytest.raises(ServiceClosedError):
        a(1)
    assert a.state is State.CLOSED


def test_a_binding_resolves_a_name_to_the_same_ray_hosted_service(local_ray: None) -> None:
    binding = RayBinding(
        f"{B}:counter", args=(100,), session="shared-total", pool="bind-test", num_cpus=0.1
    )
    first, second = binding.make_handle(), binding.make_handle()
    try:
        assert first(1) == 101
        assert second(1) == 102
    finally:
        first.close()
        ServiceHostPool(1, name="bind-test", namespace="nanoservices").shutdown()


def test_the_registry_resolves_a_name_through_a_ray_binding(local_ray: None) -> None:
    from nanoservices.compose import Binding, Registry

    binding = RayBinding(f"{B}:times_five", pool="registry-test", num_cpus=0.1)
    assert isinstance(binding, Binding)
    registry = Registry()
    registry.bind("five", binding)
    try:
        assert registry.get("five")(3) == 15
        assert registry.listing()[0].name == "five"
    finally:
        registry.close()
        ServiceHostPool(1, name="registry-test", namespace="nanoservices").shutdown()


def test_call_on_a_streaming_service_is_refused(pool: ServiceHostPool) -> None:
    with pool.start(f"{B}:countdown") as h, pytest.raises(StreamReplyError):
        h.call(3)


def test_a_stream_fetched_one_item_at_a_time(pool: ServiceHostPool) -> None:
    with pool.start(f"{B}:countdown", batch=1) as h:
        assert list(h.stream(3)) == [3, 2, 1]
        assert h(-1) == [3]


def test_a_long_stream_arrives_whole_and_in_order(pool: ServiceHostPool) -> None:
    with pool.start(f"{B}:countdown") as h:
        assert list(h.stream(5000)) == list(range(5000, 0, -1))


def test_a_failing_stream_hands_out_its_items_then_the_error(pool: ServiceHostPool) -> None:
    with pool.start("nanoservices.examples.faults:failing_stream") as h:
        received: list[int] = []
        with pytest.raises(ServiceFailedError) as caught:
            received.extend(h.stream(40))
        assert received == list(range(40))
        assert caught.value.service == "failing_stream"
        assert isinstance(caught.value.__cause__, ValueError)
        assert h.state is State.READY


def test_start_many_and_the_memory_of_hosted_services(pool: ServiceHostPool) -> None:
    handles = pool.start_many(f"{B}:counter", 200)
    assert len(handles) == 200
    assert handles[0](5) == 5
    assert handles[-1](7) == 7
    assert sum(m["sessions"] for m in pool.memory()) >= 200
    for h in handles:
        h.close()


def test_the_async_twin_calls_and_streams(pool: ServiceHostPool) -> None:
    async def scenario() -> list[Any]:
        async with pool.start(f"{B}:countdown").aio() as h:
            items = [item async for item in h.stream(3)]
            partial = h.stream(100)
            first = await partial.__anext__()
            assert h.state is State.STREAMING
            with pytest.raises(ServiceBusyError):
                await h.call(1)
            await partial.cancel()
            assert await h.fetch_state() is State.READY
            return [items, first, await h(-1)]

    assert asyncio.run(scenario()) == [[3, 2, 1], 100, [3, 100]]
