"""The pytest plugin: fixtures for testing services (registered when the package is installed).

Registered as a ``pytest11`` entry point, so installing the package is enough.
Disable it with ``-p no:nanoservices.testing.plugin``.

Fixtures:

- ``start_service``: ``h = start_service(factory, *args)``; closed after the
  test, and the test FAILS if it left the service FAILED or a stream open.
- ``astart_service``: its async twin, ``h = await astart_service(factory)``.
- ``service_events``: a [`Recorder`][nanoservices.observe.Recorder] of every event of the
  services the test started with the fixtures above.
- ``start_on_transport``: like ``start_service``, once per transport (local,
  async, http; ray with ``--nanoservices-ray``).
- ``fake_clock``: a [`FakeClock`][] for services that take ``clock=``.
- ``local_wmo``: a ``LocalWMOServer`` answering in process through
  ``local_wmo.transport()`` (no socket).
- ``people_db``: the path of a temporary SQLite people database (100 people).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from nanoservices.observe import Recorder

from ._astarter import AsyncServiceStarter
from ._clock import FakeClock
from ._people import people_database
from ._starter import LeftoverError, ServiceStarter
from ._transports import TRANSPORTS, TransportStarter, shutdown_ray_if_started

_STARTERS = pytest.StashKey[list[Any]]()
_RAY_OPTION = "--nanoservices-ray"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nanoservices")
    group.addoption(
        _RAY_OPTION,
        action="store_true",
        default=False,
        help="also run start_on_transport tests on a local Ray (slow to start; needs ray)",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After a test body passed: fail it if it left a service FAILED or a stream open.

    The failure shows no line of this plugin: the message says where the test
    started the service.
    """
    __tracebackhide__ = True
    result = yield
    problems = [
        problem for starter in item.stash.get(_STARTERS, []) for problem in starter.leftovers()
    ]
    if problems:
        raise LeftoverError("; ".join(problems))
    return result


def pytest_sessionfinish(session: pytest.Session) -> None:
    shutdown_ray_if_started()


StarterT = TypeVar("StarterT", ServiceStarter, AsyncServiceStarter, TransportStarter)


def _watched_by_the_test(request: pytest.FixtureRequest, starter: StarterT) -> Iterator[StarterT]:
    """``starter``, checked right after the test body and closed after the test."""
    request.node.stash.setdefault(_STARTERS, []).append(starter)
    try:
        yield starter
    finally:
        starter.close()


def _events(request: pytest.FixtureRequest) -> Recorder | None:
    if "service_events" in request.fixturenames:
        events: Recorder = request.getfixturevalue("service_events")
        return events
    return None


@pytest.fixture
def service_events() -> Recorder:
    """Every event of the services this test starts with the fixtures (a ``Recorder``)."""
    return Recorder()


@pytest.fixture
def start_service(request: pytest.FixtureRequest) -> Iterator[ServiceStarter]:
    """``start_service(factory, *args)``: a handle closed after the test, checked before."""
    # The check runs right after the test body (pytest_runtest_call), so a
    # leftover fails the test itself rather than erroring its teardown.
    yield from _watched_by_the_test(request, ServiceStarter(_events(request)))


@pytest.fixture
def astart_service(request: pytest.FixtureRequest) -> Iterator[AsyncServiceStarter]:
    """``await astart_service(factory, *args)``: the async twin of ``start_service``."""
    yield from _watched_by_the_test(request, AsyncServiceStarter(_events(request)))


@pytest.fixture(params=TRANSPORTS)
def start_on_transport(request: pytest.FixtureRequest) -> Iterator[TransportStarter]:
    """``start_on_transport(factory, *args)``: ``start_service`` on each transport in turn."""
    transport: str = request.param
    if transport == "ray":
        if importlib.util.find_spec("ray") is None:
            pytest.skip(
                "Ray is not installed: pip install '.[ray]' in your clone of nanoservices "
                "(it is not on PyPI)"
            )
        if not request.config.getoption(_RAY_OPTION):
            pytest.skip(f"Ray is opt-in: run pytest with {_RAY_OPTION}")
    yield from _watched_by_the_test(request, TransportStarter(transport, _events(request)))


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock that moves only with ``fake_clock.advance(seconds)`` (starts at 0)."""
    return FakeClock()


@pytest.fixture
def local_wmo() -> Iterator[Any]:
    """A ``LocalWMOServer`` for in-process use: ``forecasts(transport=local_wmo.transport())``."""
    from nanoservices.services.forecast import LocalWMOServer

    server = LocalWMOServer()
    try:
        yield server
    finally:
        server.stop()  # in case the test started it on loopback


@pytest.fixture
def people_db(tmp_path: Path) -> Path:
    """A temporary SQLite people database: 100 people from seed 0 (``people(people_db)``)."""
    return people_database(tmp_path, count=100, seed=0)
