"""One Ray for the whole test run, shared by tests/ray, the Ray transport and the docs.

Started on first use (or joined, if the process already has one) as a
one-node :class:`~nanoservices.ray._loopback.LoopbackCluster`: on loopback
only (without turning multi-node Ray off), its logs and sockets in a private
temporary folder. The multi-node group (``-m ray_cluster``) shuts it down and
starts a cluster of three raylets in its place; the next test that needs the
local Ray starts it again.
"""

from __future__ import annotations

import ray

from nanoservices.ray import LoopbackCluster

_started_here: list[LoopbackCluster] = []


def ensure_local_ray() -> None:
    """Start the local Ray if this process has none yet."""
    if ray.is_initialized():
        return
    _started_here.append(LoopbackCluster(head_cpus=2).start())


def shutdown_local_ray() -> None:
    """Shut down the local Ray if this module started it."""
    while _started_here:
        _started_here.pop().shutdown()
