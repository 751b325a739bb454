"""The errors of keyed sessions: every one names the key it is about.

```text
ServiceError
└── SessionStateError      the state kept under a key cannot be used as asked
    └── KeyHeldError       another session (this process or another) holds the key
```

A transport answers these without knowing what keeps the state: ``KeyHeldError``
is "retry once the other session is closed", any other ``SessionStateError`` is
the store's failure. The durable layer's errors are these
(``JournalError``, ``KeyLockedError``).
"""

from __future__ import annotations

from nanoservices.core import ServiceError

__all__ = ["KeyHeldError", "SessionStateError"]


class SessionStateError(ServiceError, RuntimeError):
    """The state kept under ``key`` cannot be used as asked (its store failed, or is closed)."""

    def __init__(self, service: str, key: str, message: str) -> None:
        ServiceError.__init__(self, service, message)
        self.args = (service, key, message)
        self.key = key

    def __str__(self) -> str:
        return f"{self.service} [key {self.key!r}]: {self.message}"


class KeyHeldError(SessionStateError):
    """Another session holds ``key`` (in this process or another): never two writers."""
