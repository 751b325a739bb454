"""A Ray cluster of raylets on this machine, every one on loopback: for tests and benchmarks.

Why not ``ray.init()`` or ``ray start``: on Linux, Ray turns the exact loopback
names (``127.0.0.1``, ``localhost``, ``::1``) into the machine's outward
address, for the node and for the address a driver connects to. The old cure,
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, also turns multi-node Ray off
(``ray start --address`` aborts). Any *other* address of the loopback range
(127.0.0.0/8) Ray takes as given, so here every node gets its own one: the
head ``127.0.0.2``, workers ``127.0.0.3``, ``127.0.0.4``... (like separate
hosts, and nothing leaves loopback; Linux routes all of 127.0.0.0/8 to ``lo``).

Each node keeps its logs and sockets in its own temp folder under one private
folder, which is also ``RAY_TMPDIR`` while the cluster runs: Ray's "current
cluster" file, which a plain ``ray.init()`` anywhere on the machine would join,
stays private to it. [`LoopbackCluster.shutdown`][] ends every process it
started, and nothing else.

Uses ``ray.cluster_utils.Cluster`` (Ray's own multi-node test helper).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any

import psutil
import ray
from ray._private import ray_constants
from ray.cluster_utils import Cluster

__all__ = ["HEAD_ADDRESS", "LoopbackCluster", "Node"]

HEAD_ADDRESS = "127.0.0.2"
_OBJECT_STORE = 80 * 1024 * 1024  # bytes per node: plenty for tests, small on a 2-core box

#: Node-loss detection tuned for tests: the head declares a node dead after
#: about 3 missed health checks 0.3 s apart (Ray's default: 5 checks 3 s apart,
#: about 15 s). ``LoopbackCluster(fast_failure_detection=False)`` keeps Ray's.
FAST_HEALTH_CHECKS: dict[str, Any] = {
    "health_check_initial_delay_ms": 0,
    "health_check_period_ms": 300,
    "health_check_timeout_ms": 300,
    "health_check_failure_threshold": 3,
}


@dataclass
class Node:
    """One raylet of the cluster: its loopback address, resource tag and Ray node."""

    address: str
    tag: str  # a custom resource only this node has (1 unit): place work on it by name
    ray_node: Any = field(repr=False)

    @property
    def node_id(self) -> str:
        return str(self.ray_node.node_id)


class LoopbackCluster:
    """A head raylet and ``workers`` worker raylets on loopback; the driver joins it.

    Args:
        workers: worker raylets besides the head.
        head_cpus: CPUs the head node offers.
        worker_cpus: CPUs each worker node offers.
        fast_failure_detection: detect a dead node in about 1 s, not Ray's 15 s.
        namespace: the driver's Ray namespace.
    """

    def __init__(
        self,
        workers: int = 0,
        *,
        head_cpus: float = 2,
        worker_cpus: float = 1,
        fast_failure_detection: bool = True,
        namespace: str = "nanoservices-tests",
    ) -> None:
        self._worker_count = workers
        self._head_cpus = head_cpus
        self._worker_cpus = worker_cpus
        self._system_config = FAST_HEALTH_CHECKS if fast_failure_detection else None
        self._namespace = namespace
        self._root = ""
        self._old_tmpdir: str | None = None
        self._cluster: Any = None
        self.head: Node | None = None
        self.workers: list[Node] = []
        self._next = 3

    # -- starting ------------------------------------------------------------------

    def start(self) -> LoopbackCluster:
        """Start the head and the workers, then connect this process as the driver."""
        if ray.is_initialized():
            raise RuntimeError("this process is already connected to a Ray cluster")
        self._root = tempfile.mkdtemp(prefix="nanoray-")
        os.makedirs(os.path.join(self._root, "ray"))
        self._old_tmpdir = os.environ.get("RAY_TMPDIR")
        os.environ["RAY_TMPDIR"] = self._root
        try:
            head_args = self._node_args("head", HEAD_ADDRESS, self._head_cpus)
            if self._system_config is not None:
                head_args["_system_config"] = self._system_config
            self._cluster = Cluster(initialize_head=True, head_node_args=head_args)
            self.head = Node(HEAD_ADDRESS, "node-head", self._cluster.head_node)
            for _ in range(self._worker_count):
                self.add_worker()
            self._cluster.wait_for_nodes()
            ray.init(address=self._cluster.address, namespace=self._namespace, log_to_driver=False)
        except BaseException:
            self.shutdown()
            raise
        return self

    def _node_args(self, tag: str, address: str, cpus: float) -> dict[str, Any]:
        temp_dir = os.path.join(self._root, tag)
        os.makedirs(temp_dir)
        return {
            "node_ip_address": address,
            "temp_dir": temp_dir,
            "num_cpus": cpus,
            "resources": {f"node-{tag}": 1},
            "include_dashboard": False,
            "object_store_memory": _OBJECT_STORE,
        }

    def add_worker(self) -> Node:
        """Start one more worker raylet, on the next loopback address."""
        index = self._next
        self._next += 1
        tag, address = f"w{index - 2}", f"127.0.0.{index}"
        ray_node = self._cluster.add_node(**self._node_args(tag, address, self._worker_cpus))
        node = Node(address, f"node-{tag}", ray_node)
        self.workers.append(node)
        return node

    # -- faults --------------------------------------------------------------------

    def kill(self, node: Node) -> None:
        """Kill every process of a worker node at once (SIGKILL), as a machine loss would:
        its raylet and the rest of Ray's processes, and its worker processes (actors
        answer calls directly, so they would go on serving for a while alone)."""
        raylet = node.ray_node.all_processes[ray_constants.PROCESS_TYPE_RAYLET][0].process
        workers = psutil.Process(raylet.pid).children(recursive=True)
        for worker in workers:
            worker.kill()
        self._cluster.remove_node(node.ray_node, allow_graceful=False)
        psutil.wait_procs(workers, timeout=30)
        self.workers.remove(node)

    def node_of(self, node_id: str) -> Node:
        """The node with Ray node id ``node_id``."""
        for node in [self.head, *self.workers]:
            if node is not None and node.node_id == node_id:
                return node
        raise LookupError(f"no live node {node_id}")

    # -- ending ----------------------------------------------------------------------

    def shutdown(self) -> None:
        """Disconnect the driver and end every process this cluster started."""
        try:
            if ray.is_initialized():
                ray.shutdown()
        finally:
            try:
                if self._cluster is not None:
                    self._cluster.shutdown()
            finally:
                self._cluster = None
                self.head = None
                self.workers = []
                if self._old_tmpdir is None:
                    os.environ.pop("RAY_TMPDIR", None)
                else:
                    os.environ["RAY_TMPDIR"] = self._old_tmpdir
                if self._root:
                    shutil.rmtree(self._root, ignore_errors=True)
                    self._root = ""

    def __enter__(self) -> LoopbackCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
