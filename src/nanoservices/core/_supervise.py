"""Restart policies: what to do when a service body raises.

A generator that raised is dead in Python. Supervision wraps the *factory*, not
the generator: a restart makes a fresh generator from the service function and
the arguments the handle was started with, so callers keep their handle.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

__all__ = ["Never", "OnFailure", "RestartPolicy", "Supervision", "SupervisionStats"]


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """Base of restart policies; a policy is immutable and shared by handles."""

    def allows(self, recent: deque[float], now: float) -> bool:
        """Whether one more restart is allowed, given the times of recent ones."""
        return False


@dataclass(frozen=True, slots=True)
class Never(RestartPolicy):
    """Never restart: a service that raised stays FAILED (the default)."""


@dataclass(frozen=True, slots=True)
class OnFailure(RestartPolicy):
    """Restart on failure, at most ``max_restarts`` times within ``per`` seconds.

    Past the limit the service stays FAILED and callers get ``RestartLimitError``:
    a service that fails on every request should not spin forever.
    """

    max_restarts: int = 3
    per: float = 60.0

    def __post_init__(self) -> None:
        if self.max_restarts < 0:
            raise ValueError(f"max_restarts must be >= 0, got {self.max_restarts}")
        if self.per <= 0:
            raise ValueError(f"per must be a positive number of seconds, got {self.per}")

    def allows(self, recent: deque[float], now: float) -> bool:
        while recent and now - recent[0] > self.per:
            recent.popleft()
        return len(recent) < self.max_restarts


@dataclass(frozen=True, slots=True)
class SupervisionStats:
    """A snapshot of what the restart policy did for one handle."""

    policy: RestartPolicy
    failures: int
    restarts: int
    last_error: BaseException | None


@dataclass(slots=True)
class Supervision:
    """Per-handle record of failures and restarts (made on the first failure)."""

    failures: int = 0
    restarts: int = 0
    last_error: BaseException | None = None
    recent: deque[float] = field(default_factory=deque)

    def record_failure(self, error: BaseException) -> None:
        self.failures += 1
        self.last_error = error

    def may_restart(self, policy: RestartPolicy) -> bool:
        return policy.allows(self.recent, time.monotonic())

    def record_restart(self) -> None:
        self.restarts += 1
        self.recent.append(time.monotonic())

    def snapshot(self, policy: RestartPolicy) -> SupervisionStats:
        return SupervisionStats(policy, self.failures, self.restarts, self.last_error)
