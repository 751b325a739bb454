"""The talk's generators, in the talk's own style (hosted with ``nanoservices.raw``).

Kept as the talk wrote them: ``while s := (yield output)``, a falsy request ends
the service, a ``None`` yield means "ready for the next request", streamed items
are ended by that ``None``. Only the I/O is injected (``fetch``, ``connect``) so
they run without the network; the real services live in ``nanoservices.services``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator
from typing import Any

__all__ = [
    "DifferentCity",
    "combined",
    "forecasts",
    "md5_service",
    "people_api",
    "times_five",
]


class DifferentCity(Exception):
    """Thrown into ``forecasts`` to abandon the current city mid-stream."""


def times_five() -> Generator[Any, Any, None]:
    """Multiplies each request by five; a falsy request ends it."""
    x = None
    while x := (yield x):
        x *= 5


def md5_service() -> Generator[str | None, str, None]:
    """Replies with the md5 hex digest of each string; a falsy request ends it."""
    output = None
    while s := (yield output):
        output = hashlib.md5(s.encode()).hexdigest()


def forecasts(
    fetch: Callable[[Any], dict[str, Any]],
) -> Generator[Any, Any, None]:
    """One daily forecast per step for the requested city; ``DifferentCity`` resets."""
    while city_id := (yield):
        data = fetch(city_id)
        try:
            for day in data["city"]["forecast"]["forecastDay"]:
                yield day
        except DifferentCity:
            continue


def people_api(connect: Callable[[], Any]) -> Generator[Any, Any, None]:
    """The talk's people query service, made safe: values are parameters, and
    keys are checked against the table's columns instead of pasted into SQL."""
    conn = connect()
    columns = {"first_name", "last_name", "birthdate"}
    try:
        cur = conn.cursor()
        while query := (yield):
            unknown = set(query) - columns
            if unknown:
                raise KeyError(f"unknown columns: {sorted(unknown)}")
            where = " AND ".join(f"{key} = ?" for key in sorted(query))
            cur.execute(
                "SELECT first_name, last_name, birthdate FROM people WHERE " + where,
                [query[key] for key in sorted(query)],
            )
            for record in cur.fetchall():
                yield record
    finally:
        conn.close()


def combined(
    fetch: Callable[[Any], dict[str, Any]],
) -> Generator[Any, Any, None]:
    """The talk's menu: 1 for weather, 2 for md5; each sub-service runs until it ends."""
    while s := (yield "Send 1 for weather, 2 for md5, or None to exit"):
        if s == 1:
            yield from forecasts(fetch)
        elif s == 2:
            yield from md5_service()
