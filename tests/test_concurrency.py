"""Threads and re-entry: never a bare "generator already executing"."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Iterator
from typing import Any

import pytest

import nanoservices as ns


def _slow_echo_factory(delay: float) -> ns.core.ServiceFactory[[], Any, Any]:
    @ns.service
    def slow_echo() -> Generator[Any, Any, None]:
        reply = None
        while True:
            request = yield reply
            time.sleep(delay)
            reply = request

    return slow_echo


def _gated_echo_factory() -> tuple[
    ns.core.ServiceFactory[[], Any, Any], threading.Event, threading.Event
]:
    """An echo that signals ``inside`` once it runs a request and finishes it only
    when ``release`` is set: threads are ordered by events, never by sleeps."""
    inside, release = threading.Event(), threading.Event()

    @ns.service
    def gated_echo() -> Generator[Any, Any, None]:
        reply = None
        while True:
            request = yield reply
            inside.set()
            assert release.wait(30), "the test never released the service"
            reply = request

    return gated_echo, inside, release


def _in_thread(fn: Any, *args: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(fn(*args))
        except BaseException as exc:  # reported to the test through ``out``
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_default_handle_refuses_a_second_thread_clearly() -> None:
    factory, inside, release = _gated_echo_factory()
    h = factory()
    thread, out = _in_thread(h, "first")
    assert inside.wait(30)
    assert h.state is ns.State.BUSY
    with pytest.raises(ns.ServiceBusyError, match=r"another thread.*handle.shared\(\)") as caught:
        h("second")
    assert not isinstance(caught.value, ns.ReentryError)
    release.set()
    thread.join()
    assert out == ["first"]
    assert h.state is ns.State.READY
    assert h("third") == "third"  # nothing was broken by the refused call


def test_shared_handle_serializes_threads() -> None:
    h = _slow_echo_factory(0.001)().shared()
    results: list[Any] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(50):
            reply = h((n, i))
            with lock:
                results.append(reply == (n, i))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 400


def test_shared_handle_times_out_with_a_busy_error() -> None:
    factory, inside, release = _gated_echo_factory()
    h = factory().shared(timeout=0.05)
    thread, out = _in_thread(h, "slow")
    assert inside.wait(30)
    with pytest.raises(ns.ServiceBusyError, match=r"waiting 0\.05s"):
        h("impatient")
    release.set()
    thread.join()
    assert out == ["slow"]


def test_a_stream_holds_a_shared_service_until_it_ends() -> None:
    @ns.service
    def numbers() -> Generator[ns.Stream[int], int, None]:
        n = yield ns.streamed(())
        while True:
            n = yield ns.streamed(range(n))

    h = numbers().shared(timeout=0.05)
    items = h.stream(3)
    assert next(items) == 0
    thread, out = _in_thread(h.call, 1)
    thread.join()
    assert isinstance(out[0], ns.ServiceBusyError)  # the other thread waited, then gave up
    assert list(items) == [1, 2]
    thread, out = _in_thread(lambda: list(h.stream(2)))
    thread.join()
    assert out == [[0, 1]]


def test_same_thread_call_during_its_own_shared_stream_is_refused_not_deadlocked() -> None:
    @ns.service
    def numbers() -> Generator[ns.Stream[int], int, None]:
        n = yield ns.streamed(())
        while True:
            n = yield ns.streamed(range(n))

    h = numbers().shared()
    items = h.stream(3)
    next(items)
    with pytest.raises(ns.ServiceBusyError, match="stream this thread opened"):
        h(1)
    items.cancel()
    assert list(h.stream(2)) == [0, 1]


def _self_caller() -> tuple[Any, list[Any]]:
    holder: list[Any] = []

    @ns.service
    def recursive() -> Generator[Any, Any, None]:
        reply = None
        while True:
            request = yield reply
            reply = holder[0](request)  # calls itself through its own handle

    return recursive, holder


def test_reentry_is_a_clear_error_not_a_hang() -> None:
    factory, holder = _self_caller()
    h = factory()
    holder.append(h)
    with pytest.raises(ns.ServiceFailedError) as caught:
        h(1)
    assert isinstance(caught.value.__cause__, ns.ReentryError)
    assert "called itself" in str(caught.value.__cause__)


def test_reentry_through_a_shared_handle_is_a_clear_error_not_a_deadlock() -> None:
    factory, holder = _self_caller()
    h = factory().shared()
    holder.append(h)
    with pytest.raises(ns.ServiceFailedError) as caught:
        h(1)
    assert isinstance(caught.value.__cause__, ns.ReentryError)


def test_threads_iterating_one_raw_stream_get_busy_errors_not_value_errors() -> None:
    inside, let_go = threading.Event(), threading.Event()

    def slow_items() -> Iterator[Any]:
        while (yield) is not None:  # the talk's style: stream until None
            yield 1
            inside.set()
            let_go.wait(timeout=10)  # a generous bound against a hang, not a speed check
            yield 2

    h = ns.raw(slow_items)()
    items = h.stream("go")
    thread, out = _in_thread(list, items)
    try:
        assert inside.wait(timeout=10)  # the other thread is now inside the generator
        with pytest.raises(ns.ServiceBusyError, match=r"'slow_items'"):
            next(items)
    finally:
        let_go.set()
        thread.join(timeout=10)
    assert out == [[1, 2]]  # the first thread got every item: the refusal broke nothing
