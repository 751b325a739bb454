"""A cart that fails two calls deep (delegation, then a plain call), sync and async.

The tests read the line numbers of the raising lines from this file, so the
markers (``# raises here``) matter, not the lines they are on.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Iterator

from nanoservices import service, streamed
from nanoservices.aio import aservice

COUPONS = {"TEN": 10}


def coupon_value(code: str) -> int:
    return COUPONS[code]  # raises here


def checkout(total: int) -> Generator[int, str, int]:
    code = yield total
    return total - coupon_value(code)


@service
def cart() -> Generator[object, str, None]:
    reply: object = 0
    while True:
        command = yield reply
        if command == "items":
            reply = streamed(items(3))
        else:
            reply = yield from checkout(30)


def items(count: int) -> Iterator[int]:
    yield from range(count)
    raise LookupError("no more items")  # the stream raises here


async def acheckout(total: int, code: str) -> int:
    return total - coupon_value(code)


@aservice
async def acart() -> AsyncGenerator[int, str]:
    reply = 0
    while True:
        code = yield reply
        reply = await acheckout(30, code)


@service
def redeem() -> Generator[object, dict[str, str], None]:
    """Takes a form with a code and a password (which no log may show)."""
    reply: object = None
    while True:
        form = yield reply
        reply = coupon_value(form["code"])
