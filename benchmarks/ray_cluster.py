"""Issue 19's figures: Ray as a cluster of three raylets on this machine (loopback).

One run starts a head and two worker raylets (``LoopbackCluster``, Ray's own
node-loss detection left as it is, as a user gets it) and measures:

* the cross-node call ratio: a call through a ``RayHandle`` whose host is on
  another node than the caller, against the raw Ray actor method doing the
  same work on that same node (interleaved rounds, medians); the same on the
  caller's own node for scale;
* host-kill recovery: ``ray.kill`` of a host actor (Ray restarts it) until a
  session on it has failed once and is served again;
* node-loss recovery: every process of a worker node killed (SIGKILL) while a
  session on it is idle, until that session has failed once
  (``ServiceFailedError(restarted=True)``) and is served again from a live
  node; and how long a call with ``timeout=2`` waits meanwhile (the bound).

Figures are printed, not asserted (one 2-core machine shared with other work).

    python benchmarks/ray_cluster.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from nanoservices import ServiceFailedError
from nanoservices.ray import LoopbackCluster, RayTimeoutError, ServiceHostPool

B = "nanoservices.examples.basics"


class RawTimesFive:
    """The raw Ray baseline: the same work as ``basics.times_five``, as an actor method."""

    def work(self, request: Any) -> Any:
        return request * 5


def _per_call(fn: Callable[[int], Any], calls: int) -> float:
    start = time.perf_counter()
    for i in range(calls):
        fn(i)
    return (time.perf_counter() - start) / calls


def _ratio(
    handle_call: Callable[[int], Any], raw_call: Callable[[int], Any], rounds: int, calls: int
) -> tuple[float, float, float]:
    ours, raws = [], []
    for _ in range(rounds):
        raws.append(_per_call(raw_call, calls))
        ours.append(_per_call(handle_call, calls))
    o, r = statistics.median(ours), statistics.median(raws)
    return o, r, o / r


def _recover(h: Any, kill: Callable[[], None], bounded: bool) -> dict[str, float]:
    """Kill, then time the failure and the first serve after it (from the kill's start)."""
    figures: dict[str, float] = {}
    start = time.perf_counter()
    kill()
    if bounded:
        called = time.perf_counter()
        try:
            h(1, timeout=2.0)
            figures["bounded_call_s"] = float("nan")  # answered: the loss was not seen yet
        except RayTimeoutError:
            figures["bounded_call_s"] = time.perf_counter() - called
        except ServiceFailedError:
            figures["bounded_call_s"] = time.perf_counter() - called
            figures["failed_after_s"] = time.perf_counter() - start
    if "failed_after_s" not in figures:
        try:
            h(1)
        except ServiceFailedError as error:
            if not error.restarted:
                raise
            figures["failed_after_s"] = time.perf_counter() - start
    h(1)
    figures["served_again_after_s"] = time.perf_counter() - start
    return figures


def run(rounds: int, calls: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    with LoopbackCluster(
        workers=2, head_cpus=1, worker_cpus=1, fast_failure_detection=False
    ) as cluster:
        assert cluster.head is not None
        nodes = [cluster.head, *cluster.workers]
        soft = [
            {"scheduling_strategy": NodeAffinitySchedulingStrategy(n.node_id, soft=True)}
            for n in nodes
        ]
        raw_class = ray.remote(RawTimesFive)
        with ServiceHostPool(3, num_cpus=0.1, per_host=soft) as hosts:
            for label, index in (("same node", 0), ("cross node", 2)):
                handle = hosts.start(f"{B}:times_five", host=index)
                raw = raw_class.options(num_cpus=0.1, **soft[index]).remote()
                raw_work = raw.work.remote

                def raw_fn(i: int, work: Any = raw_work) -> Any:
                    return ray.get(work(i))

                for fn in (raw_fn, handle.call):
                    _per_call(fn, calls)  # warm up
                ours, raws, ratio = _ratio(handle.call, raw_fn, rounds, calls)
                key = label.replace(" ", "_")
                figures[f"{key}_call_us"] = ours * 1e6
                figures[f"{key}_raw_us"] = raws * 1e6
                figures[f"{key}_ratio"] = ratio
                print(
                    f"{label:>10}: handle {ours * 1e6:7.0f} us, "
                    f"raw actor {raws * 1e6:7.0f} us, ratio {ratio:.2f}x"
                )

            victim = hosts.start(f"{B}:counter", host=2)
            victim(1)
            before = ray.get(hosts.actors[2].ping.remote())

            def kill_host() -> None:
                ray.kill(hosts.actors[2], no_restart=False)
                while True:  # until the kill has landed (a new incarnation answers)
                    try:
                        if ray.get(hosts.actors[2].ping.remote(), timeout=30) != before:
                            return
                    except ray.exceptions.RayActorError:
                        pass
                    time.sleep(0.01)

            host = _recover(victim, kill_host, bounded=False)
            print(
                f"host kill: failed once {host['failed_after_s']:.2f} s, served again "
                f"{host['served_again_after_s']:.2f} s after the kill"
            )
            figures.update({f"host_kill_{k}": v for k, v in host.items()})

            lost = hosts.start(f"{B}:counter", host=1)
            lost(1)
            if hosts.nodes()[1] != cluster.workers[0].node_id:
                raise RuntimeError("host 1 is not on the first worker node")
            node = _recover(lost, lambda: cluster.kill(cluster.workers[0]), bounded=True)
            print(
                f"node loss: a call with timeout=2 returned after {node['bounded_call_s']:.2f} s; "
                f"failed once {node['failed_after_s']:.2f} s, served again "
                f"{node['served_again_after_s']:.2f} s after the kill"
            )
            figures.update({f"node_loss_{k}": v for k, v in node.items()})
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args(argv)
    run(args.rounds, args.calls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
