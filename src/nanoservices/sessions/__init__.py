"""Keyed sessions: the one session protocol the transports know.

HTTP and Ray offer sessions a client may open with a key and find again after
the session was closed or its host was lost. They speak only
[`KeyedSessions`][] and its errors; the durable layer implements them
(``nanoservices.durable``: a journal store is a `KeyedSessions`).
"""

from ._errors import KeyHeldError as KeyHeldError
from ._errors import SessionStateError as SessionStateError
from ._protocol import KeyedSessions as KeyedSessions

__all__ = ["KeyHeldError", "KeyedSessions", "SessionStateError"]
