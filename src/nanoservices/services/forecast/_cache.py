"""A tiny expiring cache: keep each value for ``ttl`` seconds of a monotonic clock.

The forecast service keeps one parsed forecast per city so that a city costs
one HTTP request, however many days are asked for and however often, until
WWIS has likely issued a new forecast. The clock is injectable so tests can
move time without sleeping.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["ExpiringCache"]

K = TypeVar("K")
V = TypeVar("V")


class ExpiringCache(Generic[K, V]):
    """Values that expire ``ttl`` seconds after they were put (``math.inf``: never).

    Not thread-safe; the service that owns it runs one request at a time.
    """

    __slots__ = ("_clock", "_entries", "ttl")

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not ttl >= 0:  # also refuses NaN
            raise ValueError(f"cache ttl must be >= 0 seconds (0 disables caching), got {ttl!r}")
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        """The value for ``key`` if it has not expired, else None (and it is dropped)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if self._clock() >= expires:
            del self._entries[key]
            return None
        return value

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` for ``ttl`` seconds from now (ttl 0: not at all)."""
        if self.ttl > 0:
            expires = math.inf if math.isinf(self.ttl) else self._clock() + self.ttl
            self._entries[key] = (expires, value)

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()

    def __len__(self) -> int:
        """How many entries are held, expired ones included until next looked up."""
        return len(self._entries)
