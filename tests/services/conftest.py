"""Fixtures for the services' tests: the local WWIS server (started once per run)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nanoservices.services.forecast import LocalWMOServer


@pytest.fixture(scope="session")
def wmo_server() -> Iterator[LocalWMOServer]:
    """One local WWIS stand-in on 127.0.0.1 for the whole run."""
    with LocalWMOServer() as server:
        yield server


@pytest.fixture
def wmo(wmo_server: LocalWMOServer) -> Iterator[LocalWMOServer]:
    """The shared local WWIS server, as started: bundled bodies, no faults, zero counts."""
    wmo_server.reset()
    yield wmo_server
    wmo_server.reset()
