"""Services the durable tests (and the crash child) run: a counter with every
kind of step replay must reproduce (calls, streams, throws, failures)."""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import msgspec

from nanoservices import Stream, service
from nanoservices.durable import Snapshots


class Add(msgspec.Struct, tag=True):
    n: int


class Count(msgspec.Struct, tag=True):
    """Stream the numbers 1..upto, each one adding to the total as it is read."""

    upto: int


class Get(msgspec.Struct, tag=True):
    pass


class SetState(msgspec.Struct, tag=True):
    count: int
    total: int


class Exit(msgspec.Struct, tag=True):
    """End the whole process at once, mid-request (as a segfault or an OOM kill would)."""


class Boom(Exception):
    pass


Request = Add | Count | Get | SetState | Exit


@service
def counter() -> Generator[Any, Request, None]:
    """(count, total): count of Add requests applied, total of what was added."""
    count = total = 0
    reply: Any = None
    while True:
        try:
            request = yield reply
        except Boom:
            total = -total  # a throw changes the state: replay must reproduce it
            reply = total
            continue
        if isinstance(request, Add):
            if request.n < 0:
                raise ValueError("negative")
            count += 1
            total += request.n
            reply = total
        elif isinstance(request, Count):

            def items(upto: int) -> Generator[int, None, None]:
                nonlocal total
                for i in range(1, upto + 1):
                    total += i
                    yield i

            reply = Stream(items(request.upto))
        elif isinstance(request, Get):
            reply = [count, total]
        elif isinstance(request, Exit):
            os._exit(1)
        else:
            count, total = request.count, request.total
            reply = None


def take(handle: Any) -> list[int]:
    return list(handle.call(Get()))


def restore(handle: Any, state: list[int]) -> None:
    handle.call(SetState(*state))


def snapshots(every: int = 1000) -> Snapshots:
    return Snapshots(take=take, restore=restore, every=every, state_type=list[int])
