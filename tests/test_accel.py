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
