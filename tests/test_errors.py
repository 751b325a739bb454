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


# -- an error's text never raises -------------------------------------------------------

HUGE = 10**4400  # past Python's 4,300-digit limit for int -> str


def test_a_request_holding_a_huge_int_is_shortened_without_converting_it() -> None:
    from nanoservices.services.hashing import md5

    with pytest.raises(ns.InvalidRequestError) as caught:
        md5().call(HUGE)
    assert "<int of 4,401 digits>" in str(caught.value)
    nested = ns.ServiceFailedError("svc", {"id": -HUGE, "rows": [HUGE]})
    assert "{'id': <int of 4,401 digits>, 'rows': [<int of 4,401 digits>]}" in str(nested)
    assert str(ns.InvalidRequestError("svc", 10**400, "no")).count("<int of 401 digits>") == 1
    assert "12345" in str(ns.InvalidRequestError("svc", 12345, "no"))  # small ints as they are


@pytest.mark.parametrize(
    "error",
    [
        ns.ServiceFailedError("svc", HUGE),
        ns.RestartLimitError("svc", HUGE, 3, "KeyError"),
        ns.DeadlineExceeded("svc", HUGE, 1.0),
        ns.StreamReplyError("svc", HUGE),
        ns.StageError("pipe", "stage", HUGE),
    ],
    ids=lambda e: type(e).__name__,
)
def test_no_error_text_raises_on_a_huge_request(error: ns.ServiceError) -> None:
    assert "4,401 digits" in str(error)


class _Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_a_cause_or_request_whose_text_raises_still_gives_a_message() -> None:
    error = ns.ServiceFailedError("svc", _Unprintable())
    error.__cause__ = KeyError(HUGE)  # str(KeyError) is the key's repr: it raises
    text = str(error)
    assert text.startswith("service 'svc': failed on request <_Unprintable")
    assert "KeyError" in text


def test_a_failure_on_a_huge_request_reads_through_explain_and_the_steps() -> None:
    from nanoservices import OnFailure, service
    from nanoservices.observe import explain

    @service(restart=OnFailure(1, per=60))
    def lookup() -> object:
        table: dict[int, int] = {}
        reply = None
        while True:
            key = yield reply
            reply = table[key]

    h = lookup()
    for _ in range(2):
        with pytest.raises(ns.ServiceFailedError) as caught:
            h(HUGE)
        assert "4,401 digits" in str(caught.value)
        assert "4,401 digits" in str(explain(caught.value))
