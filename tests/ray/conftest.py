"""Fixtures for the Ray tests: one local Ray for the session, shut down at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("ray")

from nanoservices.ray import ServiceHostPool

from .cluster import ensure_local_ray, shutdown_local_ray


@pytest.fixture(scope="session")
def local_ray() -> Iterator[None]:
    """A local Ray, shared with the conformance suite's Ray transport."""
    ensure_local_ray()
    yield
    shutdown_local_ray()


@pytest.fixture(scope="module")
def pool(local_ray: None) -> Iterator[ServiceHostPool]:
    """Two small host actors for one test module (fractional CPUs: 2 cores in all)."""
    with ServiceHostPool(2, num_cpus=0.1) as hosts:
        yield hosts
