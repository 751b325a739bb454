"""The example services through ``start_on_transport``; the leftover check on each transport.

Ray runs only with ``--nanoservices-ray`` (the plugin's option); the conformance
suite (tests/conformance/) covers Ray for the handles themselves.
"""

from __future__ import annotations

import pytest

from nanoservices import ServiceFailedError, State
from nanoservices.examples import basics
from nanoservices.observe import EventKind, Recorder
from nanoservices.testing import LeftoverError, TransportStarter


def test_calls_and_state(start_on_transport: TransportStarter) -> None:
    h = start_on_transport(basics.counter, 100)
    assert h(1) == 101
    assert h(10) == 111
    assert h.state is State.READY


def test_streams_end_and_reset(start_on_transport: TransportStarter) -> None:
    h = start_on_transport(basics.countdown)
    assert list(h.stream(3)) == [3, 2, 1]
    items = h.stream(10)
    assert next(items) == 10
    h.reset()
    assert list(h.stream(2)) == [2, 1]


def test_events_are_recorded_where_the_handle_reports_them(
    start_on_transport: TransportStarter, service_events: Recorder
) -> None:
    h = start_on_transport(basics.counter, 1)
    h(2)
    if start_on_transport.transport in ("local", "async"):
        assert service_events.values(EventKind.REPLY) == [3]
    # a remote handle need not report events here (its host does): it is checked all the same


@pytest.mark.parametrize("transport", ["local", "async", "http"])
def test_a_service_left_failed_is_found_on_every_transport(transport: str) -> None:
    """On a remote handle ``state`` is the last state it saw: a failure it saw counts."""
    start = TransportStarter(transport)
    try:
        h = start(basics.divider, 1.0)
        assert h(4.0) == 0.25
        with pytest.raises(ServiceFailedError):
            h(0.0)
        with pytest.raises(LeftoverError, match="'divider' was left FAILED"):
            start.check()
    finally:
        start.close()
    assert h.state is State.CLOSED
