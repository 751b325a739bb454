"""Restart policies: a dead generator replaced from its factory, visibly."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Generator

import pytest

import nanoservices as ns


def _flaky(starts: list[int]) -> ns.core.ServiceFactory[[], int, int]:
    @ns.service(restart=ns.OnFailure(max_restarts=2, per=60.0))
    def flaky() -> Generator[int, int, None]:
        starts.append(len(starts))
        reply = 0
        while True:
            request = yield reply
            if request < 0:
                raise ValueError(f"negative request {request}")
            reply = request * 2

    return flaky


def test_failure_is_reported_with_service_request_and_cause_then_restarted() -> None:
    starts: list[int] = []
    h = _flaky(starts)()
    with pytest.raises(ns.ServiceFailedError) as caught:
        h(-1)
    error = caught.value
    assert (error.service, error.request, error.restarted) == ("flaky", -1, True)
    assert isinstance(error.__cause__, ValueError)
    assert "negative request -1" in str(error)
    assert starts == [0, 1]  # a fresh instance from the factory
    assert h.state is ns.State.READY
    assert h(4) == 8  # callers keep working


def test_policy_actions_are_visible() -> None:
    h = _flaky([])()
    with pytest.raises(ns.ServiceFailedError):
        h(-1)
    stats = h.supervision
    assert (stats.failures, stats.restarts) == (1, 1)
    assert isinstance(stats.last_error, ValueError)
    assert stats.policy == ns.OnFailure(2, per=60.0)


def test_restart_limit_gives_up_with_a_clear_error() -> None:
    h = _flaky([])()
    for _ in range(2):
        with pytest.raises(ns.ServiceFailedError):
            h(-1)
    with pytest.raises(ns.RestartLimitError, match="2 restart") as caught:
        h(-1)
    assert caught.value.restarts == 2
    assert h.state is ns.State.FAILED
    with pytest.raises(ns.ServiceFailedError, match="failed earlier"):
        h(1)


def test_window_forgets_old_restarts() -> None:
    policy = ns.OnFailure(max_restarts=1, per=0.05)
    recent: deque[float] = deque([time.monotonic() - 1.0])
    assert policy.allows(recent, time.monotonic())
    recent = deque([time.monotonic()])
    assert not policy.allows(recent, time.monotonic())


def test_no_policy_means_failed_stays_failed() -> None:
    @ns.service
    def fragile() -> Generator[None, int, None]:
        while True:
            if (yield) == 0:
                raise RuntimeError("zero")

    h = fragile()
    with pytest.raises(ns.ServiceFailedError) as caught:
        h(0)
    assert not caught.value.restarted
    assert h.state is ns.State.FAILED
    h.restart()  # an explicit restart is always possible
    assert h(1) is None


def test_restart_that_cannot_start_leaves_the_service_failed() -> None:
    attempts: list[int] = []

    @ns.service(restart=ns.OnFailure(5, per=60))
    def needs_db() -> Generator[None, int, None]:
        attempts.append(1)
        if len(attempts) > 1:
            raise ConnectionError("database is down")
        while True:
            if (yield) == 0:
                raise RuntimeError("boom")

    h = needs_db()
    with pytest.raises(ns.ServiceFailedError, match=r"restarting it failed too.*database is down"):
        h(0)
    assert h.state is ns.State.FAILED


def test_keyboard_interrupt_is_not_wrapped() -> None:
    @ns.service(restart=ns.OnFailure(3, per=60))
    def interrupted() -> Generator[None, None, None]:
        yield
        raise KeyboardInterrupt

    h = interrupted()
    with pytest.raises(KeyboardInterrupt):
        h(None)
    assert h.state is ns.State.FAILED


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"max_restarts": -1}, "max_restarts"), ({"per": 0}, "per")]
)
def test_bad_policy_is_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ns.OnFailure(**kwargs)  # type: ignore[arg-type]
