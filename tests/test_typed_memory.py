"""A typed service's handles share its one check object: an idle typed handle
costs within twice an untyped one (it once built a closure chain per handle),
unions and services that refuse included (the bundled md5 is both)."""

from __future__ import annotations

import gc
import hashlib
import tracemalloc
from collections.abc import Callable, Generator
from typing import Any

import pytest

import nanoservices as ns
from nanoservices.services.hashing import hasher, md5


def _body() -> Generator[str | None, str, None]:
    reply = None
    while True:
        request = yield reply
        reply = hashlib.md5(request.encode()).hexdigest()


typed = ns.service(_body)
untyped = ns.service(validate=False)(_body)
#: the bundled md5 (``str | bytes``, and it may refuse) without its request check
md5_untyped = hasher.with_options(name="md5", validate=False)


def _per_handle(factory: Callable[[], Any], n: int = 2_000) -> float:
    holder: list[Any] = [None] * n
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(n):
            holder[i] = factory()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return (after - before) / n


def test_a_typed_idle_handle_is_within_twice_an_untyped_one() -> None:
    assert typed.spec.check is not None
    assert untyped.spec.check is None
    assert _per_handle(typed) <= 2 * _per_handle(untyped)


def test_the_bundled_md5_is_within_twice_its_own_body_untyped() -> None:
    assert md5.spec.check is not None
    assert md5.spec.refuses
    assert md5_untyped.spec.check is None
    assert _per_handle(md5) <= 2 * _per_handle(md5_untyped)


def test_handles_of_one_service_share_its_check() -> None:
    a, b = md5(), md5()
    assert a._sink is not b._sink  # each handle's sink holds its own generator...
    assert a._sink.check is b._sink.check is md5.spec.check  # ...and the service's check


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        ("abc", None),
        (b"abc", None),
        (3, ns.InvalidRequestError),
        ("\ud800", ns.InvalidRequestError),  # refused by the service itself
    ],
)
def test_the_shared_check_still_refuses_and_the_service_survives(
    request_: object, error: type[Exception] | None
) -> None:
    h = md5()
    if error is None:
        assert h.call(request_) == hashlib.md5(b"abc").hexdigest()
    else:
        with pytest.raises(error, match="md5"):
            h.call(request_)
    assert h.state is ns.State.READY
    assert h.call("x") == hashlib.md5(b"x").hexdigest()


def test_a_renamed_typed_handle_names_itself_in_its_errors() -> None:
    h, other = md5(), md5()
    h.rename("md5-primary")
    with pytest.raises(ns.InvalidRequestError, match="md5-primary"):
        h.call(1)
    with pytest.raises(ns.InvalidRequestError) as caught:
        other.call(1)
    assert "md5-primary" not in str(caught.value)
