"""One local Ray for the whole test run, shared by tests/ray and the Ray transport.

Started on first use (or joined, if the process already has one), on loopback
only, with its logs and sockets in a temporary directory.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

# Ray turns 127.0.0.1 into the machine's outward address unless told this is a
# single-machine setup (its default on macOS and Windows); read when Ray is imported.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

import ray

_started_here: list[bool] = []


def ensure_local_ray() -> Any:
    """Start the local Ray if this process has none yet; return its context."""
    if ray.is_initialized():
        return ray.get_runtime_context()
    temp_dir = tempfile.mkdtemp(prefix="nanoray-")
    context = ray.init(
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        _temp_dir=temp_dir,
        log_to_driver=False,  # worker output stays in the temp dir's logs
        namespace="nanoservices-tests",
    )
    _started_here.append(True)
    return context


def shutdown_local_ray() -> None:
    """Shut down the local Ray if this module started it."""
    if _started_here and ray.is_initialized():
        ray.shutdown()
        _started_here.clear()
