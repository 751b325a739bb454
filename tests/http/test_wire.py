"""The wire format alone (no server): errors cross as problem documents, rebuilt
only from the allow-list, so the server cannot make the client build any class."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

import nanoservices as ns
from nanoservices.http._wire import error_from_problem, problem_for
from tests.test_errors import ERRORS


def _over_the_wire(doc: dict[str, Any]) -> Any:
    return msgspec.json.decode(msgspec.json.encode(doc))


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_every_error_class_is_rebuilt_as_itself(error: ns.ServiceError) -> None:
    rebuilt = error_from_problem(_over_the_wire(problem_for(error, "ready")), "client-side")
    assert type(rebuilt) is type(error)
    assert rebuilt.service == "svc"
    assert str(rebuilt) == str(error)


@pytest.mark.parametrize(
    "name",
    # builtins, names from the errors module that are not error classes, dunders
    ["SystemExit", "KeyboardInterrupt", "Exception", "short_repr", "__class__", "", None, 42],
)
def test_a_name_outside_the_allow_list_becomes_a_transport_error(name: object) -> None:
    doc = {"error": name, "service": "svc", "message": "boom"}
    rebuilt = error_from_problem(_over_the_wire(doc), "client-side")
    assert type(rebuilt) is ns.TransportError
    assert rebuilt.service == "svc"
    assert "boom" in str(rebuilt)


def test_an_answer_without_a_problem_document_is_a_transport_error() -> None:
    rebuilt = error_from_problem(["not", "a", "problem"], "svc", 502)
    assert type(rebuilt) is ns.TransportError
    assert rebuilt.service == "svc"
    assert "502" in str(rebuilt)
