"""Fixtures for the Ray tests: one local Ray for the session, shut down at the end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

# first, before anything imports Ray: it sets Ray's environment
from .cluster import ensure_local_ray, shutdown_local_ray

if TYPE_CHECKING:
    from nanoservices.ray import ServiceHostPool


@pytest.fixture(scope="session")
def local_ray() -> Iterator[None]:
    """A local Ray, shared with the conformance suite's Ray transport."""
    ensure_local_ray()
    yield
    shutdown_local_ray()


@pytest.fixture(scope="module")
def pool(local_ray: None) -> Iterator[ServiceHostPool]:
    """Two small host actors for one test module (fractional CPUs: 2 cores in all)."""
    from nanoservices.ray import ServiceHostPool

    with ServiceHostPool(2, num_cpus=0.1) as hosts:
        yield hosts
