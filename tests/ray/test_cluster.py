"""Ray as a cluster: a head and two worker raylets on loopback, services spread over them.

The group is ``-m ray_cluster`` (about a minute and a half on 2 cores); it runs only
when selected: ``pytest -m ray_cluster`` or ``pytest --ray-cluster`` (see
docs/ray.md). It replaces the suite's one-node Ray for its module and ends
every process it started.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from nanoservices import ServiceFailedError, State
from nanoservices.ray import LoopbackCluster, ServiceHostPool
from tests.conformance import test_behaviour, test_contract_ray

from .cluster import shutdown_local_ray
from .test_faults import _wait_for_a_new_incarnation

pytestmark = [pytest.mark.ray, pytest.mark.ray_cluster]

B = "nanoservices.examples.basics"
F = "nanoservices.examples.faults"


@pytest.fixture(scope="module")
def cluster() -> Iterator[LoopbackCluster]:
    """A head and two worker raylets (1 CPU each), with node loss detected in about 1 s."""
    shutdown_local_ray()  # one driver per process: the one-node Ray makes way
    with LoopbackCluster(workers=2, head_cpus=1, worker_cpus=1) as running:
        yield running


def _pinned(cluster: LoopbackCluster) -> ServiceHostPool:
    """Three hosts: host 0 on the head, 1 and 2 on the workers; each moves to another
    node if its own is lost (soft node affinity)."""
    assert cluster.head is not None
    nodes = [cluster.head, *cluster.workers]
    return ServiceHostPool(
        3,
        num_cpus=0.1,
        per_host=[
            {"scheduling_strategy": NodeAffinitySchedulingStrategy(node.node_id, soft=True)}
            for node in nodes
        ],
    )


# -- placement ----------------------------------------------------------------------


def test_per_host_resources_put_each_host_on_its_node(cluster: LoopbackCluster) -> None:
    assert cluster.head is not None
    nodes = [cluster.head, *cluster.workers]
    with ServiceHostPool(3, num_cpus=0.1, resources=[{node.tag: 0.01} for node in nodes]) as hosts:
        assert hosts.nodes() == [node.node_id for node in nodes]
        handles = [hosts.start(f"{B}:counter", 10 * i, host=i) for i in range(3)]
        assert [h(1) for h in handles] == [1, 11, 21]


def test_a_strict_spread_placement_group_puts_every_host_on_its_own_node(
    cluster: LoopbackCluster,
) -> None:
    with ServiceHostPool(3, num_cpus=0.1, placement_group="STRICT_SPREAD") as hosts:
        assert len(set(hosts.nodes())) == 3
        handles = [hosts.start(f"{B}:echo") for _ in range(6)]  # round robin: 2 per host
        assert hosts.loads() == [2, 2, 2]
        assert [h(i) for i, h in enumerate(handles)] == list(range(6))


# -- the behaviour suite, across nodes -------------------------------------------------

BEHAVIOURS: list[Callable[..., None]] = [
    getattr(module, name)
    for module in (test_behaviour, test_contract_ray)
    for name in sorted(vars(module))
    if name.startswith("test_")
]


@pytest.fixture(scope="module")
def spread(cluster: LoopbackCluster) -> Iterator[Callable[..., Any]]:
    """``start(path, *args)`` on a pool of one host per node, round robin."""
    with _pinned(cluster) as hosts:
        yield lambda path, *args: hosts.start(path, *args)


@pytest.mark.parametrize("behaviour", BEHAVIOURS, ids=lambda f: f.__name__.removeprefix("test_"))
def test_every_behaviour_holds_across_nodes(
    behaviour: Callable[..., None], spread: Callable[..., Any]
) -> None:
    for _ in range(3):  # three sessions in a row: one on each node
        behaviour(spread)


def test_a_long_stream_and_many_calls_cross_nodes_whole(cluster: LoopbackCluster) -> None:
    with _pinned(cluster) as hosts:
        far = hosts.start(f"{B}:countdown", host=2)
        assert list(far.stream(1000)) == list(range(1000, 0, -1))
        counter = hosts.start(f"{B}:counter", host=1)
        assert [counter(1) for _ in range(200)][-1] == 200


# -- faults ---------------------------------------------------------------------------


def test_a_host_killed_fails_each_of_its_sessions_once_and_no_other(
    cluster: LoopbackCluster,
) -> None:
    with _pinned(cluster) as hosts:
        victims = [hosts.start(f"{F}:crasher", host=2) for _ in range(4)]
        bystanders = [hosts.start(f"{B}:counter", host=i) for i in (0, 1)]
        for h in victims:
            h("a")
        for h in bystanders:
            h(5)
        before = ray.get(hosts.actors[2].ping.remote())
        ray.kill(hosts.actors[2], no_restart=False)
        _wait_for_a_new_incarnation(hosts.actors[2], before)  # the kill lands between requests
        for h in victims:
            with pytest.raises(ServiceFailedError) as caught:
                h("b")
            assert caught.value.restarted
            assert caught.value.service == "crasher"
            assert h("c")[0] == 1  # a fresh instance serves
            assert h("d")[0] == 2
        assert [h(1) for h in bystanders] == [6, 6]  # their state, untouched


@pytest.mark.timeout(240)
def test_a_node_killed_mid_call_and_mid_stream(cluster: LoopbackCluster, tmp_path: Path) -> None:
    lost_node = cluster.workers[0]
    with _pinned(cluster) as hosts:
        # on the node that will die (host 1): idle sessions, an open stream, a call in flight
        idle = [hosts.start(f"{B}:counter", 100, host=1) for _ in range(5)]
        for h in idle:
            assert h(1) == 101
        streaming = hosts.start(f"{B}:countdown", host=1)
        items = streaming.stream(10_000)
        assert [next(items) for _ in range(3)] == [10_000, 9_999, 9_998]
        blocked = hosts.start(f"{F}:blocker", host=1)
        # on the nodes that live (hosts 0 and 2)
        survivors = [hosts.start(f"{B}:counter", 0, host=i) for i in (0, 2, 0, 2)]
        for h in survivors:
            assert h(1) == 1
        in_flight: list[BaseException] = []
        running = tmp_path / "running"

        def call_that_blocks() -> None:
            try:
                blocked(("block", str(running)))
            except BaseException as exc:
                in_flight.append(exc)

        caller = threading.Thread(target=call_that_blocks)
        caller.start()
        while not running.exists():  # the request is running on the node
            time.sleep(0.01)

        cluster.kill(lost_node)

        caller.join(120)
        assert not caller.is_alive()
        [error] = in_flight
        assert isinstance(error, ServiceFailedError)
        assert error.restarted
        assert error.service == "blocker"
        assert blocked("again")[0] == 1  # served again, by a fresh instance

        with pytest.raises(ServiceFailedError) as caught:
            list(items)  # the rest of the open stream is lost with its node
        assert caught.value.restarted
        assert list(streaming.stream(3)) == [3, 2, 1]
        assert streaming.state is State.READY

        for h in idle:
            with pytest.raises(ServiceFailedError) as caught:
                h(1)
            assert caught.value.restarted  # exactly once each...
            assert h(1) == 101  # ...then served again, from a fresh instance
            assert h(1) == 102
            assert h.restarts == 1

        assert [h(1) for h in survivors] == [2, 2, 2, 2]  # nothing seen by the others
        assert all(h.restarts == 0 for h in survivors)
        assert lost_node.node_id not in hosts.nodes()  # host 1 moved to a live node
    cluster.add_worker()  # back to three nodes for whatever runs next
