"""What a service is, apart from any running instance: its [`ServiceSpec`][].

The decorators (``_service``) make one; every handle kind (the local handle,
the async engine, the transports and the supervisor) reads it to start fresh
instances. It sits below the handles, so a handle can name it without
importing the decorators that make handles.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from ._protocol import NATIVE, Protocol
from ._supervise import RestartPolicy
from ._validate import Check

__all__ = ["ServiceSpec"]


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """Everything needed to start an instance of a service, and nothing per instance."""

    fn: Callable[..., Generator[Any, Any, Any]]
    name: str
    protocol: Protocol = NATIVE
    restart: RestartPolicy | None = None
    request_type: Any = Any
    check: Check | None = field(default=None, compare=False)
    # What the function's code says it may do (descriptive: ``call()`` tells a
    # refusal or a streamed reply by the reply's type, however it was built).
    refuses: bool = False  # may yield refuse(reason)
    streams: bool = False  # may reply with a Stream (read it with stream())
