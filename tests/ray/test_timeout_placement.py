"""A caller-chosen bound on how long a Ray operation waits, and placement a user chooses."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import ray

from nanoservices import TransportError
from nanoservices.ray import RayTimeoutError, ServiceHostPool

pytestmark = pytest.mark.ray

BLOCKER = "nanoservices.examples.faults:blocker"
B = "nanoservices.examples.basics"


def _wait_for(path: Path) -> None:
    """Until the service has created ``path`` (it is running the request)."""
    while not path.exists():
        time.sleep(0.01)


@pytest.mark.timeout(120)
def test_a_call_that_gets_no_answer_raises_a_timeout_error_naming_the_service(
    local_ray: None, tmp_path: Path
) -> None:
    with ServiceHostPool(1, num_cpus=0.1) as hosts:
        h = hosts.start(BLOCKER)
        assert h("a")[0] == 1
        with pytest.raises(RayTimeoutError) as caught:
            h(("block", str(tmp_path / "running")), timeout=0.5)
        error = caught.value
        assert isinstance(error, TransportError)
        assert isinstance(error, TimeoutError)
        assert error.service == "blocker"
        assert "within 0.5 s" in str(error)
        assert (tmp_path / "running").exists()  # it did reach the service


@pytest.mark.timeout(120)
def test_the_handle_default_bounds_every_operation(local_ray: None, tmp_path: Path) -> None:
    with ServiceHostPool(1, num_cpus=0.1) as hosts:
        stuck = hosts.start(BLOCKER, timeout=0.5)
        other = hosts.start(f"{B}:echo", timeout=0.5)  # the same host: its methods take turns
        assert stuck.timeout == 0.5
        with pytest.raises(RayTimeoutError):
            stuck(("block", str(tmp_path / "running")))
        for operation in (lambda: other("x"), other.reset, other.fetch_state, other.restart):
            with pytest.raises(RayTimeoutError, match="echo"):
                operation()
        with pytest.raises(RayTimeoutError, match="echo"):
            list(other.stream(3))


@pytest.mark.timeout(120)
def test_the_async_handle_takes_a_timeout_too(local_ray: None, tmp_path: Path) -> None:
    async def scenario(pool: ServiceHostPool) -> None:
        h = pool.start(BLOCKER).aio()
        assert (await h("a"))[0] == 1
        with pytest.raises(RayTimeoutError, match="blocker"):
            await h.call(("block", str(tmp_path / "running")), timeout=0.5)

    with ServiceHostPool(1, num_cpus=0.1) as hosts:
        asyncio.run(scenario(hosts))


def test_a_session_goes_on_the_host_the_caller_picks(pool: ServiceHostPool) -> None:
    before = pool.loads()
    handles = [pool.start(f"{B}:echo", host=1) for _ in range(3)]
    assert [after - b for after, b in zip(pool.loads(), before, strict=True)] == [0, 3]
    for h in handles:
        h.close()
    with pytest.raises(ValueError, match="host must be 0 to 1"):
        pool.start(f"{B}:echo", host=2)


def test_per_host_resources_and_options_are_checked(local_ray: None) -> None:
    with pytest.raises(ValueError, match="one per host"):
        ServiceHostPool(2, resources=[{"a": 1}])
    with pytest.raises(ValueError, match="placement_group must be one of"):
        ServiceHostPool(2, placement_group="EVERYWHERE")


def test_a_placement_group_the_pool_reserves_and_removes(local_ray: None) -> None:
    groups_before = len(ray.util.placement_group_table())
    with ServiceHostPool(2, num_cpus=0.1, placement_group="PACK") as hosts:
        h = hosts.start(f"{B}:counter", 1)
        assert h(1) == 2
        assert len(set(hosts.nodes())) == 1  # packed: one node (this machine's only one)
        table = ray.util.placement_group_table()
        assert len(table) == groups_before + 1
    states = [g["state"] for g in ray.util.placement_group_table().values()]
    assert states.count("REMOVED") >= 1
