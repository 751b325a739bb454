"""What a Ray ``ServiceHost`` actor runs: many local handles, keyed by session id.

Plain Python, no Ray import: ``nanoservices.ray._pool`` wraps [`HostCore`][] with
``ray.remote``. The host does not drive generators itself: each session is a
[`LocalHandle`][nanoservices.LocalHandle] (an ``@aservice`` one: an async handle on
the host's event loop, ``_host_loop``), so a service on Ray speaks exactly the
protocol it speaks locally (one protocol core, many transports).

Replies cross Ray as plain return values. Errors do not travel as raised
exceptions (Ray would wrap them in ``RayTaskError`` and print the traceback on
the driver): the host returns a [`Failure`][] record holding the
nanoservices error and its cause, and the caller re-raises it with
``__cause__`` restored (pickling drops ``__cause__``).
"""

from __future__ import annotations

import gc
import importlib
import itertools
import os
import pickle
import time
import traceback
import uuid
from typing import Any, Final, Protocol, cast

# Public names only: a transport proves the public API sufficient.
from nanoservices import (
    ServiceError,
    ServiceFailedError,
    ServiceStartError,
    Stream,
    StreamReplyError,
)
from nanoservices._session_stores import sessions_at
from nanoservices.aio import AsyncHandle, AsyncServiceFactory
from nanoservices.core import RemoteCause, ServiceFactory, State
from nanoservices.sessions import KeyedSessions

from ._host_loop import HostLoop, LoopHandle

__all__ = ["Batch", "Failure", "HostCore", "Keyed", "Opened", "RemoteCause", "load_factory"]

UNKNOWN_SESSION: Final = "unknown session"

SessionId = int | str

#: What opening a session returns: its id, the service's name, the host's
#: incarnation and the service's greeting (what it yielded when primed).
Opened = tuple[SessionId, str, str, Any]

#: What a host needs to open a keyed session: its store's location (an SQLite
#: path, a ``postgresql://`` DSN), the key, and how its state may be saved.
Keyed = tuple[str, str, Any]

#: What a stream pull returns: the items, then ``None`` (more may follow),
#: ``True`` (the stream ended) or a [`Failure`][] (it failed after the items).
Batch = tuple[list[Any], "bool | Failure | None"]


class Failure:
    """An error on its way back to the caller, with the cause pickling would drop.

    ``kind`` is ``""`` for an ordinary service error, or ``UNKNOWN_SESSION``
    when the host has no such session (closed, or the actor was restarted:
    ``incarnation`` tells which). ``state`` is the session's state after the
    error (the caller's handle remembers it: its ``state`` never asks the host).
    """

    __slots__ = ("cause", "error", "incarnation", "kind", "state")

    def __init__(
        self,
        error: ServiceError,
        cause: BaseException | None,
        kind: str = "",
        incarnation: str = "",
        state: str = "",
    ) -> None:
        self.error = error
        self.cause = cause
        self.kind = kind
        self.incarnation = incarnation
        self.state = state

    def __reduce__(self) -> tuple[Any, ...]:
        return (Failure, (self.error, self.cause, self.kind, self.incarnation, self.state))

    def rebuild(self) -> ServiceError:
        """The error, ready to raise, with its cause attached again."""
        if self.cause is not None:
            self.error.__cause__ = self.cause
        return self.error


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a [`RemoteCause`][] with its text;
    either way with the remote traceback as a note (tracebacks do not travel)."""
    note = "".join(traceback.format_exception(exc)).rstrip()
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        exc = RemoteCause(type(exc).__qualname__, str(exc))
    exc.add_note(f"(raised in Ray actor pid {os.getpid()}):\n{note}")
    return exc


def _left_of(wall: float) -> float:
    """Seconds left before a wall-clock deadline (at least 0)."""
    return max(wall - time.time(), 0.0)


class HostedStream(Protocol):
    """A streamed reply as a host pulls it: item by item, or cancelled."""

    request: Any

    def __next__(self) -> Any: ...
    def cancel(self) -> None: ...


class Hosted(Protocol):
    """A session as a host drives it: the sync handle interface (a local handle, a
    keyed one, or an async service on the host's loop)."""

    @property
    def name(self) -> str: ...
    @property
    def state(self) -> State: ...
    @property
    def greeting(self) -> Any: ...
    def call(self, request: Any, /, *, timeout: float | None = None) -> Any: ...
    def stream(self, request: Any, /, *, timeout: float | None = None) -> HostedStream: ...
    def reset(self) -> None: ...
    def restart(self) -> None: ...
    def throw(self, exc: BaseException | type[BaseException], /) -> Any: ...
    def close(self) -> None: ...


#: What a host can start: a ``@service`` factory, or an ``@aservice`` one (run on its loop).
Factory = ServiceFactory[Any, Any, Any] | AsyncServiceFactory[Any, Any, Any]


def load_factory(path: str, options: dict[str, Any] | None = None) -> Factory:
    """The service factory (sync or async) named ``module:attribute``, under ``options``."""
    module, _, attr = path.partition(":")
    factory = getattr(importlib.import_module(module), attr)
    if isinstance(factory, AsyncServiceFactory):
        if not options:
            return factory
        # The options of an async service are those of a sync one: one spec, one meaning.
        return AsyncServiceFactory(ServiceFactory(factory.spec).with_options(**options).spec)
    if not isinstance(factory, ServiceFactory):
        raise TypeError(
            f"{path} is {type(factory).__name__}, not a service factory (@service or @aservice)"
        )
    return factory.with_options(**options) if options else factory


async def _started(
    factory: AsyncServiceFactory[Any, Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> AsyncHandle[Any, Any]:
    """An async service started (primed) on the host's loop."""
    return await factory(*args, **kwargs)


class HostCore:
    """Many service instances in one process, each a local handle under a session id.

    One Ray actor runs one host; its methods run one at a time (the actor's
    default), so each local handle sees one caller at a time, as it expects.
    """

    def __init__(self) -> None:
        self._sessions: dict[SessionId, Hosted] = {}
        self._streams: dict[SessionId, HostedStream] = {}
        self._loop: HostLoop | None = None  # where async services run (made for the first)
        self._ids = itertools.count(1)
        self._keyed: dict[str, KeyedSessions] = {}  # keyed sessions' stores, by location
        # A fresh id per process: a caller that finds its session gone can tell
        # "the actor was restarted" (another incarnation) from "someone closed it".
        self.incarnation = uuid.uuid4().hex

    # -- sessions ----------------------------------------------------------------

    def open(
        self,
        session: SessionId | None,
        path: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        options: dict[str, Any] | None,
        attach: bool,
        keyed: Keyed | None = None,
    ) -> Opened | Failure:
        """Start a service instance; return (session id, service name, incarnation, greeting).

        With ``attach``, an existing session of that id is reused (named services).
        With ``keyed`` (store location, key, snapshots), the instance is the
        session of that key: its state is brought back (after this host was
        restarted, too), and a key another session holds is refused (KeyHeldError).
        """
        if session is None:
            session = f"{self.incarnation[:8]}-{next(self._ids)}"
        elif attach and session in self._sessions:
            existing = self._sessions[session]
            return session, existing.name, self.incarnation, existing.greeting
        try:
            handle = self._start(load_factory(path, options), args, kwargs, keyed)
        except ServiceError as exc:
            return Failure(exc, _portable(exc.__cause__) if exc.__cause__ else None)
        except Exception as exc:
            error = ServiceStartError(path, None, f"could not start: {type(exc).__name__}: {exc}")
            return Failure(error, _portable(exc))
        old = self._sessions.get(session)
        self._sessions[session] = handle
        if old is not None:
            self._close_quietly(session, old)
        return session, handle.name, self.incarnation, handle.greeting

    def _start(
        self,
        factory: Factory,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        keyed: Keyed | None = None,
    ) -> Hosted:
        """A primed instance of ``factory``: a local handle, or an async service on the
        host's loop; with ``keyed``, the session of that key in its store."""
        if isinstance(factory, ServiceFactory):
            if keyed is None:
                return factory(*args, **kwargs)
            location, key, snapshots = keyed
            sessions = self._sessions_at(location)
            opened = sessions.open_session(factory, args, kwargs, key=key, snapshots=snapshots)
            return cast(Hosted, opened)  # the protocol types its streams as iterators only
        if self._loop is None:
            self._loop = HostLoop()
        if keyed is None:
            return LoopHandle(self._loop.run(_started(factory, args, kwargs)), self._loop)
        location, key, snapshots = keyed
        sessions = self._sessions_at(location)
        opening = sessions.aopen_session(factory, args, kwargs, key=key, snapshots=snapshots)
        return LoopHandle(self._loop.run(opening), self._loop)

    def _sessions_at(self, location: str) -> KeyedSessions:
        """The keyed sessions stored at ``location``, opened once per host process (a
        journal store in sync mode: a reply the caller got is kept, whatever happens
        to this process)."""
        sessions = self._keyed.get(location)
        if sessions is None:
            sessions = self._keyed[location] = sessions_at(location)
        return sessions

    def open_many(
        self, path: str, count: int, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> list[tuple[SessionId, Any]]:
        """Start ``count`` instances of one service (bulk start, and the memory benchmark);
        return each one's session id and greeting."""
        factory = load_factory(path)
        prefix = self.incarnation[:8]
        made: list[tuple[SessionId, Any]] = []
        for _ in range(count):
            session = f"{prefix}-{next(self._ids)}"
            handle = self._sessions[session] = self._start(factory, args, kwargs)
            made.append((session, handle.greeting))
        return made

    def close(self, session: SessionId) -> Failure | None:
        handle = self._sessions.pop(session, None)
        opened = self._streams.pop(session, None)  # noqa: F841 (ended by close, below)
        if handle is None:
            return None
        try:
            handle.close()
        except ServiceError as exc:
            return self._failure(session, None, exc)
        return None

    def _close_quietly(self, session: SessionId, handle: Hosted) -> None:
        try:
            handle.close()
        except ServiceError:
            pass

    # -- the hot path --------------------------------------------------------------

    def call(self, session: SessionId, request: Any, deadline: float | None = None) -> Any:
        """``handle.call(request)`` for the session; errors come back as a Failure.

        ``deadline`` (wall-clock ``time.time()``): the caller's; a request that
        waited past it in the actor's queue is refused without running, and the
        service reads what is left with ``remaining()``.
        """
        try:
            if deadline is None:
                reply = self._sessions[session].call(request)
            else:
                reply = self._sessions[session].call(request, timeout=_left_of(deadline))
        except BaseException as exc:
            return self._failure(session, request, exc)
        if type(reply) is Stream:
            return self._stream_reply(session, request, reply)
        return reply

    def _stream_reply(self, session: SessionId, request: Any, reply: Stream[Any]) -> Failure:
        """``call()`` met a streamed reply: never drain it (it may be endless). Close
        its source, as for a dropped stream, and refuse with ``StreamReplyError``."""
        close = getattr(reply.source, "close", None)
        try:
            if close is not None:
                close()
        except Exception as exc:
            return self._failure(session, request, exc)
        return self._failure(
            session, request, StreamReplyError(self._sessions[session].name, request)
        )

    def _failure(self, session: SessionId, request: object, exc: BaseException) -> Failure:
        """The record that carries ``exc`` back to the caller (off the hot path)."""
        handle = self._sessions.get(session)
        if handle is None:
            if isinstance(exc, KeyError):
                error = ServiceFailedError(str(session), request, "no such session on this host")
                return Failure(error, None, UNKNOWN_SESSION, self.incarnation, "closed")
            state = "closed"
        else:
            state = handle.state.value
        if isinstance(exc, ServiceError):
            cause = exc.__cause__
            return Failure(exc, None if cause is None else _portable(cause), state=state)
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: not ours
            raise exc
        name = handle.name if handle is not None else str(session)
        return Failure(ServiceFailedError(name, request), _portable(exc), state=state)

    # -- streams ----------------------------------------------------------------

    def stream_open(
        self, session: SessionId, request: Any, size: int, deadline: float | None = None
    ) -> Batch | Failure:
        """Open a stream and return its first ``size`` items (pulled lazily); with a
        ``deadline`` (as for [`call`][]), checked before each item."""
        try:
            handle = self._sessions[session]
            if deadline is None:
                opened = handle.stream(request)
            else:
                opened = handle.stream(request, timeout=_left_of(deadline))
        except BaseException as exc:
            return self._failure(session, request, exc)
        self._streams[session] = opened
        return self._pull(session, opened, size)

    def stream_next(self, session: SessionId, size: int) -> Batch | Failure:
        """The next ``size`` items of the session's open stream."""
        opened = self._streams.get(session)
        if opened is None:
            if session not in self._sessions:  # lost with a restarted host: say so
                return [], self._failure(session, None, KeyError(session))
            return [], True  # ended here already (a reset, a throw)
        return self._pull(session, opened, size)

    def _pull(self, session: SessionId, opened: HostedStream, size: int) -> Batch:
        items: list[Any] = []
        append = items.append
        try:
            for _ in range(size):
                append(next(opened))
        except StopIteration:
            del self._streams[session]
            return items, True
        except BaseException as exc:
            del self._streams[session]
            return items, self._failure(session, opened.request, exc)
        return items, None

    def stream_cancel(self, session: SessionId) -> Failure | None:
        """Stop the session's open stream early: the service goes back to READY."""
        opened = self._streams.pop(session, None)
        if opened is None:
            return None
        try:
            opened.cancel()
        except BaseException as exc:
            return self._failure(session, opened.request, exc)
        return None

    # -- the rest of the handle interface -------------------------------------------

    def reset(self, session: SessionId) -> Failure | None:
        return self._do(session, "reset")

    def restart(self, session: SessionId) -> Failure | None:
        return self._do(session, "restart")

    # The open stream is kept alive until the operation has run: the service's own
    # handle ends it then, as locally, and reports a source whose finally raises
    # (dropping it first would end it quietly, in the stream's ``__del__``).

    def _do(self, session: SessionId, what: str) -> Failure | None:
        opened = self._streams.pop(session, None)  # noqa: F841 (ended by the operation)
        try:
            getattr(self._sessions[session], what)()
        except BaseException as exc:
            return self._failure(session, None, exc)
        return None

    def throw(self, session: SessionId, exc: BaseException | type[BaseException]) -> Any:
        opened = self._streams.pop(session, None)  # noqa: F841 (ended by the throw)
        try:
            return self._sessions[session].throw(exc)
        except BaseException as raised:
            return self._failure(session, exc, raised)

    def state(self, session: SessionId) -> str | Failure:
        try:
            return self._sessions[session].state.value
        except BaseException as exc:
            return self._failure(session, None, exc)

    # -- the host itself ------------------------------------------------------------

    def ping(self) -> str:
        """This host's incarnation (a cheap liveness check)."""
        return self.incarnation

    def count(self) -> int:
        """How many service instances this host holds."""
        return len(self._sessions)

    def memory(self) -> dict[str, int]:
        """Resident memory of this process (bytes) and the number of sessions."""
        gc.collect()
        with open("/proc/self/statm") as statm:
            resident_pages = int(statm.read().split()[1])
        return {"rss": resident_pages * os.sysconf("SC_PAGE_SIZE"), "sessions": len(self._sessions)}

    def close_all(self) -> int:
        """Close every session (each service's ``finally`` blocks run); return how many."""
        sessions = list(self._sessions)
        for session in sessions:
            self.close(session)
        return len(sessions)

    def crash(self) -> None:  # pragma: no cover - the process dies
        """End this process at once, as a crash would (fault-injection tests)."""
        os._exit(1)
