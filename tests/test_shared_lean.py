"""The shared handle records nothing on an uncontended call, and still tells
re-entry from contention when its lock is taken."""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import Any

import pytest

import nanoservices as ns


@ns.service
def echo() -> Generator[Any, Any, None]:
    reply = None
    while True:
        reply = yield reply


def test_a_hook_calling_back_during_a_shared_call_is_reentry_not_a_deadlock() -> None:
    """The hook runs outside the generator, inside this thread's call: found on the
    stack when the acquire fails (no owner was recorded for the call)."""
    h = echo()
    shared = h.shared(timeout=None)
    seen: list[str] = []

    def hook(event: ns.observe.Event) -> None:
        if event.kind is ns.observe.EventKind.REPLY and not seen:
            try:
                shared.call("again")
            except ns.ReentryError:
                seen.append("ReentryError")

    h.subscribe(hook)
    assert shared.call("x") == "x"
    assert seen == ["ReentryError"]
    assert shared.call("y") == "y"


def test_another_threads_call_waits_for_the_turn_and_is_not_taken_for_reentry() -> None:
    entered, release = threading.Event(), threading.Event()

    @ns.service
    def gate() -> Generator[Any, Any, None]:
        reply = None
        while True:
            request = yield reply
            if request == "hold":
                entered.set()
                release.wait(10)
            reply = request

    shared = gate().shared(timeout=None)
    results: list[Any] = []
    holder = threading.Thread(target=lambda: results.append(shared.call("hold")))
    holder.start()
    entered.wait(10)
    waiter = threading.Thread(target=lambda: results.append(shared.call("next")))
    waiter.start()
    release.set()
    holder.join(10)
    waiter.join(10)
    assert sorted(results) == ["hold", "next"]


def test_a_zero_timeout_is_busy_under_contention() -> None:
    entered, release = threading.Event(), threading.Event()

    @ns.service
    def gate() -> Generator[Any, Any, None]:
        reply = None
        while True:
            request = yield reply
            if request == "hold":
                entered.set()
                release.wait(10)
            reply = request

    shared = gate().shared(timeout=0)
    holder = threading.Thread(target=shared.call, args=("hold",))
    holder.start()
    entered.wait(10)
    try:
        with pytest.raises(ns.ServiceBusyError, match="still busy"):
            shared.call("other")
    finally:
        release.set()
        holder.join(10)
    assert shared.call("after") == "after"


def test_an_operation_from_inside_this_threads_call_is_reentry_not_a_deadlock() -> None:
    h = echo()
    shared = h.shared(timeout=None)
    seen: list[str] = []

    def hook(event: ns.observe.Event) -> None:
        if event.kind is ns.observe.EventKind.REPLY and not seen:
            try:
                shared.reset()
            except ns.ReentryError:
                seen.append("ReentryError")

    h.subscribe(hook)
    assert shared.call("x") == "x"
    assert seen == ["ReentryError"]
    shared.reset()  # from outside any call: takes its turn
    assert shared.call("y") == "y"
