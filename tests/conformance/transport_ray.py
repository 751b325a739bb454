"""The Ray transport: each service runs in a ``ServiceHost`` actor on the local Ray."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.ray.cluster import ensure_local_ray

from . import transports


@contextmanager
def _ray() -> Iterator[Callable[..., Any]]:
    from nanoservices.ray import ServiceHostPool

    ensure_local_ray()  # the one local Ray the Ray tests share (shut down at the run's end)
    with ServiceHostPool(1, num_cpus=0.1) as pool:
        yield lambda path, *args: pool.start(path, *args)


transports.TRANSPORTS.append(transports.Transport("ray", _ray, marks=(pytest.mark.ray,)))
