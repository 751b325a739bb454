"""The optional C accelerator and the pure-Python handle behave as one.

``LocalHandle`` is the accelerator's C type when the extension was compiled, and
the pure-Python class otherwise (or when ``NANOSERVICES_PURE_PYTHON=1``). The
pure class stays importable either way (``PureLocalHandle``), so these tests
drive both in one run: same replies, same errors (with the same chaining), same
keyword handling, same memory.
"""

from __future__ import annotations

import gc
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import weakref
from collections.abc import Generator
from typing import Any

import pytest

import nanoservices as ns
import nanoservices.core
from nanoservices.core._handle import LocalHandle, PureLocalHandle

ACCELERATED = nanoservices.core.ACCELERATED
KINDS = [pytest.param(PureLocalHandle, id="pure")]
if ACCELERATED:
    KINDS.append(pytest.param(LocalHandle, id="c"))

#: sys.getsizeof of an idle handle before the accelerator: 7 slots, the weak-reference
#: slot, the object header and the GC header (64-bit CPython).
IDLE_BYTES_BEFORE = 96


@ns.service
def echo() -> Generator[Any, Any, None]:
    reply = None
    while True:
        reply = yield reply


@ns.service
def fragile() -> Generator[Any, Any, None]:
    reply = None
    while True:
        request = yield reply
        if request == "boom":
            raise KeyError("boom")
        reply = request


@ns.service
def counter() -> Generator[int, int, str]:
    total = 0
    while True:
        step = yield total
        if step < 0:
            return f"ended at {total}"
        total += step


def _start(kind: type[Any], factory: Any) -> Any:
    return kind(factory.spec)


def test_the_active_implementation_is_exposed() -> None:
    assert isinstance(ACCELERATED, bool)
    assert (LocalHandle is not PureLocalHandle) is ACCELERATED
    assert ns.LocalHandle is LocalHandle
    assert type(echo()) is LocalHandle


def test_the_environment_variable_forces_the_pure_path() -> None:
    code = (
        "import nanoservices.core as c, nanoservices.core._handle as h\n"
        "print(c.ACCELERATED, c.LocalHandle is h.PureLocalHandle)"
    )
    env = {**os.environ, "NANOSERVICES_PURE_PYTHON": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "True"]


@pytest.mark.skipif(
    importlib.util.find_spec("nanoservices.core._speedups") is None,
    reason="the C accelerator is not compiled here (no C compiler at install time)",
)
def test_a_compiled_accelerator_is_used_unless_the_pure_path_is_forced() -> None:
    code = "import nanoservices.core as c; print(c.ACCELERATED)"
    env = {k: v for k, v in os.environ.items() if k != "NANOSERVICES_PURE_PYTHON"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "True"


@pytest.mark.parametrize("kind", KINDS)
def test_call_and_dunder_call_reply(kind: type[Any]) -> None:
    h = _start(kind, echo)
    assert h.call(1) == 1
    assert h("two") == "two"
    assert h.call((3, 4)) == (3, 4)  # a tuple is one argument, not unpacked
    assert h.state is ns.State.READY


def _failure(kind: type[Any], via: str) -> BaseException:
    h = _start(kind, fragile)
    with pytest.raises(ns.ServiceFailedError) as caught:
        h.call("boom") if via == "call" else h("boom")
    assert h.state is ns.State.FAILED
    return caught.value


@pytest.mark.parametrize("via", ["call", "dunder"])
def test_a_failure_comes_out_the_same_with_the_same_chaining(via: str) -> None:
    pure = _failure(PureLocalHandle, via)
    fast = _failure(LocalHandle, via)
    assert str(fast) == str(pure)
    assert type(fast.__cause__) is type(pure.__cause__) is KeyError
    assert type(fast.__context__) is type(pure.__context__)
    assert fast.__suppress_context__ == pure.__suppress_context__


def _outcome(h: Any, request: object) -> object:
    try:
        return ("reply", h.call(request))
    except ns.ServiceError as exc:
        return ("error", type(exc), str(exc))


@pytest.mark.parametrize("kind", KINDS)
def test_what_the_service_returns_ends_it_as_in_pure_python(kind: type[Any]) -> None:
    h, pure = _start(kind, counter), _start(PureLocalHandle, counter)
    assert h.call(2) == pure.call(2) == 2
    assert _outcome(h, -1) == _outcome(pure, -1)
    assert h.result == pure.result == "ended at 2"
    assert h.state is pure.state
    assert _outcome(h, 1) == _outcome(pure, 1)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("args", "kwargs"), [((), {}), ((1, 2, 3), {}), ((1,), {"bogus": 1}), ((), {"request": 1})]
)
def test_other_arguments_go_to_the_pure_python_call(
    kind: type[Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """Only ``call(request)`` is in C; anything else (keywords such as a later
    ``timeout=``, a wrong count) is the pure-Python method's to answer."""
    h = _start(kind, echo)
    with pytest.raises(TypeError) as fast:
        h.call(*args, **kwargs)
    with pytest.raises(TypeError) as pure:
        PureLocalHandle.call(_start(PureLocalHandle, echo), *args, **kwargs)
    assert str(fast.value) == str(pure.value)
    with pytest.raises(TypeError):
        h(*args, **kwargs)
    assert h.call("still fine") == "still fine"


@pytest.mark.parametrize("kind", KINDS)
def test_re_entry_and_a_second_thread_are_refused(kind: type[Any]) -> None:
    @ns.service
    def keeper() -> Generator[Any, Any, None]:
        reply = None
        while True:
            request = yield reply
            try:
                reply = request()
            except ns.ServiceError as exc:
                reply = type(exc).__name__

    h = _start(kind, keeper)
    assert h.call(lambda: h.call(lambda: None)) == "ReentryError"
    assert h(lambda: h(lambda: None)) == "ReentryError"

    inside, release = threading.Event(), threading.Event()
    outcome: list[str] = []

    def hold() -> None:
        inside.set()
        release.wait(10)

    def other() -> None:
        inside.wait(10)
        try:
            h.call(lambda: None)
        except ns.ServiceBusyError:
            outcome.append("busy")
        release.set()

    second = threading.Thread(target=other)
    second.start()
    h.call(hold)
    second.join(10)
    assert outcome == ["busy"]
    assert h.state is ns.State.READY


@pytest.mark.parametrize("kind", KINDS)
def test_the_sink_swap_reaches_the_hot_path(kind: type[Any]) -> None:
    """Subscribing a hook points ``_sink`` at an observing wrapper: the C call
    goes through it (events), and back to the bare generator once unsubscribed."""
    h = _start(kind, echo)
    seen: list[Any] = []

    def hook(event: ns.observe.Event) -> None:
        seen.append(event.kind)

    h.subscribe(hook)
    assert h.call(1) == 1
    assert h(2) == 2
    assert seen.count(ns.observe.EventKind.REPLY) == 2
    h.unsubscribe(hook)
    assert h._sink is h.generator
    assert h.call(3) == 3
    assert seen.count(ns.observe.EventKind.REPLY) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_closed_handle_refuses(kind: type[Any]) -> None:
    h = _start(kind, echo)
    h.close()
    with pytest.raises(ns.ServiceClosedError):
        h.call(1)
    with pytest.raises(ns.ServiceClosedError):
        h(1)


@pytest.mark.parametrize("kind", KINDS)
def test_an_idle_handle_is_no_bigger_than_before(kind: type[Any]) -> None:
    h = _start(kind, echo)
    assert gc.is_tracked(h)
    assert sys.getsizeof(h) <= IDLE_BYTES_BEFORE
    assert h._extra is None  # nothing rarely used is made for an idle handle
    ref = weakref.ref(h)
    del h
    gc.collect()
    assert ref() is None


@pytest.mark.parametrize("kind", KINDS)
def test_the_class_is_generic_and_a_handle(kind: type[Any]) -> None:
    alias = kind[int, str]
    assert alias.__origin__ is kind
    assert isinstance(_start(kind, echo), ns.Handle)
    assert kind.__name__ == "LocalHandle"
    assert kind.call.__doc__


def test_the_accelerated_type_has_every_method_of_the_pure_class() -> None:
    missing = [
        name
        for name in vars(PureLocalHandle)
        if not name.startswith("__") and not hasattr(LocalHandle, name)
    ]
    assert missing == []


# -- the shared handle: one C type too (call and __call__), over both local kinds ---------

from nanoservices.core._shared import PureSharedHandle, SharedHandle  # noqa: E402

#: (shared class, local class): the C shared handle over the C and the pure local
#: handle (its call reaches a C handle's send directly, any other through ``call``),
#: and the pure-Python pair, the reference.
SHARED_KINDS = [pytest.param((PureSharedHandle, PureLocalHandle), id="pure")]
if ACCELERATED:
    SHARED_KINDS += [
        pytest.param((SharedHandle, LocalHandle), id="c-over-c"),
        pytest.param((SharedHandle, PureLocalHandle), id="c-over-pure"),
    ]

#: sys.getsizeof of an idle pure shared handle and of its threading.Lock (64-bit).
SHARED_BYTES_BEFORE = 80 + 56


def _shared(kinds: tuple[type[Any], type[Any]], factory: Any, timeout: float | None = None) -> Any:
    shared_kind, local_kind = kinds
    return shared_kind(_start(local_kind, factory), timeout=timeout)


def test_the_shared_type_is_the_accelerated_one_when_the_local_one_is() -> None:
    assert (SharedHandle is not PureSharedHandle) is ACCELERATED
    assert nanoservices.core.SharedHandle is SharedHandle
    assert type(echo().shared()) is SharedHandle
    code = (
        "import nanoservices.core as c, nanoservices.core._shared as s\n"
        "print(c.ACCELERATED, c.SharedHandle is s.PureSharedHandle)"
    )
    env = {**os.environ, "NANOSERVICES_PURE_PYTHON": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "True"]


@pytest.mark.parametrize("kinds", SHARED_KINDS)
def test_shared_call_and_dunder_call_reply_and_give_the_lock_back(
    kinds: tuple[type[Any], type[Any]],
) -> None:
    sh = _shared(kinds, echo)
    assert sh.call(1) == 1
    assert sh("two") == "two"
    assert sh.call((3, 4)) == (3, 4)
    assert sh.call(5, timeout=10) == 5  # a keyword: the pure-Python call
    sh.timeout = 10.0  # a default deadline: the pure-Python call too
    assert sh.call(6) == sh(6) == 6
    assert not sh._lock.locked()
    assert sh.state is ns.State.READY


@pytest.mark.parametrize("kinds", SHARED_KINDS)
@pytest.mark.parametrize("via", ["call", "dunder"])
def test_a_shared_failure_comes_out_as_in_pure_python(
    kinds: tuple[type[Any], type[Any]], via: str
) -> None:
    def fail(kinds: tuple[type[Any], type[Any]]) -> tuple[BaseException, Any]:
        sh = _shared(kinds, fragile)
        with pytest.raises(ns.ServiceFailedError) as caught:
            sh.call("boom") if via == "call" else sh("boom")
        return caught.value, sh

    fast, sh = fail(kinds)
    pure, _ = fail((PureSharedHandle, PureLocalHandle))
    assert str(fast) == str(pure)
    assert type(fast.__cause__) is type(pure.__cause__) is KeyError
    assert not sh._lock.locked()  # given back on the error path
    assert sh.state is ns.State.FAILED
    with pytest.raises(ns.ServiceFailedError):
        sh.call("again")  # refused by the handle, not a busy lock


@pytest.mark.parametrize("kinds", SHARED_KINDS)
def test_what_the_service_returns_ends_it_through_the_shared_handle(
    kinds: tuple[type[Any], type[Any]],
) -> None:
    sh, pure = _shared(kinds, counter), _shared((PureSharedHandle, PureLocalHandle), counter)
    assert sh.call(2) == pure.call(2) == 2
    assert _outcome(sh, -1) == _outcome(pure, -1)
    assert sh.state is pure.state
    assert _outcome(sh, 1) == _outcome(pure, 1)


@pytest.mark.parametrize("kinds", SHARED_KINDS)
@pytest.mark.parametrize(("args", "kwargs"), [((), {}), ((1, 2, 3), {}), ((1,), {"bogus": 1})])
def test_other_arguments_go_to_the_pure_python_shared_call(
    kinds: tuple[type[Any], type[Any]], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    sh = _shared(kinds, echo)
    with pytest.raises(TypeError) as fast:
        sh.call(*args, **kwargs)
    with pytest.raises(TypeError) as pure:
        PureSharedHandle.call(_shared((PureSharedHandle, PureLocalHandle), echo), *args, **kwargs)
    assert str(fast.value) == str(pure.value)
    with pytest.raises(TypeError):
        sh(*args, **kwargs)
    assert not sh._lock.locked()
    assert sh.call("still fine") == "still fine"


@ns.service
def keeper() -> Generator[Any, Any, None]:
    reply = None
    while True:
        request = yield reply
        try:
            reply = request()
        except ns.ServiceError as exc:
            reply = type(exc).__name__


@pytest.mark.parametrize("kinds", SHARED_KINDS)
def test_shared_re_entry_is_refused_at_once_and_another_thread_waits(
    kinds: tuple[type[Any], type[Any]],
) -> None:
    """A C call leaves no frame: its lock names the thread holding it, so the
    slow path still tells re-entry (refused) from contention (waits its turn)."""
    sh = _shared(kinds, keeper)
    assert sh.call(lambda: sh.call(lambda: None)) == "ReentryError"
    assert sh(lambda: sh(lambda: None)) == "ReentryError"
    assert sh.call(lambda: sh.call(lambda: None, timeout=10)) == "ReentryError"
    assert sh.call(lambda: sh.stream(None)) == "ReentryError"

    inside, release = threading.Event(), threading.Event()
    results: list[Any] = []

    def hold() -> str:
        inside.set()
        release.wait(10)
        return "held"

    def other() -> None:
        inside.wait(10)
        release.set()  # the holder may finish: this call waits for it, then runs
        results.append(sh.call(lambda: "second"))

    second = threading.Thread(target=other)
    second.start()
    results.append(sh.call(hold))
    second.join(10)
    assert sorted(results) == ["held", "second"]
    assert not sh._lock.locked()


@pytest.mark.parametrize("kinds", SHARED_KINDS)
def test_a_shared_wait_past_the_timeout_is_busy(kinds: tuple[type[Any], type[Any]]) -> None:
    sh = _shared(kinds, keeper, timeout=0.01)
    inside, release = threading.Event(), threading.Event()
    outcome: list[str] = []

    def other() -> None:
        inside.wait(10)
        try:
            sh.call(lambda: None)
        except ns.ServiceBusyError:
            outcome.append("busy")
        release.set()

    def hold() -> None:
        inside.set()
        release.wait(10)

    second = threading.Thread(target=other)
    second.start()
    sh.call(hold)
    second.join(10)
    assert outcome == ["busy"]
    assert sh.call(lambda: "free") == "free"


def test_the_shared_lock_behaves_as_a_threading_lock() -> None:
    if not ACCELERATED:
        pytest.skip("the C accelerator is not active")
    lock = echo().shared()._lock
    assert type(lock) is not type(threading.Lock())
    assert lock.acquire(False) is True
    assert lock.locked()
    assert lock.acquire(False) is False
    assert lock.acquire(timeout=0.001) is False
    with pytest.raises(ValueError, match="non-blocking"):
        lock.acquire(False, 1.0)
    with pytest.raises(ValueError, match="non-negative"):
        lock.acquire(timeout=-2)
    lock.release()
    with pytest.raises(RuntimeError):
        lock.release()
    with lock:
        assert lock.locked()
    assert not lock.locked()
    assert lock.call_owner == 0


@pytest.mark.parametrize("kinds", SHARED_KINDS)
def test_an_idle_shared_handle_is_no_bigger_than_before(
    kinds: tuple[type[Any], type[Any]],
) -> None:
    sh = _shared(kinds, echo)
    assert gc.is_tracked(sh)
    assert sys.getsizeof(sh) + sys.getsizeof(sh._lock) <= SHARED_BYTES_BEFORE
    inner = weakref.ref(sh.local)
    del sh
    gc.collect()
    assert inner() is None


@pytest.mark.parametrize("kinds", SHARED_KINDS)
def test_the_shared_class_is_generic_and_a_handle(kinds: tuple[type[Any], type[Any]]) -> None:
    shared_kind, _ = kinds
    assert shared_kind[int, str].__origin__ is shared_kind
    assert isinstance(_shared(kinds, echo), ns.Handle)
    assert shared_kind.__name__ == "SharedHandle"
    assert shared_kind.call.__doc__


def test_the_accelerated_shared_type_has_every_method_of_the_pure_class() -> None:
    missing = [
        name
        for name in vars(PureSharedHandle)
        if not name.startswith("__") and not hasattr(SharedHandle, name)
    ]
    assert missing == []


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_a_signal_handler_runs_while_waiting_for_the_shared_lock() -> None:
    """A wait for a turn (GIL released) still runs signal handlers: an exception
    from one (Ctrl-C's KeyboardInterrupt, say) ends the wait."""
    if not ACCELERATED:
        pytest.skip("the C accelerator is not active")

    class Interrupted(Exception):
        pass

    def handler(signum: int, frame: object) -> None:
        raise Interrupted

    lock = echo().shared()._lock
    assert lock.acquire(False)
    main, done = threading.get_ident(), threading.Event()

    def poke() -> None:
        while not done.wait(0.01):  # until the waiter has been interrupted
            signal.pthread_kill(main, signal.SIGUSR1)

    previous = signal.signal(signal.SIGUSR1, handler)
    poker = threading.Thread(target=poke)
    try:
        poker.start()
        with pytest.raises(Interrupted):
            lock.acquire(timeout=60)
    finally:
        done.set()
        poker.join(10)
        signal.signal(signal.SIGUSR1, previous)
    assert lock.locked()  # still the first holder's
    lock.release()


@pytest.mark.parametrize("kinds", SHARED_KINDS)
def test_eight_threads_through_one_shared_handle_lose_no_update(
    kinds: tuple[type[Any], type[Any]],
) -> None:
    """The C fast path and the pure-Python wait share one lock: mixed turns
    (uncontended in C, contended in Python, keyword calls in Python) lose nothing."""
    sh = _shared(kinds, counter)
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        start.wait(10)
        try:
            for i in range(2000):
                if (i + n) % 7 == 0:
                    sh.call(1, timeout=30)
                elif i % 2:
                    sh(1)
                else:
                    sh.call(1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often: many calls find the lock taken
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert sh.call(0) == 8 * 2000
    assert not sh._lock.locked()
