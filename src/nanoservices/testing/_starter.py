"""Start services for a test, and check and close them when it ends (the sync starter).

The ``start_service`` fixture is one [`ServiceStarter`][]; outside pytest
(a script, a notebook) use it as a context manager.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from nanoservices import Handle

from ._watched import LeftoverError, WatchedHandles

__all__ = ["LeftoverError", "ServiceStarter"]

P = ParamSpec("P")
HandleT = TypeVar("HandleT", bound=Handle[Any, Any])


class ServiceStarter(WatchedHandles[Any]):
    """Starts services (``starter(factory, *args)``) and keeps their handles.

    [`check`][] raises [`LeftoverError`][] if one was left FAILED or with
    an open stream; [`close`][] closes every one. With ``events`` (a
    [`Recorder`][nanoservices.observe.Recorder]), every handle's events are recorded there.
    """

    __slots__ = ()

    def __call__(
        self, factory: Callable[P, HandleT], /, *args: P.args, **kwargs: P.kwargs
    ) -> HandleT:
        """``factory(*args, **kwargs)``, watched until the test ends."""
        return self.watch(factory(*args, **kwargs))

    def watch(self, handle: HandleT) -> HandleT:
        """Check and close ``handle`` (made elsewhere: ``connect()``, ``.shared()``...) too."""
        self._keep(handle)
        return handle

    def close(self) -> None:
        """Close every handle, newest first; stop recording. Closing twice is fine."""
        errors: list[BaseException] = []
        for handle in self._release():
            try:
                handle.close()
            except Exception as exc:
                errors.append(exc)
        self._tracing.stop()  # after closing: the recorder sees each CLOSE
        if errors:
            raise errors[0]

    def __enter__(self) -> ServiceStarter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is None:
                self.check()
        finally:
            self.close()
