"""Typing tests: checked by mypy in CI, not run. A wrong call must stay an error."""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Iterator
from typing import assert_type

import nanoservices as ns


@ns.service
def md5(encoding: str = "utf-8") -> Generator[str, str, None]:
    reply = ""
    while True:
        request = yield reply
        reply = hashlib.md5(request.encode(encoding)).hexdigest()


@ns.service
def numbers() -> Generator[ns.Stream[int], int, None]:
    n = yield ns.streamed(())
    while True:
        n = yield ns.streamed(range(n))


def usage() -> None:
    h = md5()
    assert_type(h, ns.LocalHandle[str, str])
    assert_type(h("hello"), str)
    assert_type(h.call("hello"), str)
    h(42)  # type: ignore[arg-type]
    md5(encoding=3)  # type: ignore[arg-type]

    n = numbers()
    assert_type(n.stream(3), ns.core.ReplyStream[int])
    items: Iterator[int] = n.stream(3)
    assert_type(next(items), int)
    n("3")  # type: ignore[arg-type]

    shared = h.shared()
    assert_type(shared("x"), str)

    handle: ns.Handle[str, str] = h  # the local handle implements the interface
    assert_type(handle.call("x"), str)
