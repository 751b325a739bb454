"""Errors: one root, named situations, context kept, and they survive pickling."""

from __future__ import annotations

import pickle

import pytest

import nanoservices as ns

ERRORS = [
    ns.ServiceError("svc", "message"),
    ns.ServiceClosedError("svc", "closed"),
    ns.ServiceFailedError("svc", {"q": 1}, "", True),
    ns.ServiceStartError("svc", None, "could not start: ValueError: bad dsn"),
    ns.RestartLimitError("svc", 3, 2, "ValueError: x"),
    ns.ServiceBusyError("svc", "busy"),
    ns.ReentryError("svc", "itself"),
    ns.InvalidRequestError("svc", 42, "expected str, got int"),
    ns.ProtocolViolationError("svc", "yielded in close"),
    ns.TransportError("svc", "connection refused"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_errors_round_trip_through_pickle(error: ns.ServiceError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert copy.service == "svc"
    assert str(copy) == str(error)
    assert copy.args == error.args


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_every_error_names_its_service(error: ns.ServiceError) -> None:
    assert isinstance(error, ns.ServiceError)
    assert "'svc'" in str(error)


def test_errors_inherit_what_users_catch() -> None:
    assert issubclass(ns.InvalidRequestError, TypeError)
    assert issubclass(ns.TransportError, ConnectionError)
    assert issubclass(ns.ReentryError, ns.ServiceBusyError)
    assert issubclass(ns.RestartLimitError, ns.ServiceFailedError)


def test_large_requests_are_shortened_in_messages() -> None:
    error = ns.InvalidRequestError("svc", "x" * 10_000, "too long")
    assert len(str(error)) < 200
