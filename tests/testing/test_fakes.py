"""The fakes: a clock moved by hand, a temporary people database, the starters outside pytest."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Generator
from pathlib import Path

import pytest

from nanoservices import ServiceFailedError, State, service
from nanoservices.examples import abasics, basics
from nanoservices.observe import EventKind, Recorder
from nanoservices.services.people import create_demo_database
from nanoservices.testing import (
    AsyncServiceStarter,
    FakeClock,
    LeftoverError,
    ServiceStarter,
    people_database,
)


@service
def fragile() -> Generator[int, int, None]:
    request = yield 0
    while True:
        request = yield 100 // request


def test_the_fake_clock_moves_only_when_told(fake_clock: FakeClock) -> None:
    assert fake_clock() == 0.0
    assert fake_clock.advance(1.5) == 1.5
    assert fake_clock() == 1.5
    fake_clock.set(10)
    assert fake_clock() == 10.0


@pytest.mark.parametrize("seconds", [-1.0, math.nan, math.inf])
def test_the_fake_clock_never_goes_back(fake_clock: FakeClock, seconds: float) -> None:
    with pytest.raises(ValueError, match="only moves forward"):
        fake_clock.advance(seconds)
    fake_clock.advance(5)
    with pytest.raises(ValueError, match="cannot go back"):
        fake_clock.set(4)
    assert fake_clock() == 5.0


def test_people_db_is_the_demo_database(people_db: Path, tmp_path: Path) -> None:
    from nanoservices.services.people import people

    create_demo_database(tmp_path / "same.sqlite3", count=100, seed=0)
    with people(people_db) as mine, people(tmp_path / "same.sqlite3") as theirs:
        assert list(mine.stream({})) == list(theirs.stream({}))
        assert len(list(mine.stream({}))) == 100


def test_people_database_takes_a_size_and_seed(tmp_path: Path) -> None:
    from nanoservices.services.people import people

    path = people_database(tmp_path, count=7, seed=3)
    with people(path) as h:
        assert len(list(h.stream({}))) == 7


def test_the_starter_outside_pytest_checks_then_closes() -> None:
    events = Recorder()
    start = ServiceStarter(events)
    h = start(fragile)
    assert h(4) == 25
    with pytest.raises(ServiceFailedError):
        h(0)
    with pytest.raises(LeftoverError, match="'fragile' was left FAILED by ZeroDivisionError"):
        start.__exit__(None, None, None)
    assert h.state is State.CLOSED
    assert events.kinds()[-1] is EventKind.CLOSE


def test_the_async_starter_outside_pytest() -> None:
    async def main() -> State:
        async with AsyncServiceStarter() as start:
            h = await start(abasics.counter, 5)
            assert await h.call(1) == 6
            w = await start(basics.counter, 1)  # a sync service, wrapped
            assert await w.call(1) == 2
        return h.state

    assert asyncio.run(main()) is State.CLOSED
