"""The errors of durable services: every one names the key it is about.

```text
ServiceError
└── JournalError               the journal of a key cannot be used as asked
    ├── KeyLockedError         another handle (this process or another) holds the key
    ├── ReplayMismatchError    replay gave another reply than the one journalled
    └── JournalTypeError       an entry no longer decodes as the service's request type
```
"""

from __future__ import annotations

from nanoservices import ServiceError
from nanoservices.core import short_repr

__all__ = [
    "JournalError",
    "JournalTypeError",
    "KeyLockedError",
    "ReplayMismatchError",
]


class JournalError(ServiceError, RuntimeError):
    """The journal of ``key`` cannot be used as asked (the store failed, or it is closed)."""

    def __init__(self, service: str, key: str, message: str) -> None:
        ServiceError.__init__(self, service, message)
        self.args = (service, key, message)
        self.key = key

    def __str__(self) -> str:
        return f"{self.service} [key {self.key!r}]: {self.message}"


class KeyLockedError(JournalError):
    """Another handle holds ``key`` (in this process or another): never two writers."""


class ReplayMismatchError(JournalError):
    """Replaying entry ``seq`` of ``key`` gave another outcome than the one journalled:
    the service is not deterministic (it reads the clock, the network, a random source)
    or its code changed since the journal was written."""

    def __init__(self, service: str, key: str, seq: int, request: object, detail: str) -> None:
        message = (
            f"replay of entry {seq} ({short_repr(request)}) does not match the journal: {detail}"
        )
        JournalError.__init__(self, service, key, message)
        self.args = (service, key, seq, request, detail)
        self.seq = seq
        self.request = request


class JournalTypeError(JournalError, TypeError):
    """Entry ``seq`` of ``key`` does not decode as the service's request type: the
    request type changed since the journal was written."""

    def __init__(self, service: str, key: str, seq: int, raw: object, detail: str) -> None:
        message = (
            f"entry {seq} ({short_repr(raw)}) does not decode as the service's request "
            f"type (changed since the journal was written?): {detail}"
        )
        JournalError.__init__(self, service, key, message)
        self.args = (service, key, seq, raw, detail)
        self.seq = seq
        self.request = raw
