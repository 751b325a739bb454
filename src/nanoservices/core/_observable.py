"""Finding the handle that accepts hooks behind any handle a caller holds.

Tracing, statistics and inspection all subscribe to a handle's events. A shared
handle wraps a local one (``.local``); ``to_async`` wraps either and exposes the
local handle behind it the same way; an async service's handle takes hooks
itself. One place decides, so every observer agrees.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ._events import Hook

__all__ = ["Observable", "observable"]


@runtime_checkable
class Observable(Protocol):
    """A handle that reports its events to hooks."""

    @property
    def name(self) -> str: ...

    @property
    def hooks(self) -> tuple[Hook, ...]: ...

    def subscribe(self, hook: Hook) -> None: ...

    def unsubscribe(self, hook: Hook) -> None: ...


def observable(handle: object) -> Observable:
    """The handle behind ``handle`` that takes hooks (itself, or its ``.local``).

    Raises:
        TypeError: the handle cannot be observed (it reports no events).
    """
    inner = getattr(handle, "local", None)
    if inner is not None and not isinstance(inner, Observable):
        inner = getattr(inner, "local", None)  # a wrapper of a wrapper (async over shared)
    if inner is not None and isinstance(inner, Observable):
        return inner
    if isinstance(handle, Observable):
        return handle
    raise TypeError(
        f"{handle!r} cannot be observed: it has no subscribe()/unsubscribe() "
        "(pass a handle made by a service factory)"
    )
