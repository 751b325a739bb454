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

from ._watched import WatchedHandles

if TYPE_CHECKING:
    from nanoservices.aio import AsyncHandleProtocol

__all__ = ["AsyncServiceStarter"]

AsyncHandleT = TypeVar("AsyncHandleT", bound="AsyncHandleProtocol[Any, Any]")


class AsyncServiceStarter(WatchedHandles["AsyncHandleProtocol[Any, Any]"]):
    """Starts async services (``await astart(factory, *args)``) and keeps their handles.

    ``factory`` is an ``@aservice`` factory, or a ``@service`` one (its handle is
    wrapped with ``to_async``). [`check`][] is the sync starter's; close with
    ``await astart.aclose()`` (or ``async with``) inside the loop, or
    [`close`][] from outside any loop.
    """

    __slots__ = ()

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
        self._keep(handle)
        return handle

    async def aclose(self) -> None:
        """Close every handle, newest first (inside the loop that runs them)."""
        errors: list[BaseException] = []
        for handle in self._release():
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
