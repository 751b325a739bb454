"""What ``GET /stats`` counts per service, since the server started."""

from __future__ import annotations

__all__ = ["Counters"]


class Counters:
    """One service's counts: sessions opened, calls, streams, items sent, errors answered."""

    __slots__ = ("calls", "errors", "items", "opened", "streams")

    def __init__(self) -> None:
        self.calls = self.errors = self.items = self.opened = self.streams = 0

    def document(self) -> dict[str, int]:
        return {
            "sessions_opened": self.opened,
            "calls": self.calls,
            "streams": self.streams,
            "items": self.items,
            "errors": self.errors,
        }
