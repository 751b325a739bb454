"""One service hosted by ``nanoservices run``: send, stream, reset, close, describe.

Both front ends (the interactive prompt and the JSON-lines pipe) drive a
[`Session`][], so they agree on what a request does:

* a plain request is ``handle.call``; when a native service replies with a
  ``Stream`` marker, its items are handed out one at a time (the contract
  allows iterating the marker; the service is already waiting for its next
  request);
* a ``:stream`` request is ``handle.stream``: it holds the service until its
  items run out or it is stopped early, which puts the service back to
  waiting (the talk's reset).

Errors keep the service's name and what went wrong; none ends the session.
"""

from __future__ import annotations

import builtins
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nanoservices import Handle, ServiceError, ServiceFailedError, State, Stream
from nanoservices.core.seam import NATIVE

from ._observe import Observer

if TYPE_CHECKING:
    from nanoservices.observe import Explanation, Inspection, Statistics
from ._target import StartError, Target, TargetError, start_service

__all__ = ["ErrorInfo", "Items", "Session", "describe_error"]


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """An error as the CLI reports it: type, service, message, and the original cause."""

    type: str
    service: str
    message: str
    cause: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``cause`` only when there is one)."""
        out: dict[str, Any] = {"type": self.type, "service": self.service, "message": self.message}
        if self.cause is not None:
            out["cause"] = self.cause
        return out

    def __str__(self) -> str:
        text = f"{self.type}: {self.message}"
        if self.cause is None or self.cause in self.message:
            return text
        return f"{text}\n  caused by {self.cause}"


def describe_error(exc: BaseException, service: str) -> ErrorInfo:
    """What to tell the user about ``exc``, always naming the service."""
    name = getattr(exc, "service", None) or service
    message = str(exc)
    if not message.startswith(f"service {name!r}"):
        message = f"service {name!r}: {message}" if message else f"service {name!r}"
    cause = exc.__cause__
    cause_text = None
    if cause is not None:  # KeyError() has no text: its type alone says more than "KeyError: "
        cause_text = f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__
    return ErrorInfo(type(exc).__name__, name, message, cause_text)


class Items:
    """The items of one streamed reply; iterate, then [`stop`][] to leave early.

    Wraps either the handle's own stream (``handle.stream``) or a ``Stream``
    marker a native service replied with; errors from the items always come
    out as service errors naming the service.
    """

    __slots__ = ("_iterator", "_name", "_request", "_stop", "count", "done")

    def __init__(self, source: Any, name: str, request: object) -> None:
        self._name = name
        self._request = request
        if isinstance(source, Stream):
            self._iterator: Iterator[Any] = iter(source.source)
            self._stop = getattr(self._iterator, "close", None)
        else:
            self._iterator = source
            self._stop = getattr(source, "cancel", None)
        self.count = 0
        self.done = False

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        if self.done:
            raise StopIteration
        try:
            item = next(self._iterator)
        except StopIteration:
            self.done = True
            raise
        except ServiceError:
            self.done = True
            raise
        except Exception as exc:
            self.done = True
            raise ServiceFailedError(self._name, self._request) from exc
        self.count += 1
        return item

    def stop(self) -> None:
        """Leave early: the stream's source is closed, the service waits again."""
        if not self.done:
            self.done = True
            if self._stop is not None:
                self._stop()


class Session:
    """A running service, with the operations the CLI offers on it."""

    def __init__(
        self,
        handle: Handle[Any, Any],
        target: Target,
        observer: Observer,
        *,
        args: list[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.handle = handle
        self.target = target
        self.observer = observer
        self.args = list(args or ())  # what the factory was called with, for :restart
        self.kwargs = dict(kwargs or {})
        self.collecting = observer.watch(handle)
        self._last_error: BaseException | None = None
        self._explained: Explanation | None = None

    @property
    def last_error(self) -> BaseException | None:
        """The last error a request or command raised (for ``:explain``, ``:traceback``)."""
        return self._last_error

    @last_error.setter
    def last_error(self, error: BaseException | None) -> None:
        # Explained now, while the service is as the error left it: explain() reads the
        # handle's state, which a later :restart or :reset changes.
        self._last_error = error
        self._explained = None if error is None else self.observer.explain(error)

    @property
    def name(self) -> str:
        """The service's name (for prompts and errors)."""
        return self.handle.name

    @property
    def state(self) -> State:
        """The handle's state."""
        return self.handle.state

    @property
    def closed(self) -> bool:
        """Whether the service is closed (by [`close`][], or it ended itself)."""
        return self.handle.state is State.CLOSED

    @property
    def greeting(self) -> Any:
        """What the service said when it started (the talk's menu), or None."""
        return getattr(self.handle, "greeting", None)

    def send(self, request: object) -> Any | Items:
        """One request: the reply, or [`Items`][] when a native service streamed.

        A native service is asked through ``stream()`` (``call()`` refuses a
        streamed reply, and whether a reply streams shows only in the reply: a
        helper may build it); a plain reply then comes back as itself.
        """
        spec = getattr(self.handle, "spec", None)
        if spec is None or spec.protocol is not NATIVE:
            return self.handle.call(request)
        items = self.handle.stream(request)
        if not getattr(items, "streamed", True):
            (reply,) = items  # the one plain reply; reading it to the end frees the service
            return reply
        return Items(items, self.name, request)

    def stream(self, request: object) -> Items:
        """One request whose reply is a stream (``handle.stream``)."""
        return Items(self.handle.stream(request), self.name, request)

    def reset(self) -> None:
        """Back to waiting for a request (an open stream ends; a failed service restarts)."""
        self.handle.reset()

    def close(self) -> None:
        """Close the service (its ``finally`` blocks run)."""
        self.handle.close()

    def restart(self) -> None:
        """A fresh generator from the factory (the service's state is lost).

        A closed handle cannot restart, so after ``:close`` (or a talk-style
        generator that ended) this calls the factory again with the same
        arguments, as the command line first did, and serves the new instance.
        """
        if self.closed and not isinstance(self.target.factory, Handle):
            try:
                handle = start_service(self.target, self.args, self.kwargs)
            except StartError as exc:
                raise TargetError(f"service {self.name!r}: restart failed: {exc}") from exc
            self.handle = handle
            self.collecting = self.observer.watch(handle)
            return
        restart = getattr(self.handle, "restart", None)
        if restart is None:
            raise TargetError(f"service {self.name!r}: this handle cannot restart")
        restart()

    def throw(self, name: str) -> Any:
        """Raise the exception class ``name`` inside the service: one of the
        service module's own (the talk's ``DifferentCity``) or a built-in one."""
        exc = getattr(self.target.module, name, None)
        if exc is None:
            exc = getattr(builtins, name, None)
        if not (isinstance(exc, type) and issubclass(exc, Exception)):
            raise TargetError(
                f"service {self.name!r}: no exception class {name!r} to throw "
                f"(looked in {self.target.module.__name__} and the built-ins)"
            )
        try:
            return self.handle.throw(exc)
        except ServiceFailedError as failed:
            if failed.__cause__ is None or type(failed.__cause__) is not exc:
                raise  # it failed on something else while handling the exception
            raise ServiceFailedError(
                failed.service,
                failed.request,
                f":throw {name}: the service did not catch {name}, so it failed; "
                + (
                    "its restart policy started a fresh one"
                    if failed.restarted
                    else ":reset or :restart starts it again"
                ),
                restarted=failed.restarted,
            ) from failed.__cause__

    def statistics(self) -> Statistics | None:
        """The statistics snapshot, or None when this build has none."""
        return self.observer.statistics(self.handle)

    def inspect(self) -> Inspection | dict[str, Any]:
        """What the inspection module (or the handle itself) tells about the service."""
        return self.observer.inspect(self.handle)

    def explain(self) -> Explanation | None:
        """What ``explain()`` said about the last error as it happened (None when there
        was none, or this build has no explain)."""
        return self._explained

    def traceback(self) -> str | None:
        """The last error's full traceback, its causes first (None when there was none)."""
        error = self.last_error
        if error is None:
            return None
        return "".join(traceback.format_exception(error)).rstrip()
