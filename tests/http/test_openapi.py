"""The OpenAPI document validates, and schemathesis finds nothing against a live server
(issue 13, item 8).

Schemathesis (a property-based API tester) reads ``/openapi.json`` from a real
uvicorn server on 127.0.0.1 serving the example services, people (SQLite, the
operator's file) and forecast (the operator's URL: a local WWIS look-alike), a
shared service, and checks a bounded number of generated requests per
operation, valid and invalid ones, against every response check it has.
Operations on a session get a live session id (one per case, closed after it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import pytest
import requests

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402

from nanoservices import service  # noqa: E402
from nanoservices.examples import basics  # noqa: E402
from nanoservices.http import Served, create_app  # noqa: E402
from nanoservices.http._host import discover  # noqa: E402
from nanoservices.http._openapi import openapi  # noqa: E402
from nanoservices.http._run import serving_app  # noqa: E402
from nanoservices.services.forecast import LocalWMOServer, forecasts  # noqa: E402
from nanoservices.services.hashing import md5  # noqa: E402
from nanoservices.services.people import create_demo_database, people  # noqa: E402

pytestmark = pytest.mark.http

#: Generated cases per operation and generation mode (positive, negative): bounded
#: (NANOSERVICES_SCHEMATHESIS_EXAMPLES=100 for a longer hunt).
EXAMPLES = int(os.environ.get("NANOSERVICES_SCHEMATHESIS_EXAMPLES", "4"))
#: NANOSERVICES_SCHEMATHESIS_EXPLORE=1 draws new cases each run (CI keeps one fixed set).
EXPLORE = os.environ.get("NANOSERVICES_SCHEMATHESIS_EXPLORE") == "1"


class Move(msgspec.Struct):
    """A typed request: where to, how far."""

    direction: str
    steps: int


@service
def walker() -> Generator[int, Move, None]:
    """Replies with the steps walked so far (a Struct request type)."""
    walked = 0
    while True:
        move = yield walked
        walked += move.steps


@dataclass
class Tally:
    cases: int = 0
    unsatisfiable: int = 0
    failures: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("people") / "people.sqlite3"
    create_demo_database(db, count=50)
    with LocalWMOServer() as wmo:
        services = [
            *(Served(f) for f in discover("nanoservices.examples.basics").values()),
            Served(people, args=(str(db),)),
            Served(forecasts, kwargs={"base_url": wmo.url_format}),
            Served(basics.counter, name="shared-counter", shared=True),
            Served(md5, name="bundled-md5"),  # str | bytes
            Served(walker),
        ]
        app = create_app(services, max_sessions=100_000, max_sessions_per_client=100_000)
        with serving_app(app) as base:
            yield base


def _session_for(http: httpx.Client, path: str) -> str | None:
    """A live session id of the service in ``path`` (/services/{name}/sessions/...)."""
    name = path.split("/")[2]
    opened = http.post(f"/services/{name}/sessions")
    return str(opened.json()["session"]) if opened.status_code == 201 else None


@schemathesis.check
def _only_the_service_fails(ctx: Any, response: Any, case: Any) -> bool | None:
    """``not_a_server_error``, except the one documented 5xx: the *service* raised on
    this request (500 problem ``service-failed``, the service's own exception named).
    The server itself must never fail (``internal``), whatever it is sent."""
    if response.status_code >= 500:
        doc = response.json()
        if doc.get("type") != "urn:nanoservices:problem:service-failed" or not doc.get("cause"):
            raise AssertionError(f"server error {response.status_code}: {response.text[:300]}")
    return None


def _check_stream(
    http: httpx.Client, url: str, case: Any, operation: Any, mode: Any, tally: Tally
) -> None:
    """A streamed reply may never end (countdown of 10**9): read its first lines only,
    checking the status is documented and the body is what the document says."""
    kwargs = case.as_transport_kwargs(base_url=url)
    tally.cases += 1
    body = json.dumps(kwargs["json"]).encode() if "json" in kwargs else kwargs.get("data")
    with httpx.stream(
        kwargs["method"], kwargs["url"], headers=kwargs.get("headers"), content=body, timeout=30
    ) as response:
        documented = operation.definition.raw["responses"]
        ctype = response.headers.get("content-type", "")
        where = f"{operation.label} [{mode.value}] {response.status_code}"
        if str(response.status_code) not in documented:
            tally.failures.append(f"{where}: undocumented status")
        elif response.status_code == 200:
            if ctype != "application/x-ndjson":
                tally.failures.append(f"{where}: content type {ctype}")
            for n, line in enumerate(response.iter_lines()):
                if not line.startswith(('{"item":', '{"end":', '{"error":', '{"more":')):
                    tally.failures.append(f"{where}: bad frame {line[:80]!r}")
                if n >= 20:
                    break
        elif ctype != "application/problem+json":
            tally.failures.append(f"{where}: content type {ctype}")


def _nothing_to_break(operation: Any, mode: Any) -> bool:
    """A negative case needs an input to make invalid: an operation with no body whose
    only parameter is the session id (which each case replaces with a live one) has
    none, and hypothesis would spend seconds of draws to conclude as much."""
    if mode is not schemathesis.GenerationMode.NEGATIVE or operation.body:
        return False
    return {p.name for p in operation.iter_parameters()} <= {"session"}


def _run_operation(
    url: str, http: httpx.Client, calls: requests.Session, operation: Any, mode: Any, tally: Tally
) -> None:
    if _nothing_to_break(operation, mode):
        tally.unsatisfiable += 1
        return
    strategy = operation.as_strategy(generation_mode=mode)

    @settings(
        max_examples=EXAMPLES,
        derandomize=not EXPLORE,  # the same cases every run, unless asked to explore
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: Any) -> None:
        if True:  # one client for the whole run
            session = None
            if "{session}" in operation.path:
                session = _session_for(http, operation.path)
                case.path_parameters = {**(case.path_parameters or {}), "session": session}
            if operation.method.upper() == "POST" and operation.path.endswith("/stream"):
                _check_stream(http, url, case, operation, mode, tally)
                response = None
            else:
                response = case.call(base_url=url, session=calls, timeout=30)
                tally.cases += 1
                try:
                    case.validate_response(
                        response,
                        excluded_checks=[schemathesis.checks.not_a_server_error],
                        additional_checks=[_only_the_service_fails],
                    )
                except BaseExceptionGroup as exc:  # failed checks: keep them, go on
                    tally.failures.append(f"{operation.label} [{mode.value}]: {exc}")
            if (
                response is not None
                and response.status_code == 201
                and "{session}" not in operation.path
            ):
                session = response.json().get("session")
            if session:
                http.delete(f"{operation.path.split('/{session}')[0].rstrip('/')}/{session}"
                            if "{session}" in operation.path
                            else f"{operation.path}/{session}")  # fmt: skip

    try:
        check()
    except Unsatisfiable:  # nothing to vary in this mode (a negative GET with no inputs)
        tally.unsatisfiable += 1


def _request_schema(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """The request body schema of ``name``'s call, its references resolved."""
    body = doc["paths"][f"/services/{name}/sessions/{{session}}/call"]["post"]["requestBody"]
    schema: dict[str, Any] = body["content"]["application/json"]["schema"]
    return {**schema, "components": doc["components"]}


def test_request_bodies_follow_the_declared_request_type() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    doc = openapi({"md5": Served(md5), "walker": Served(walker)})
    text = _request_schema(doc, "md5")  # str | bytes: msgspec takes no such union whole
    jsonschema.validate("some text", text)
    for wrong in (None, 5, [], {}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, text)
    move = _request_schema(doc, "walker")
    jsonschema.validate({"direction": "north", "steps": 3}, move)
    for wrong in (None, {"direction": "north"}, {"direction": "north", "steps": "3"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, move)


def test_the_openapi_document_validates(url: str) -> None:
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    schema.validate()
    labels = {r.ok().label for r in schema.get_all_operations()}
    for name in ("people", "forecasts", "counter", "shared-counter"):
        assert f"POST /services/{name}/sessions/{{session}}/stream" in labels
    assert "/openapi.json" in httpx.get(url + "/openapi.json").json()["paths"]


#: The services the ``url`` server serves: schemathesis runs one test per service
#: (its operations), plus one for the server's own routes, so that a parallel run
#: spreads them over its workers. Every operation belongs to exactly one group.
SERVICES = (
    *discover("nanoservices.examples.basics"),
    "people",
    "forecasts",
    "shared-counter",
    "bundled-md5",
    "walker",
)
SERVER = "(server)"


def _group(operation: Any) -> str:
    """The service an operation's path names, or ``SERVER`` for the server's own routes."""
    parts = operation.path.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "services" and parts[2] else SERVER


def test_every_operation_is_in_one_schemathesis_group(url: str) -> None:
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    groups = {_group(r.ok()) for r in schema.get_all_operations()}
    assert groups == {*SERVICES, SERVER}


@pytest.mark.timeout(900)
@pytest.mark.parametrize("group", [*SERVICES, SERVER])
def test_schemathesis_finds_nothing(
    url: str, group: str, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    tally = Tally()
    operations = [r.ok() for r in schema.get_all_operations() if _group(r.ok()) == group]
    assert operations, group
    trace = bool(os.environ.get("NANOSERVICES_SCHEMATHESIS_TRACE"))
    with httpx.Client(base_url=url) as http, requests.Session() as calls:
        for operation in operations:
            for mode in schemathesis.GenerationMode:
                if trace:
                    print(operation.label, mode.value, flush=True)
                _run_operation(url, http, calls, operation, mode, tally)
    with capsys.disabled():
        print(
            f"\nschemathesis {group}: {len(operations)} operations, {tally.cases} cases, "
            f"{len(tally.failures)} failures ({tally.unsatisfiable} operation/mode pairs "
            "with nothing to generate)"
        )
    assert tally.cases >= len(operations)
    assert not tally.failures, "\n".join(tally.failures[:30])
