"""Small services shared by the observability tests (tracing, statistics, inspection, explain)."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

from nanoservices import OnFailure, Stream, service, streamed


class Boom(Exception):
    """Raised on purpose by the test services."""


def parse(text: str) -> int:
    return int(text)


def adder() -> Generator[int, str, None]:
    total = 0
    while True:
        text = yield total
        api_token = "tok-123"  # noqa: F841 - a secret-looking local for redaction tests
        total += parse(text)


def rows(n: int) -> Iterator[int]:
    for i in range(n):
        if i == 99:
            raise Boom("row 99")
        yield i


@service(restart=OnFailure(3, per=60.0))
def echo(password: str = "hunter2") -> Generator[Any, Any, None]:
    """Replies with the request; 'boom' raises; ('rows', n) streams n items."""
    request = yield None
    while True:
        if request == "boom":
            raise Boom("asked to fail")
        if isinstance(request, tuple):
            request = yield streamed(rows(request[1]))
            continue
        request = yield request


@service
def calc() -> Generator[int, str, None]:
    """Delegates to ``adder`` through ``yield from``; no restart policy."""
    yield 0
    while True:
        yield from adder()


@service
def numbers(n: int) -> Generator[Stream[int], int, None]:
    """A typed service: requests must be int."""
    request = yield streamed(())
    while True:
        request = yield streamed(range(request + n))
