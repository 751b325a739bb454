"""Errors cross Ray as nanoservices errors: pickle-safe, service name and cause kept."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
import ray

from nanoservices import (
    InvalidRequestError,
    ProtocolViolationError,
    ReentryError,
    RestartLimitError,
    ServiceBusyError,
    ServiceClosedError,
    ServiceError,
    ServiceFailedError,
    TransportError,
)
from nanoservices.ray import ServiceHostPool

pytestmark = pytest.mark.ray

B = "nanoservices.examples.basics"

ERRORS: list[ServiceError] = [
    ServiceError("svc", "plain"),
    ServiceClosedError("svc", "closed"),
    ServiceFailedError("svc", {"big": "request"}),
    ServiceFailedError("svc", 3, "with a message", restarted=True),
    RestartLimitError("svc", 3, 2, "ValueError: boom"),
    ServiceBusyError("svc", "busy"),
    ReentryError("svc", "re-entered"),
    InvalidRequestError("svc", 42, "expected str"),
    ProtocolViolationError("svc", "yielded while closing"),
    TransportError("svc", "unreachable"),
]


def _same(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    assert a.args == b.args
    assert a.service == b.service == "svc"
    assert str(a) == str(b)
    assert vars(a) == vars(b)


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_core_errors_survive_pickle(error: ServiceError) -> None:
    _same(pickle.loads(pickle.dumps(error)), error)


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_core_errors_survive_ray_serialization(local_ray: None, error: ServiceError) -> None:
    _same(ray.get(ray.put(error)), error)


def test_body_error_keeps_its_cause_across_ray(pool: ServiceHostPool) -> None:
    with pool.start(f"{B}:divider", 6.0) as h, pytest.raises(ServiceFailedError) as caught:
        h(0.0)
    error = caught.value
    assert error.service == "divider"
    assert error.request == 0.0
    assert isinstance(error.__cause__, ZeroDivisionError)
    assert any("raised in Ray actor" in note for note in error.__cause__.__notes__)
    assert "ZeroDivisionError" in str(error)


def test_invalid_request_keeps_its_type_across_ray(pool: ServiceHostPool) -> None:
    with pool.start(f"{B}:md5") as h, pytest.raises(TypeError) as caught:
        h(42)
    assert isinstance(caught.value, InvalidRequestError)
    assert caught.value.service == "md5"


def test_an_unpicklable_cause_arrives_as_text(pool: ServiceHostPool) -> None:
    from nanoservices.ray._host import RemoteCause

    with pool.start("nanoservices.examples.faults:crasher") as h:
        with pytest.raises(ServiceFailedError) as caught:
            h("locked")
        cause = caught.value.__cause__
        assert isinstance(cause, RemoteCause)
        assert cause.type_name == "LockedError"
        assert "holding the lock" in str(caught.value)


def test_the_location_of_a_failure_crosses_ray(pool: ServiceHostPool) -> None:
    from nanoservices.observe import explain
    from tests import _cart_services as carts

    with pool.start("tests._cart_services:cart") as h:
        h("start")
        with pytest.raises(ServiceFailedError) as caught:
            h("BOGUS")
    where = caught.value.where
    assert where is not None
    assert (where.function, where.chain) == ("coupon_value", ("cart", "checkout", "coupon_value"))
    assert where.file == carts.__file__  # the host's own path: Ray hosts are the operator's
    notes = "\n".join(caught.value.__notes__)
    assert f"the service failed in coupon_value() at {carts.__file__}:{where.line}" in notes
    text = str(explain(caught.value))
    assert f"coupon_value  {carts.__file__}:{where.line}" in text
    assert "cart > checkout" not in text  # explain draws the chain as a tree
    assert "checkout" in text
