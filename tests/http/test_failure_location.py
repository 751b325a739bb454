"""Over HTTP a failure says where it happened, as locally; the server logs it in full.

The problem document carries the location (the file relative to the service's
folder, the function, the line, the chain of function names), never an absolute
path or a local variable, unless the operator asks for the traceback
(``Served(tracebacks=True)``, ``serve --tracebacks``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nanoservices import InvalidRequestError, ServiceFailedError
from nanoservices.core import RemoteCause, Where
from nanoservices.http import Served, aconnect, connect, running
from nanoservices.observe import explain
from tests import _cart_services as carts

pytestmark = pytest.mark.http

RAISING_LINE = next(
    i
    for i, text in enumerate(Path(carts.__file__).read_text().splitlines(), 1)
    if text.endswith("# raises here")
)
CHAIN = ("cart", "checkout", "coupon_value")
PORTABLE = Where("coupon_value", "_cart_services.py", RAISING_LINE, CHAIN,
                 "tests._cart_services", relative="_cart_services.py")  # fmt: skip
NOTE = f"the service failed in coupon_value() at _cart_services.py:{RAISING_LINE} " + (
    "(cart > checkout > coupon_value)"
)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    services = [Served(carts.cart), Served(carts.acart)]
    with running(services) as base:
        yield base


def _fail(url: str) -> ServiceFailedError:
    with connect(url, "cart") as h:
        h("start")
        with pytest.raises(ServiceFailedError) as caught:
            h("BOGUS")
    return caught.value


def test_the_clients_error_names_the_raising_frame_as_the_local_one_does(url: str) -> None:
    error = _fail(url)
    assert error.where == PORTABLE
    assert error.where.relative == "_cart_services.py"  # as a local error's
    assert NOTE in error.__notes__
    assert isinstance(error.__cause__, RemoteCause)
    assert str(error) == "service 'cart': failed on request 'BOGUS': KeyError: 'BOGUS'"


def test_a_remote_failure_tells_the_state_it_left_as_a_local_one_does(url: str) -> None:
    assert _fail(url).left_state == "failed"  # no restart policy
    with connect(url, "cart") as h:
        with pytest.raises(ServiceFailedError) as caught:
            list(h.stream("items"))
        assert caught.value.left_state == "ready"  # only the stream failed
        h.restart()
    assert "the service is failed" in str(explain(_fail(url)))


def test_explain_shows_the_chain_of_a_remote_failure(url: str) -> None:
    text = str(explain(_fail(url)))
    assert text.startswith("service 'cart' failed on request 'BOGUS'\n  KeyError: 'BOGUS'\n")
    assert f"coupon_value  _cart_services.py:{RAISING_LINE}" in text
    assert "└─ cart" in text
    assert "└─ checkout" in text
    assert "its traceback is in that server's log" in text


def test_the_problem_document_holds_no_absolute_path_and_no_locals(url: str) -> None:
    with httpx.Client(base_url=url) as http:
        opened = http.post("/services/cart/sessions").json()
        path = f"/services/cart/sessions/{opened['session']}/call"
        http.post(path, json="start")
        answer = http.post(path, json="BOGUS")
    assert answer.status_code == 500
    doc = answer.json()
    assert doc["where"] == {
        "function": "coupon_value",
        "file": "_cart_services.py",
        "module": "tests._cart_services",
        "line": RAISING_LINE,
        "chain": list(CHAIN),
    }
    assert str(Path(carts.__file__).parent) not in answer.text
    assert "traceback" not in doc
    assert "locals" not in doc
    assert "COUPONS" not in answer.text  # no source line, no values


def test_a_failed_stream_says_where_its_source_raised(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="nanoservices.http")
    with connect(url, "cart") as h, pytest.raises(ServiceFailedError) as caught:
        list(h.stream("items"))
    where = caught.value.where
    assert where is not None
    assert (where.function, where.file) == ("items", "_cart_services.py")
    (logged,) = [r for r in caplog.records if r.name == "nanoservices.http"]
    assert logged.getMessage().startswith("service 'cart' failed on request 'items' (session ")
    assert "LookupError: no more items" in caplog.text


def test_an_async_service_over_http_says_where_it_failed(url: str) -> None:
    async def main() -> ServiceFailedError:
        async with await aconnect(url, "acart") as h:
            with pytest.raises(ServiceFailedError) as caught:
                await h("BOGUS")
        return caught.value

    where = asyncio.run(main()).where
    assert where is not None
    assert where.chain == ("acart", "acheckout", "coupon_value")
    assert (where.file, where.line) == ("_cart_services.py", RAISING_LINE)


def test_the_operator_may_send_the_traceback_for_development() -> None:
    with running([Served(carts.cart, tracebacks=True)]) as base:
        error = _fail(base)
    assert error.where == PORTABLE
    cause = error.__cause__
    assert cause is not None
    notes = "\n".join(cause.__notes__)
    assert "the server's traceback" in notes
    assert f'File "{carts.__file__}", line {RAISING_LINE}, in coupon_value' in notes
    assert "return COUPONS[code]" in notes


# -- the server's log ---------------------------------------------------------------------


def test_the_server_logs_a_failure_with_its_traceback(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="nanoservices.http")
    with connect(url, "cart") as h:
        with pytest.raises(InvalidRequestError):  # a refusal is not a failure: not logged
            h.throw(KeyboardInterrupt)
        h("start")
        with pytest.raises(ServiceFailedError):
            h("BOGUS")
        session = h._wire.path.rsplit("/", 1)[1]
        with pytest.raises(ServiceFailedError, match="failed earlier"):  # refused: not logged
            h("TEN")
    failures = [r for r in caplog.records if r.name == "nanoservices.http"]
    assert len(failures) == 1
    record = failures[0]
    assert record.levelno == logging.ERROR
    message = record.getMessage()
    assert message.startswith("service 'cart' failed on request 'BOGUS' (session ")
    assert session in message
    assert record.exc_info is not None
    text = caplog.text
    assert "KeyError: 'BOGUS'" in text
    assert f'File "{carts.__file__}", line {RAISING_LINE}, in coupon_value' in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_real_servers_log_shows_the_failure_and_never_the_token() -> None:
    port = _free_port()
    token = "tok-7c1f0e9d"
    process = subprocess.Popen(
        [sys.executable, "-m", "nanoservices", "serve", "tests._cart_services:redeem",
         "--port", str(port), "--token", token],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stderr is not None
    for line in process.stderr:  # wait for the server to say it listens (no sleeps)
        if "Uvicorn running on" in line:
            break
    else:
        pytest.fail("the server did not start")
    try:
        h = connect(f"http://127.0.0.1:{port}", "redeem", token=token)
        with h, pytest.raises(ServiceFailedError):
            h({"code": "BOGUS", "password": "hunter2"})
    finally:
        process.send_signal(signal.SIGINT)
        _, log = process.communicate(timeout=30)
    assert "ERROR:" in log
    assert "service 'redeem' failed on request {'code': 'BOGUS', 'password': <hidden>}" in log
    assert "Traceback (most recent call last)" in log
    assert "in coupon_value" in log
    assert token not in log
    assert "hunter2" not in log


def test_the_problem_document_hides_secrets_as_the_log_does(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="nanoservices.http")
    form = {"code": "BOGUS", "user": "bob", "token": "tok-91a", "password": "pw-35c"}
    with running([Served(carts.redeem)]) as base, httpx.Client(base_url=base) as http:
        opened = http.post("/services/redeem/sessions").json()
        answer = http.post(f"/services/redeem/sessions/{opened['session']}/call", json=form)
    assert answer.status_code == 500
    doc = answer.json()
    shown = "{'code': 'BOGUS', 'user': 'bob', 'token': <hidden>, 'password': <hidden>}"
    assert doc["detail"] == f"service 'redeem': failed on request {shown}: KeyError: 'BOGUS'"
    assert doc["message"] == f"failed on request {shown}: KeyError: 'BOGUS'"
    assert doc["request"] == {**form, "token": "<hidden>", "password": "<hidden>"}
    assert "tok-91a" not in answer.text
    assert "pw-35c" not in answer.text
    assert f"failed on request {shown}" in caplog.text  # the log's words, the same rule


def test_the_problem_document_shortens_a_long_request() -> None:
    with running([Served(carts.redeem)]) as base, httpx.Client(base_url=base) as http:
        opened = http.post("/services/redeem/sessions").json()
        form = {"code": "BOGUS", "note": "n" * 5000, "password": "pw-35c"}
        answer = http.post(f"/services/redeem/sessions/{opened['session']}/call", json=form)
    request = answer.json()["request"]
    assert isinstance(request, str)
    assert len(request) < 300
    assert "'password': <hidden>" in request
    assert "pw-35c" not in answer.text
