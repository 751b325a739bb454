"""The errors of durable services: every one names the key it is about.

```text
ServiceError
└── SessionStateError              (nanoservices.sessions)
    └── JournalError               the journal of a key cannot be used as asked
        ├── KeyLockedError         another handle (this process or another) holds the key
        │                          (also a nanoservices.sessions.KeyHeldError)
        ├── ReplayMismatchError    replay gave another reply than the one journalled
        └── JournalTypeError       an entry no longer decodes as the service's request type
```

They are the errors of the keyed-session protocol (``nanoservices.sessions``), so a
transport answers them without knowing durable services.
"""

from __future__ import annotations

from nanoservices.core import short_repr
from nanoservices.sessions import KeyHeldError, SessionStateError

__all__ = [
    "JournalError",
    "JournalTypeError",
    "KeyLockedError",
    "ReplayMismatchError",
]


class JournalError(SessionStateError):
    """The journal of ``key`` cannot be used as asked (the store failed, or it is closed)."""


class KeyLockedError(JournalError, KeyHeldError):
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
