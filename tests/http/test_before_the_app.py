"""Requests that are not valid HTTP/1.1, refused before the application runs.

h11 (uvicorn's parser) refuses them; the answer is still a problem document
(``not-http``), never uvicorn's text/plain, and the connection is closed.
Sent byte by byte over raw sockets, as no HTTP client would send them.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from nanoservices.examples import basics
from nanoservices.http import create_app
from tests.conformance._server import serving_app

pytestmark = pytest.mark.http

_HEAD = b"Host: x\r\nContent-Type: application/json\r\n"

#: (what is wrong, the bytes sent, the status h11 hints at)
BROKEN = [
    ("a header line without a colon", b"GET /health HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n", 400),
    ("a NUL in a header", b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400),
    (
        "two different Content-Lengths",
        b"POST /services HTTP/1.1\r\n" + _HEAD + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\n1",
        400,
    ),
    (
        "a bad chunk size",
        b"POST /services/echo/sessions HTTP/1.1\r\n" + _HEAD
        + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        400,
    ),
    ("a malformed request line", b"GET /health HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400),
    ("headers past the size limit", b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 70_000, 431),
]  # fmt: skip


@pytest.fixture(scope="module")
def address() -> Iterator[tuple[str, int]]:
    with serving_app(create_app({"echo": basics.echo})) as url:
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1"
        assert parts.port is not None
        yield parts.hostname, parts.port


def _exchange(address: tuple[str, int], data: bytes) -> bytes:
    """Send ``data``, then read until the server closes the connection."""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize(("why", "data", "status"), BROKEN, ids=[b[0] for b in BROKEN])
def test_invalid_http_gets_a_problem_document_and_a_closed_connection(
    address: tuple[str, int], why: str, data: bytes, status: int
) -> None:
    answer = _exchange(address, data)  # returns only once the server closed it
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {status} "), (why, lines[0])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert headers["content-type"] == "application/problem+json", why
    assert headers["connection"] == "close"
    doc = json.loads(body)
    assert doc["type"] == "urn:nanoservices:problem:not-http"
    assert doc["status"] == status
    assert doc["error"] == "TransportError"
    assert "not valid HTTP/1.1" in doc["detail"]


def test_a_valid_request_on_a_raw_socket_is_answered_as_usual(address: tuple[str, int]) -> None:
    answer = _exchange(address, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b'{"status":"ok"}')
