"""The async twin of the starter: ``await astart(factory, *args)`` inside the test's loop.

No async test plugin is needed: a test runs its coroutine with
``asyncio.run(main())``, as this project's own async tests do (it works the same
under pytest-asyncio or anyio's plugin). Handles left open when the test's loop
ends are closed on a fresh loop afterwards.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from nanoservices.observe import Recorder, Tracing

from ._checks import leftover, started_where
from ._starter import LeftoverError

if TYPE_CHECKING:
    from nanoservices.aio import AsyncHandleProtocol

__all__ = ["AsyncServiceStarter"]

AsyncHandleT = TypeVar("AsyncHandleT", bound="AsyncHandleProtocol[Any, Any]")


class AsyncServiceStarter:
    """Starts async services (``await astart(factory, *args)``) and keeps their handles.

    ``factory`` is an ``@aservice`` factory, or a ``@service`` one (its handle is
    wrapped with ``to_async``). [`check`][] is the sync starter's; close with
    ``await astart.aclose()`` (or ``async with``) inside the loop, or
    [`close`][] from outside any loop.
    """

    __slots__ = ("_handles", "_started_at", "_tracing", "events")

    def __init__(self, events: Recorder | None = None) -> None:
        self.events = events
        self._handles: list[AsyncHandleProtocol[Any, Any]] = []
        self._tracing = Tracing()
        self._started_at: dict[int, str] = {}  # id(handle) -> where the test started it

    async def __call__(
        self, factory: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> AsyncHandleProtocol[Any, Any]:
        """The started async handle of ``factory(*args, **kwargs)``, watched until the end."""
        made = factory(*args, **kwargs)
        if inspect.isawaitable(made):
            made = await made
        elif not hasattr(made, "aclose"):
            from nanoservices.aio import to_async

            made = to_async(made)
        return self.watch(made)

    def watch(self, handle: AsyncHandleT) -> AsyncHandleT:
        """Check and close ``handle`` (made elsewhere: ``aconnect()``, ``to_async()``...) too."""
        if self.events is not None:
            try:
                self._tracing.add(handle, self.events)
            except TypeError:  # a remote handle reports no events: check it all the same
                pass
        self._handles.append(handle)
        self._started_at[id(handle)] = started_where()
        return handle

    @property
    def handles(self) -> tuple[AsyncHandleProtocol[Any, Any], ...]:
        """The handles started or watched, oldest first."""
        return tuple(self._handles)

    def leftovers(self) -> list[str]:
        """What each handle was left with (FAILED, an open stream); empty when clean."""
        return [
            f"{problem} (started at {self._started_at.get(id(h), 'an unknown place')})"
            for h in self._handles
            if (problem := leftover(h)) is not None
        ]

    def check(self) -> None:
        """Raise [`LeftoverError`][] if a service was left FAILED or with an open stream."""
        problems = self.leftovers()
        if problems:
            raise LeftoverError("; ".join(problems))

    async def aclose(self) -> None:
        """Close every handle, newest first (inside the loop that runs them)."""
        handles, self._handles = self._handles, []
        self._started_at.clear()
        errors: list[BaseException] = []
        for handle in reversed(handles):
            try:
                await handle.aclose()
            except Exception as exc:
                errors.append(exc)
        self._tracing.stop()
        if errors:
            raise errors[0]

    def close(self) -> None:
        """Close what is still open, on a fresh event loop (call it outside any loop)."""
        if self._handles:
            import asyncio  # here: the plugin loads in every pytest run, async or not

            asyncio.run(self.aclose())
        self._tracing.stop()

    async def __aenter__(self) -> AsyncServiceStarter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is None:
                self.check()
        finally:
            await self.aclose()
