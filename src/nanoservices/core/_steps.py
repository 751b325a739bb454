"""The protocol steps both engines run: one logic, a sync and an async driver.

Everything a handle does beyond the hot call (sorting out a failure, the
restart policy, ending a stream, reset, throw, restart, close) is written here
once, as a generator (a *flow*). A flow decides, moves state through the state
table (the engine's ``_move``), and yields the I/O it needs done as an
[`Effect`][]: start a fresh generator, close a stream's source, close the
service generator or throw into it. The sync handle runs a flow with
[`run`][], the async engine with [`arun`][]; that is the only difference
between them (the way httpx drives one auth flow from a sync and an async
client). A flow ends by returning a value or raising the caller's error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from types import CodeType
from typing import Any, Protocol, TypeAlias, TypeVar

from ._errors import (
    InvalidRequestError,
    ServiceBusyError,
    ServiceError,
    ServiceFailedError,
    StreamReplyError,
    Thrown,
    exception_text,
)
from ._events import EventKind
from ._failure import (
    close_failure,
    judge_failure,
    note_where,
    passes_through,
    restart_failed,
    stream_failure,
)
from ._protocol import Refusal, Refused, Stream
from ._state import Op, State, advance
from ._supervise import Supervision

__all__ = [
    "START",
    "CloseService",
    "CloseSource",
    "Core",
    "ThrowIn",
    "abandon",
    "arun",
    "cancel_stream",
    "close",
    "ended",
    "fail",
    "finish",
    "opened",
    "plain_reply",
    "recover",
    "reset",
    "restart",
    "run",
    "stream_failed",
    "throw",
]

_BUSY = State.BUSY


class _Start:
    def __repr__(self) -> str:
        return "START"


#: Effect: make a fresh generator from the factory and prime it (state is the flow's).
START = _Start()


class CloseSource:
    """Effect: end a stream early, closing its source; the answer is False when the
    service must be restarted (a raw service that did not take its reset)."""

    __slots__ = ("cursor",)

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor


class CloseService:
    """Effect: close a service generator (its ``finally`` blocks run)."""

    __slots__ = ("gen",)

    def __init__(self, gen: Any) -> None:
        self.gen = gen


class ThrowIn:
    """Effect: raise ``exc`` inside the service generator; the answer is its next yield."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException | type[BaseException]) -> None:
        self.exc = exc


Effect: TypeAlias = "_Start | CloseSource | CloseService | ThrowIn"
Flow: TypeAlias = Generator[Effect, Any, Any]

#: The effects of a flow the drivers run: the core's, or a transport's own (Ray's waits).
E = TypeVar("E")


class Core(Protocol):
    """What a flow needs from an engine (``LocalHandle``, ``AsyncGenEngine``)."""

    _state: State
    _stream: Any

    @property
    def name(self) -> str: ...
    def _move(self, op: Op, current: State | None = None) -> None: ...
    def _emit(
        self, kind: EventKind, value: object = None, error: BaseException | None = None
    ) -> None: ...
    def _supervision(self) -> Supervision: ...
    def _policy(self) -> Any: ...
    def _generator(self) -> Any: ...
    def _code(self) -> CodeType | None: ...
    def _alive(self) -> bool: ...
    def _busy(self, exc: BaseException | None) -> ServiceBusyError | None: ...
    def _returned(self, exc: BaseException) -> tuple[bool, Any]: ...
    def _set_result(self, value: object) -> None: ...
    def _cursor_for(self, reply: object) -> Any: ...


# -- the drivers -----------------------------------------------------------------------


def run(flow: Generator[E, Any, Any], do: Callable[[E], Any]) -> Any:
    """Run ``flow`` to its end, doing each effect with ``do`` (the sync driver)."""
    try:
        effect = next(flow)
        while True:
            try:
                answer = do(effect)
            except BaseException as exc:
                effect = flow.throw(exc)
            else:
                effect = flow.send(answer)
    except StopIteration as done:
        return done.value


async def arun(flow: Generator[E, Any, Any], ado: Callable[[E], Awaitable[Any]]) -> Any:
    """Run ``flow`` to its end, awaiting each effect with ``ado`` (the async driver)."""
    try:
        effect = next(flow)
        while True:
            try:
                answer = await ado(effect)
            except BaseException as exc:
                effect = flow.throw(exc)
            else:
                effect = flow.send(answer)
    except StopIteration as done:
        return done.value


def _raise(error: BaseException, exc: BaseException) -> Any:
    if error is exc:  # KeyboardInterrupt, SystemExit, CancelledError: not ours to wrap
        raise exc
    raise error from exc


# -- failures ----------------------------------------------------------------------------


def fail(core: Core, request: object, exc: BaseException) -> Generator[Effect, Any, BaseException]:
    """The body raised (``exc``): record it, apply the restart policy (FAILED, or a
    fresh instance) and return the error the caller gets."""
    sup = core._supervision()
    verdict = judge_failure(core.name, request, exc, core._policy(), sup)
    error = verdict.error
    if error is not exc:
        note_where(error, exc, core._code())
    core._emit(EventKind.ERROR, request, exc)
    core._stream = None
    if not verdict.restart:
        core._move(Op.FAIL, _BUSY)
        return error
    try:
        yield START
    except ServiceError as restart_error:
        core._move(Op.FAIL, _BUSY)
        return restart_failed(core.name, request, exc, restart_error)
    core._move(Op.RESTART, _BUSY)
    sup.record_restart()
    core._emit(EventKind.RESTART, request, exc)
    return error


def recover(core: Core, request: object, exc: BaseException) -> Flow:
    """Sort out what a step (a call, a throw) raised: a refusal, concurrent use, the
    generator's return (its value is the reply), or a failure."""
    if core._state is not State.READY:
        raise exc  # a refusal: the handle was not serving
    if core._alive():  # refused around the generator (validation): untouched
        busy = core._busy(exc)
        if busy is not None:
            raise busy from None
        if isinstance(exc, ServiceError):
            core._emit(EventKind.ERROR, request, exc)
        raise exc
    returned, value = core._returned(exc)
    if returned:
        finish(core, value)
        return value
    _raise((yield from fail(core, request, exc)), exc)


def finish(core: Core, value: object) -> None:
    """The generator returned (the talk's falsy request): the service is closed."""
    core._set_result(value)
    core._stream = None
    core._move(Op.FINISH, _BUSY)
    core._emit(EventKind.CLOSE, value)


def plain_reply(core: Core, request: object, reply: object) -> Flow:
    """The reply to ``call()``, or the error for a refusal or a streamed reply
    (contract A: ``StreamReplyError``, the source closed, the service READY)."""
    kind = type(reply)
    if kind is Refusal:
        error: ServiceError = InvalidRequestError(core.name, request, reply.reason)  # type: ignore[attr-defined]
        core._emit(EventKind.ERROR, request, error)
        raise error
    if kind is Stream:
        error = StreamReplyError(core.name, request)
        core._emit(EventKind.ERROR, request, error)
        try:
            yield CloseSource(core._cursor_for(reply))
        except Exception as exc:
            raise error from exc
        raise error
    return reply


# -- streams -----------------------------------------------------------------------------


def opened(core: Core, request: object, reply: object) -> Any:
    """The cursor of a stream whose request was answered with ``reply`` (None when
    the generator returned on it); the stream now holds the service."""
    if core._state is not State.READY:
        return None
    try:
        cursor = core._cursor_for(reply)
    except Refused as refused:
        error = InvalidRequestError(core.name, request, refused.reason)
        core._emit(EventKind.ERROR, request, error)
        raise error from None
    core._stream = cursor
    core._move(Op.OPEN_STREAM, _BUSY)
    core._emit(EventKind.STREAM_OPEN, request)
    return cursor


def ended(core: Core, cursor: Any) -> None:
    """The stream's source ran out: the service waits for its next request."""
    if core._stream is cursor:
        core._stream = None
        core._move(Op.END_STREAM)
        core._emit(EventKind.STREAM_END)


def abandon(core: Core, cursor: Any, request: object) -> Any:
    """The stream's reader is gone and its source cannot be closed right now (an
    async source, from ``__del__``): free the service; return the cursor to close
    later (None if the stream was already over)."""
    if core._stream is not cursor:
        return None
    core._stream = None
    core._move(Op.RESET)
    core._emit(EventKind.RESET, request)
    return cursor


def stream_failed(core: Core, cursor: Any, request: object, exc: BaseException) -> Flow:
    """An item step raised: the stream is over; the service fails only if it died."""
    if core._stream is not cursor:
        raise exc
    if cursor.survives_errors:  # a native source died; the service lives
        core._stream = None
        core._move(Op.END_STREAM)
        core._emit(EventKind.ERROR, request, exc)
        if passes_through(exc):  # a cancelled task, an interrupt: close what is left
            try:
                yield CloseSource(cursor)
            except Exception:
                pass
        error = stream_failure(core.name, request, exc)
        if error is not exc:
            note_where(error, exc, core._code())
        _raise(error, exc)
    busy = core._busy(exc) if core._alive() else None  # a raw item is a service step
    if busy is not None:
        raise busy from None
    if core._alive():
        raise exc
    _raise((yield from fail(core, request, exc)), exc)


def cancel_stream(core: Core, cursor: Any, request: object) -> Flow:
    """End the stream early: its source is closed and the service waits again (a raw
    service that does not take its reset is restarted from its factory)."""
    if core._stream is not cursor:
        return
    core._stream = None
    try:
        back_to_ready = yield CloseSource(cursor)
    except BaseException as exc:
        if not core._alive():  # a raw service died on its own reset
            _raise((yield from fail(core, request, exc)), exc)
        core._move(Op.RESET)
        if passes_through(exc):
            raise
        raise ServiceFailedError(
            core.name, request, f"closing the stream's source raised {exception_text(exc)}"
        ) from exc
    core._emit(EventKind.RESET, request)
    if back_to_ready is not False and core._alive():
        core._move(Op.RESET)
    else:
        yield from restart(core)


# -- reset, throw, restart, close ----------------------------------------------------------


def reset(core: Core) -> Flow:
    """Back to waiting: an open stream ends; a FAILED service starts afresh."""
    advance(core._state, Op.RESET, core.name)
    if core._state is State.FAILED:
        yield from restart(core)
    elif core._stream is not None:
        yield from cancel_stream(core, core._stream, None)


def throw(core: Core, exc: BaseException | type[BaseException]) -> Flow:
    """Raise ``exc`` inside the service at its ``yield``; the reply is its next yield.

    An open stream ends first. If closing its source raises, the stream is over,
    the service is READY, ``exc`` is not thrown in and the caller gets
    ``ServiceFailedError``.
    """
    if not (
        isinstance(exc, BaseException) or (isinstance(exc, type) and issubclass(exc, BaseException))
    ):
        raise InvalidRequestError(core.name, exc, "throw() takes an exception class or instance")
    advance(core._state, Op.THROW, core.name)
    cursor = core._stream
    if cursor is not None:
        core._stream = None
        core._move(Op.RESET)  # the stream is over whatever its source does now
        if cursor.survives_errors:  # (a raw stream's items are the service's own steps)
            try:
                yield CloseSource(cursor)
            except Exception as raised:
                raise ServiceFailedError(
                    core.name,
                    Thrown(exc),
                    f"closing the open stream's source raised {type(raised).__name__}: "
                    f"{raised} (the exception was not thrown in)",
                ) from raised
    core._emit(EventKind.THROW, exc)
    try:
        reply = yield ThrowIn(exc)
    except BaseException as raised:
        return (yield from recover(core, Thrown(exc), raised))
    return reply


def restart(core: Core) -> Flow:
    """A fresh generator from the factory (state is lost); an open stream's source
    is closed first, as ``reset`` and ``close`` do."""
    advance(core._state, Op.RESTART, core.name)
    cursor, core._stream = core._stream, None
    if cursor is not None and cursor.survives_errors:
        try:
            yield CloseSource(cursor)
        except Exception:  # the old instance is going anyway
            pass
    old = core._generator()
    try:
        yield START
    except BaseException:
        core._move(Op.FAIL, _BUSY)
        raise
    core._move(Op.RESTART, _BUSY)
    try:
        yield CloseService(old)
    except Exception:
        pass
    core._emit(EventKind.RESTART)


def close(core: Core) -> Flow:
    """Close the service: refused while it runs; what its ``finally`` raises comes
    out as a library error (the original kept as ``__cause__``); CLOSED last."""
    if core._state is State.CLOSED:
        return
    busy = core._busy(None)
    if busy is not None:
        raise busy
    cursor, core._stream = core._stream, None
    if cursor is not None and cursor.survives_errors:
        try:
            yield CloseSource(cursor)
        except Exception:
            pass
    try:
        yield CloseService(core._generator())
    except Exception as exc:
        raise close_failure(core.name, exc) from exc
    finally:
        core._move(Op.CLOSE)
        core._emit(EventKind.CLOSE)
