"""The pytest plugin, run on small test files: what passes, what fails and why."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("error")

_SERVICES = """
import asyncio
from collections.abc import AsyncGenerator, Generator

from nanoservices import Stream, service, streamed
from nanoservices.observe import EventKind
from nanoservices.aio import aservice


@service
def counter(start: int = 0) -> Generator[int, int, None]:
    total = start
    while True:
        step = yield total
        if step < 0:
            raise ValueError(f"steps are positive, got {step}")
        total += step


@service
def countdown() -> Generator[Stream[int], int, None]:
    n = yield None
    while True:
        n = yield streamed(range(n, 0, -1))


@aservice
async def acounter(start: int = 0) -> AsyncGenerator[int, int]:
    total = start
    while True:
        total += yield total
"""


def _run(pytester: pytest.Pytester, tests: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(services=_SERVICES, test_it=tests)
    # -p no:playwright: pytest-playwright (the dashboard's tests) opens a soft-assertion
    # scope around each test, and an in-process run inside a test would nest a second
    return pytester.runpytest(
        "-p", "nanoservices.testing.plugin", "-p", "no:playwright", "-q", *args
    )


def test_a_clean_service_passes_and_is_closed_after(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
from services import counter

HANDLES = []

def test_counts(start_service):
    h = start_service(counter, 100)
    HANDLES.append(h)
    assert h(1) == 101

def test_it_was_closed():
    assert HANDLES[0].state.value == "closed"
""",
    )
    result.assert_outcomes(passed=2)


def test_a_service_left_failed_fails_the_test(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
import pytest
from nanoservices import ServiceFailedError
from services import counter

def test_leaves_it_failed(start_service):
    h = start_service(counter)
    with pytest.raises(ServiceFailedError):
        h(-1)

def test_closing_it_is_the_way_to_mean_it(start_service):
    h = start_service(counter)
    with pytest.raises(ServiceFailedError):
        h(-1)
    h.close()
""",
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*LeftoverError: the service 'counter' was left FAILED by ValueError: steps are*"]
    )
    assert "error" not in result.parseoutcomes()  # a failed test, not a teardown error


def test_a_leftover_shows_the_public_name_and_points_at_the_test(
    pytester: pytest.Pytester,
) -> None:
    result = _run(
        pytester,
        """
import pytest
from nanoservices import ServiceFailedError
from services import counter

def test_leaves_it_failed(start_service):
    h = start_service(counter)
    with pytest.raises(ServiceFailedError):
        h(-1)
""",
    )
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "nanoservices.testing.LeftoverError" in out
    assert "_starter" not in out  # the private module a user cannot import
    assert "plugin.py" not in out  # the plugin's own line says nothing about the test
    # where the test started the service: its file and line (the test file's line 6)
    assert "(started at test_it.py:6 in test_leaves_it_failed)" in out


def test_a_stream_left_open_fails_the_test(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
from services import countdown

KEPT = []

def test_keeps_a_stream_open(start_service):
    h = start_service(countdown)
    KEPT.append(h.stream(3))
    assert next(KEPT[0]) == 3

def test_a_finished_stream_is_fine(start_service):
    h = start_service(countdown)
    assert list(h.stream(3)) == [3, 2, 1]
""",
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*the service 'countdown' was left with an open stream*"])


def test_a_failing_test_is_not_blamed_twice(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
from services import counter

def test_fails_for_its_own_reason(start_service):
    h = start_service(counter)
    h(-1)
""",
    )
    result.assert_outcomes(failed=1)
    assert "LeftoverError" not in result.stdout.str()


def test_service_events_records_the_started_services(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
from nanoservices.observe import EventKind
from services import counter

def test_records(start_service, service_events):
    h = start_service(counter, 10)
    h(5)
    assert service_events.values(EventKind.REQUEST) == [5]
    assert service_events.values(EventKind.REPLY) == [15]
""",
    )
    result.assert_outcomes(passed=1)


def test_the_async_twin_needs_no_async_plugin(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
import asyncio
from nanoservices.observe import EventKind
from services import acounter, counter

def test_async_services(astart_service, service_events):
    async def main():
        a = await astart_service(acounter, 1)
        b = await astart_service(counter, 2)  # a sync service, through to_async
        assert await a.call(1) == 2
        assert await b.call(3) == 5
    asyncio.run(main())
    assert service_events.values(EventKind.REPLY, service="acounter") == [2]

KEPT = []

def test_an_async_stream_left_open_fails(astart_service):
    from services import countdown
    async def main():
        h = await astart_service(countdown)
        KEPT.append(h.stream(3))  # kept: a dropped stream gives the service back
        assert await KEPT[0].__anext__() == 3
    asyncio.run(main())
""",
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*the service 'countdown' was left with an open stream*(started at test_it.py:19 in main)"]
    )


def test_start_on_transport_runs_the_test_on_each_transport(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
from services import counter, countdown

def test_graduates(start_on_transport):
    h = start_on_transport(counter, 100)
    assert h(1) == 101
    c = start_on_transport(countdown)
    assert list(c.stream(3)) == [3, 2, 1]
""",
        "-rs",
    )
    result.assert_outcomes(passed=3, skipped=1)
    result.stdout.fnmatch_lines(["*Ray is*"])


@pytest.mark.ray
@pytest.mark.slow
def test_with_the_option_the_ray_run_happens(pytester: pytest.Pytester) -> None:
    """In a subprocess: the plugin starts a local Ray for the run and shuts it down."""
    pytester.makepyfile(services=_SERVICES)
    pytester.makepyfile(
        test_it="""
from services import counter

def test_graduates(start_on_transport):
    h = start_on_transport(counter, 100)
    assert h(1) == 101
"""
    )
    result = pytester.runpytest_subprocess(
        "-p", "nanoservices.testing.plugin", "-q", "--nanoservices-ray", "-k", "ray"
    )
    result.assert_outcomes(passed=1)
