"""Fixtures for the Ray tests: the local Ray (started once, shut down at the end)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from .cluster import ensure_local_ray

if TYPE_CHECKING:
    from nanoservices.ray import ServiceHostPool


@pytest.fixture(scope="module")
def local_ray() -> None:
    """The local Ray, shared with the conformance suite's Ray transport and the docs.

    Module-scoped, not session-scoped: the multi-node group replaces it with a
    cluster for one module, and the modules after it get it back. It is shut
    down at the end of the run (``tests/conftest.py``).
    """
    ensure_local_ray()


@pytest.fixture(scope="module")
def pool(local_ray: None) -> Iterator[ServiceHostPool]:
    """Two small host actors for one test module (fractional CPUs: 2 cores in all)."""
    from nanoservices.ray import ServiceHostPool

    with ServiceHostPool(2, num_cpus=0.1) as hosts:
        yield hosts
