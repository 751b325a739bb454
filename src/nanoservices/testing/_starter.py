"""Start services for a test, and check and close them when it ends (the sync starter).

The ``start_service`` fixture is one [`ServiceStarter`][]; outside pytest
(a script, a notebook) use it as a context manager.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from nanoservices import Handle
from nanoservices.observe import Recorder, Tracing

from ._checks import leftover, started_where

__all__ = ["LeftoverError", "ServiceStarter"]

P = ParamSpec("P")
HandleT = TypeVar("HandleT", bound=Handle[Any, Any])


class LeftoverError(AssertionError):
    """A test left a service FAILED or with an open stream (one line per service).

    Each line names the service, what it was left with and where the test
    started it. Shown under its public name, ``nanoservices.testing.LeftoverError``.
    """

    __module__ = "nanoservices.testing"


class ServiceStarter:
    """Starts services (``starter(factory, *args)``) and keeps their handles.

    [`check`][] raises [`LeftoverError`][] if one was left FAILED or with
    an open stream; [`close`][] closes every one. With ``events`` (a
    [`Recorder`][nanoservices.observe.Recorder]), every handle's events are recorded there.
    """

    __slots__ = ("_handles", "_started_at", "_tracing", "events")

    def __init__(self, events: Recorder | None = None) -> None:
        self.events = events
        self._handles: list[Any] = []
        self._tracing = Tracing()
        self._started_at: dict[int, str] = {}  # id(handle) -> where the test started it

    def __call__(
        self, factory: Callable[P, HandleT], /, *args: P.args, **kwargs: P.kwargs
    ) -> HandleT:
        """``factory(*args, **kwargs)``, watched until the test ends."""
        return self.watch(factory(*args, **kwargs))

    def watch(self, handle: HandleT) -> HandleT:
        """Check and close ``handle`` (made elsewhere: ``connect()``, ``.shared()``...) too."""
        if self.events is not None:
            try:
                self._tracing.add(handle, self.events)
            except TypeError:  # a remote handle reports no events: check it all the same
                pass
        self._handles.append(handle)
        self._started_at[id(handle)] = started_where()
        return handle

    @property
    def handles(self) -> tuple[Any, ...]:
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

    def close(self) -> None:
        """Close every handle, newest first; stop recording. Closing twice is fine."""
        handles, self._handles = self._handles, []
        self._started_at.clear()
        errors: list[BaseException] = []
        for handle in reversed(handles):
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
