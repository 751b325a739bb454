"""The Ray transports: each service runs in a ``ServiceHost`` actor on the local Ray.

``ray`` hosts the sync services of ``basics``; ``ray-async`` hosts their async
twins in ``abasics`` (``@aservice``), which run on the host's event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.ray.cluster import ensure_local_ray

from . import transports

_SYNC = "nanoservices.examples.basics:"
_ASYNC = "nanoservices.examples.abasics:"


@contextmanager
def _ray() -> Iterator[Callable[..., Any]]:
    from nanoservices.ray import ServiceHostPool

    ensure_local_ray()  # the one local Ray the Ray tests share (shut down at the run's end)
    with ServiceHostPool(1, num_cpus=0.1) as pool:
        yield lambda path, *args: pool.start(path, *args)


@contextmanager
def _ray_async() -> Iterator[Callable[..., Any]]:
    """``basics:x`` is served by its async twin ``abasics:x``, on the host's event loop."""
    with _ray() as start:
        yield lambda path, *args: start(path.replace(_SYNC, _ASYNC), *args)


transports.TRANSPORTS += [
    transports.Transport("ray", _ray, marks=(pytest.mark.ray,)),
    transports.Transport("ray-async", _ray_async, marks=(pytest.mark.ray,)),
]
