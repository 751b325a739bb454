"""The registry: names to bindings, refs that follow replacement, listings, threads."""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import Any

import pytest

from nanoservices import Handle, State, service
from nanoservices.compose._registry import (
    Binding,
    HandleBinding,
    LocalBinding,
    Registry,
    ServiceInfo,
    ServiceRef,
    UnknownServiceError,
    default_registry,
)

starts: list[str] = []


@service
def tagger(tag: str = "v1") -> Generator[str | None, Any, None]:
    starts.append(tag)
    reply = None
    try:
        while True:
            reply = f"{tag}:{(yield reply)}"
    finally:
        starts.append(f"closed {tag}")


@pytest.fixture
def registry() -> Registry:
    starts.clear()
    return Registry()


def test_a_registered_factory_starts_on_first_use(registry: Registry) -> None:
    registry.register("tag", tagger, "v1")
    ref = registry["tag"]
    assert starts == []
    assert ref("x") == "v1:x"
    assert ref.call("y") == "v1:y"
    assert starts == ["v1"]


def test_get_and_getitem_give_refs(registry: Registry) -> None:
    registry.register("tag", tagger)
    assert isinstance(registry.get("tag"), ServiceRef)
    assert isinstance(registry["tag"], Handle)


def test_unknown_names_are_refused_at_lookup(registry: Registry) -> None:
    with pytest.raises(UnknownServiceError) as info:
        registry.get("nope")
    assert isinstance(info.value, LookupError)
    assert info.value.service == "nope"


def test_a_taken_name_needs_replace(registry: Registry) -> None:
    registry.register("tag", tagger)
    with pytest.raises(ValueError, match="replace"):
        registry.register("tag", tagger)


def test_a_caller_keeps_its_ref_while_the_service_is_replaced(registry: Registry) -> None:
    registry.register("tag", tagger, "v1")
    ref = registry["tag"]
    assert ref("x") == "v1:x"
    registry.replace("tag", tagger, "v2")
    assert ref("x") == "v2:x"
    assert starts == ["v1", "closed v1", "v2"]  # the registry's own handle was closed


def test_a_live_handle_is_served_but_never_closed_by_the_registry(registry: Registry) -> None:
    mine = tagger("mine")
    registry.add("tag", mine)
    assert registry["tag"]("x") == "mine:x"
    registry.replace("tag", tagger, "v2")
    assert mine.state is State.READY
    assert registry["tag"]("x") == "v2:x"


def test_replace_accepts_a_handle_or_a_binding(registry: Registry) -> None:
    registry.register("tag", tagger)
    registry.replace("tag", tagger("h"))
    assert registry["tag"]("x") == "h:x"
    registry.replace("tag", LocalBinding(tagger, "b"))
    assert registry["tag"]("x") == "b:x"


def test_unregister_closes_what_the_registry_started(registry: Registry) -> None:
    registry.register("tag", tagger)
    ref = registry["tag"]
    ref("x")
    registry.unregister("tag")
    assert "tag" not in registry
    assert starts[-1] == "closed v1"
    with pytest.raises(UnknownServiceError):
        ref("x")


class EchoBinding:
    """A stand-in for a transport's binding ("this name lives at URL X")."""

    kind = "fake-remote"

    def __init__(self, url: str) -> None:
        self.url = url

    def connect(self, name: str) -> Handle[Any, Any]:
        return tagger(self.url)

    def describe(self) -> str:
        return self.url


def test_bind_takes_any_binding(registry: Registry) -> None:
    binding = EchoBinding("http://x/md5")
    assert isinstance(binding, Binding)
    registry.bind("md5", binding)
    assert registry["md5"]("a") == "http://x/md5:a"
    with pytest.raises(TypeError, match="binding"):
        registry.bind("md5", object(), replace=True)  # type: ignore[arg-type]


def test_a_resolver_makes_bindings_for_unregistered_names() -> None:
    asked: list[str] = []

    def resolve(name: str) -> Binding | None:
        asked.append(name)
        return EchoBinding(f"ray://{name}") if name.startswith("r-") else None

    registry = Registry(resolver=resolve)
    assert registry["r-md5"]("a") == "ray://r-md5:a"
    assert registry["r-md5"]("b") == "ray://r-md5:b"
    assert asked == ["r-md5"]  # resolved once, then registered
    with pytest.raises(UnknownServiceError):
        registry.get("other")


def test_listing_shows_each_service_and_its_state(registry: Registry) -> None:
    registry.register("b", tagger)
    registry.add("a", tagger("a"))
    registry["b"]  # a ref alone does not start it
    rows = registry.listing()
    assert [(r.name, r.kind, r.state) for r in rows] == [
        ("a", "handle", None),
        ("b", "local", None),
    ]
    registry["a"]("x")
    registry["b"]("x")
    registry["b"].close()
    assert [r.state for r in registry.listing()] == [State.READY, State.CLOSED]
    assert isinstance(rows[0], ServiceInfo)
    table = registry.table()
    assert table.splitlines()[0].split() == ["NAME", "KIND", "STATE", "TARGET"]
    assert "closed" in table


def test_listing_says_not_started(registry: Registry) -> None:
    registry.register("b", tagger)
    assert registry.listing()[0].status == "not started"
    assert "not started" in registry.table()


def test_the_default_registry_is_a_registry() -> None:
    assert isinstance(default_registry, Registry)


def test_registry_close_closes_what_it_started(registry: Registry) -> None:
    registry.register("t", tagger)
    registry["t"]("x")
    registry.close()
    assert len(registry) == 0
    assert starts[-1] == "closed v1"


def test_handle_binding_describes_its_handle() -> None:
    h = tagger()
    assert HandleBinding(h).describe() == repr(h)


# -- threads -------------------------------------------------------------------------


def test_concurrent_registration_keeps_every_name(registry: Registry) -> None:
    def register_many(offset: int) -> None:
        for i in range(50):
            registry.register(f"s{offset + i}", tagger)

    threads = [threading.Thread(target=register_many, args=(n * 50,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(registry) == 400


def test_concurrent_replace_leaves_one_live_service_per_name(registry: Registry) -> None:
    registry.register("tag", tagger, "v0")
    barrier = threading.Barrier(8)

    def replace_many(n: int) -> None:
        barrier.wait()
        for i in range(25):
            registry.replace("tag", tagger, f"t{n}-{i}")
            registry["tag"]("x")

    threads = [threading.Thread(target=replace_many, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ref = registry["tag"]
    assert ref("x").endswith(":x")
    registry.close()
    opened = [s for s in starts if not s.startswith("closed")]
    closed = [s for s in starts if s.startswith("closed")]
    assert len(opened) == len(closed)  # every handle the registry started was closed


def test_callers_on_other_threads_keep_working_through_replacement(registry: Registry) -> None:
    registry.register("tag", lambda tag: tagger(tag).shared(timeout=5), "v0")
    ref = registry["tag"]
    stop = threading.Event()
    errors: list[BaseException] = []
    replies: list[str] = []

    def caller() -> None:
        while not stop.is_set():
            try:
                replies.append(ref("x"))  # never ServiceClosedError: no close under a call
            except BaseException as exc:  # pragma: no cover - the failure we look for
                errors.append(exc)

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(30):
        registry.replace("tag", lambda tag: tagger(tag).shared(timeout=5), f"v{i + 1}")
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert ref("x") == "v30:x"
    assert replies


# -- issue 11 #4: replace while a call is in flight on another thread -------------------


@service
def waiter(
    tag: str, inside: threading.Event, go_on: threading.Event
) -> Generator[str | None, Any, None]:
    starts.append(tag)
    reply = None
    try:
        while True:
            request = yield reply
            if request == "wait":
                inside.set()
                go_on.wait(timeout=30)
            reply = f"{tag}:{request}"
    finally:
        starts.append(f"closed {tag}")


def test_replace_while_a_call_runs_closes_the_old_service_after_that_call(
    registry: Registry,
) -> None:
    inside, go_on = threading.Event(), threading.Event()
    registry.register("w", waiter, "v1", inside, go_on)
    ref = registry["w"]
    old = registry.handle("w")
    replies: list[str] = []
    errors: list[BaseException] = []

    def caller() -> None:
        try:
            replies.append(ref("wait"))
        except BaseException as exc:  # pragma: no cover - the failure we look for
            errors.append(exc)

    thread = threading.Thread(target=caller)
    thread.start()
    try:
        assert inside.wait(timeout=30)
        registry.replace("w", tagger, "v2")  # no "generator already executing" here
        assert old.state is not State.CLOSED  # its generator is still running
        assert "closed v1" not in starts
        assert ref("x") == "v2:x"  # new callers reach the new service at once
    finally:
        go_on.set()
    thread.join(timeout=30)
    assert errors == []
    assert replies == ["v1:wait"]  # the call in flight finished on the old one
    assert old.state is State.CLOSED  # and then the old service was closed
    assert starts.count("closed v1") == 1


def test_unregister_while_a_call_runs_closes_after_that_call(registry: Registry) -> None:
    inside, go_on = threading.Event(), threading.Event()
    registry.register("w", waiter, "v1", inside, go_on)
    ref = registry["w"]
    old = registry.handle("w")
    thread = threading.Thread(target=ref, args=("wait",))
    thread.start()
    try:
        assert inside.wait(timeout=30)
        registry.unregister("w")
        assert old.state is not State.CLOSED
    finally:
        go_on.set()
    thread.join(timeout=30)
    assert old.state is State.CLOSED
    with pytest.raises(UnknownServiceError):
        ref("x")


def test_a_failing_deferred_close_does_not_fail_the_call_that_ran(
    registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    inside, go_on = threading.Event(), threading.Event()

    @service
    def bad_finally() -> Generator[str | None, Any, None]:
        reply = None
        try:
            while True:
                request = yield reply
                inside.set()
                go_on.wait(timeout=30)
                reply = f"ok:{request}"
        finally:
            raise OSError("disk full")

    registry.register("b", bad_finally)
    ref = registry["b"]
    replies: list[str] = []
    thread = threading.Thread(target=lambda: replies.append(ref("x")))
    thread.start()
    try:
        assert inside.wait(timeout=30)
        registry.replace("b", tagger, "v2")
    finally:
        go_on.set()
    thread.join(timeout=30)
    assert replies == ["ok:x"]
    assert "disk full" in caplog.text  # logged, not lost
