"""Services for the command-line tests: failures, endless and broken streams."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

from nanoservices import service, streamed


class Skip(Exception):
    """Thrown into ``letters`` to abandon the current word."""


def _naturals() -> Iterator[int]:
    n = 0
    while True:
        n += 1
        yield n


def _broken(n: int) -> Iterator[int]:
    yield from range(n)
    raise ValueError(f"broke after {n} items")


@service
def odd(prefix: str = "") -> Generator[Any, Any, None]:
    """``"inf"`` streams 1, 2, 3... forever; ``["broken", n]`` streams n items then
    fails; ``"boom"`` makes the body raise; anything else is echoed after ``prefix``."""
    reply: Any = None
    while True:
        request = yield reply
        if request == "inf":
            reply = streamed(_naturals())
        elif isinstance(request, list) and request[:1] == ["broken"]:
            reply = streamed(_broken(request[1]))
        elif request == "boom":
            raise RuntimeError("boom requested")
        else:
            reply = f"{prefix}{request!r}"


def letters() -> Generator[Any, Any, None]:
    """Talk style: send a word, get its letters one per step; ``Skip`` abandons it."""
    while word := (yield):
        try:
            for letter in word:  # noqa: UP028 - the talk's loop: yield from would pass sends on
                yield letter
        except Skip:
            continue


def not_a_service() -> int:
    """Returns a number, not a handle."""
    return 42
