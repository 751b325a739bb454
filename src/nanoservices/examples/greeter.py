"""A service with a greeting: what it yields when primed is the handle's ``greeting``.

The talk's menu greets its caller with its prompt before the first request; this
is the smallest native service that does the same, for every transport to show.
"""

from __future__ import annotations

from collections.abc import Generator

from nanoservices import service

__all__ = ["greeter"]


@service
def greeter(prompt: str = "Send a name") -> Generator[str, str, None]:
    """Greets with ``prompt``, then answers each name with ``"Hello, <name>"``."""
    name = yield prompt
    while True:
        name = yield f"Hello, {name}"
