"""A clock a test moves by hand, for services that read time (caches, timeouts).

Pass it wherever a service takes ``clock=`` (a ``Callable[[], float]`` such as
``time.monotonic``): ``forecasts(clock=clock)``; then ``clock.advance(3600)``
expires an hour of cache in no time at all, and nothing sleeps.
"""

from __future__ import annotations

import math
import threading

__all__ = ["FakeClock"]


class FakeClock:
    """A monotonic clock that moves only when told: ``clock()`` reads it.

    Thread-safe (a service may read it from a server thread while the test
    moves it); it never goes backwards, as ``time.monotonic`` never does.
    """

    __slots__ = ("_lock", "_now")

    def __init__(self, start: float = 0.0) -> None:
        if not math.isfinite(start):
            raise ValueError(f"a clock starts at a finite time, got {start!r}")
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        """The current time, in seconds."""
        return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock ``seconds`` forward (>= 0); returns the new time."""
        if not seconds >= 0 or not math.isfinite(seconds):  # also refuses NaN
            raise ValueError(f"a monotonic clock only moves forward, got {seconds!r} s")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, now: float) -> None:
        """Jump to ``now`` (not earlier than the current time)."""
        with self._lock:
            if not now >= self._now or not math.isfinite(now):
                raise ValueError(f"a monotonic clock cannot go back from {self._now} to {now!r}")
            self._now = float(now)

    def __repr__(self) -> str:
        return f"<FakeClock at {self._now:g} s>"
