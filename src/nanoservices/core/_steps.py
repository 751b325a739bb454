"""The protocol steps both engines run: one logic, a sync and an async driver.

Everything a handle does beyond the hot call (sorting out a failure, the
restart policy, ending a stream, reset, throw, restart, close) is written here
once, as a generator (a *flow*). A flow decides, moves state through the state
table (the engine's ``_move`` and ``_end_step``), and yields the I/O it needs done as an
[`Effect`][]: start a fresh generator, close a stream's source, close the
service generator or throw into it. The sync handle runs a flow with
[`run`][], the async engine with [`arun`][]; that is the only difference
between them (the way httpx drives one auth flow from a sync and an async
client). A flow ends by returning a value or raising the caller's error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from types import CodeType
from typing import Any, NoReturn, Protocol, TypeAlias, TypeVar

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
from ._state import Op, State, check_move
from ._supervise import RestartPolicy, Supervision

__all__ = [
    "START",
    "CloseService",
    "CloseSource",
    "Engine",
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
#: What a flow ends with: a reply, an error to raise, or nothing.
R = TypeVar("R")
#: A flow: yields effects, is sent their answers, returns an ``R``.
Flow: TypeAlias = Generator[Effect, Any, R]

#: The effects of a flow the drivers run: the core's, or a transport's own (Ray's waits).
E = TypeVar("E")


class Engine(Protocol):
    """What a flow needs from the engine that runs it (``LocalHandle``, the async
    ``AsyncGenEngine``): its state and open stream, the moves of the state table,
    its events, its restart policy and the facts of its service generator.

    The members are private to the package, not to the engine: they sit on the
    user's handle, where a public name would be API.
    """

    _state: State
    """The stored state (READY, STREAMING, FAILED or CLOSED; BUSY is never stored)."""
    _stream: Any
    """The open stream's cursor, or None."""

    @property
    def name(self) -> str: ...
    def _move(self, op: Op) -> None:
        """Move the stored state by ``op`` (the table refuses an illegal move)."""

    def _end_step(self, op: Op) -> None:
        """End a step by ``op``: a call, a throw or a fresh start ran from BUSY, which
        is read off the generator and never stored, so the move is from BUSY."""

    def _emit(
        self, kind: EventKind, value: object = None, error: BaseException | None = None
    ) -> None:
        """Report an event to the engine's hooks."""

    def _supervision(self) -> Supervision:
        """The record of failures and restarts (made on first use)."""

    def _restart_policy(self) -> RestartPolicy | None: ...
    def _service_generator(self) -> Any:
        """The live service generator (sync or async)."""

    def _service_code(self) -> CodeType | None:
        """The service body's code, to say where a failure happened."""

    def _generator_alive(self) -> bool:
        """Whether the service generator can still be resumed (it has not ended)."""

    def _in_use_error(self, exc: BaseException | None) -> ServiceBusyError | None:
        """The error for using the service while it runs (re-entry, another thread),
        if ``exc`` (or, with None, the generator itself) shows that; else None."""

    def _generator_returned(self, exc: BaseException) -> tuple[bool, Any]:
        """Whether ``exc`` is the service generator returning, and its value."""

    def _keep_result(self, value: object) -> None:
        """Keep what the service generator returned (the handle's ``result``)."""

    def _cursor_for(self, reply: object) -> Any:
        """The cursor that steps through the streamed reply ``reply``."""


# -- the drivers -----------------------------------------------------------------------


def run(flow: Generator[E, Any, R], do: Callable[[E], Any]) -> R:
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
        value: R = done.value
        return value


async def arun(flow: Generator[E, Any, R], ado: Callable[[E], Awaitable[Any]]) -> R:
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
        value: R = done.value
        return value


def _raise(error: BaseException, exc: BaseException) -> NoReturn:
    if error is exc:  # KeyboardInterrupt, SystemExit, CancelledError: not ours to wrap
        raise exc
    raise error from exc


# -- failures ----------------------------------------------------------------------------


def fail(engine: Engine, request: object, exc: BaseException) -> Flow[BaseException]:
    """The body raised (``exc``): record it, apply the restart policy (FAILED, or a
    fresh instance) and return the error the caller gets."""
    sup = engine._supervision()
    verdict = judge_failure(engine.name, request, exc, engine._restart_policy(), sup)
    error = verdict.error
    if error is not exc:
        note_where(error, exc, engine._service_code())
    engine._emit(EventKind.ERROR, request, exc)
    engine._stream = None
    if not verdict.restart:
        engine._end_step(Op.FAIL)
        return error
    try:
        yield START
    except ServiceError as restart_error:
        engine._end_step(Op.FAIL)
        return restart_failed(engine.name, request, exc, restart_error)
    engine._end_step(Op.RESTART)
    sup.record_restart()
    engine._emit(EventKind.RESTART, request, exc)
    return error


def recover(engine: Engine, request: object, exc: BaseException) -> Flow[Any]:
    """Sort out what a step (a call, a throw) raised: a refusal, concurrent use, the
    generator's return (its value is the reply), or a failure."""
    if engine._state is not State.READY:
        raise exc  # a refusal: the handle was not serving
    if engine._generator_alive():  # refused around the generator (validation): untouched
        busy = engine._in_use_error(exc)
        if busy is not None:
            raise busy from None
        if isinstance(exc, ServiceError):
            engine._emit(EventKind.ERROR, request, exc)
        raise exc
    returned, value = engine._generator_returned(exc)
    if returned:
        finish(engine, value)
        return value
    _raise((yield from fail(engine, request, exc)), exc)


def finish(engine: Engine, value: object) -> None:
    """The generator returned (the talk's falsy request): the service is closed."""
    engine._keep_result(value)
    engine._stream = None
    engine._end_step(Op.FINISH)
    engine._emit(EventKind.CLOSE, value)


def plain_reply(engine: Engine, request: object, reply: object) -> Flow[Any]:
    """The reply to ``call()``, or the error for a refusal or a streamed reply
    (contract A: ``StreamReplyError``, the source closed, the service READY)."""
    kind = type(reply)
    if isinstance(reply, Refusal):
        error: ServiceError = InvalidRequestError(engine.name, request, reply.reason)
        engine._emit(EventKind.ERROR, request, error)
        raise error
    if kind is Stream:
        error = StreamReplyError(engine.name, request)
        engine._emit(EventKind.ERROR, request, error)
        try:
            yield CloseSource(engine._cursor_for(reply))
        except Exception as exc:
            raise error from exc
        raise error
    return reply


# -- streams -----------------------------------------------------------------------------


def opened(engine: Engine, request: object, reply: object) -> Any:
    """The cursor of a stream whose request was answered with ``reply`` (None when
    the generator returned on it); the stream now holds the service."""
    if engine._state is not State.READY:
        return None
    try:
        cursor = engine._cursor_for(reply)
    except Refused as refused:
        error = InvalidRequestError(engine.name, request, refused.reason)
        engine._emit(EventKind.ERROR, request, error)
        raise error from None
    engine._stream = cursor
    engine._end_step(Op.OPEN_STREAM)
    engine._emit(EventKind.STREAM_OPEN, request)
    return cursor


def ended(engine: Engine, cursor: Any) -> None:
    """The stream's source ran out: the service waits for its next request."""
    if engine._stream is cursor:
        engine._stream = None
        engine._move(Op.END_STREAM)
        engine._emit(EventKind.STREAM_END)


def abandon(engine: Engine, cursor: Any, request: object) -> Any:
    """The stream's reader is gone and its source cannot be closed right now (an
    async source, from ``__del__``): free the service; return the cursor to close
    later (None if the stream was already over)."""
    if engine._stream is not cursor:
        return None
    engine._stream = None
    engine._move(Op.RESET)
    engine._emit(EventKind.RESET, request)
    return cursor


def stream_failed(engine: Engine, cursor: Any, request: object, exc: BaseException) -> Flow[None]:
    """An item step raised: the stream is over; the service fails only if it died."""
    if engine._stream is not cursor:
        raise exc
    if cursor.survives_errors:  # a native source died; the service lives
        engine._stream = None
        engine._move(Op.END_STREAM)
        engine._emit(EventKind.ERROR, request, exc)
        if passes_through(exc):  # a cancelled task, an interrupt: close what is left
            try:
                yield CloseSource(cursor)
            except Exception:
                pass
        error = stream_failure(engine.name, request, exc)
        if error is not exc:
            note_where(error, exc, engine._service_code())
        _raise(error, exc)
    busy = (
        engine._in_use_error(exc) if engine._generator_alive() else None
    )  # a raw item is a service step
    if busy is not None:
        raise busy from None
    if engine._generator_alive():
        raise exc
    _raise((yield from fail(engine, request, exc)), exc)


def cancel_stream(engine: Engine, cursor: Any, request: object) -> Flow[None]:
    """End the stream early: its source is closed and the service waits again (a raw
    service that does not take its reset is restarted from its factory)."""
    if engine._stream is not cursor:
        return
    engine._stream = None
    try:
        back_to_ready = yield CloseSource(cursor)
    except BaseException as exc:
        if not engine._generator_alive():  # a raw service died on its own reset
            _raise((yield from fail(engine, request, exc)), exc)
        engine._move(Op.RESET)
        if passes_through(exc):
            raise
        raise ServiceFailedError(
            engine.name, request, f"closing the stream's source raised {exception_text(exc)}"
        ) from exc
    engine._emit(EventKind.RESET, request)
    if back_to_ready is not False and engine._generator_alive():
        engine._move(Op.RESET)
    else:
        yield from restart(engine)


# -- reset, throw, restart, close ----------------------------------------------------------


def reset(engine: Engine) -> Flow[None]:
    """Back to waiting: an open stream ends; a FAILED service starts afresh."""
    check_move(engine._state, Op.RESET, engine.name)
    if engine._state is State.FAILED:
        yield from restart(engine)
    elif engine._stream is not None:
        yield from cancel_stream(engine, engine._stream, None)


def throw(engine: Engine, exc: BaseException | type[BaseException]) -> Flow[Any]:
    """Raise ``exc`` inside the service at its ``yield``; the reply is its next yield.

    An open stream ends first. If closing its source raises, the stream is over,
    the service is READY, ``exc`` is not thrown in and the caller gets
    ``ServiceFailedError``.
    """
    if not (
        isinstance(exc, BaseException) or (isinstance(exc, type) and issubclass(exc, BaseException))
    ):
        raise InvalidRequestError(engine.name, exc, "throw() takes an exception class or instance")
    check_move(engine._state, Op.THROW, engine.name)
    cursor = engine._stream
    if cursor is not None:
        engine._stream = None
        engine._move(Op.RESET)  # the stream is over whatever its source does now
        if cursor.survives_errors:  # (a raw stream's items are the service's own steps)
            try:
                yield CloseSource(cursor)
            except Exception as raised:
                raise ServiceFailedError(
                    engine.name,
                    Thrown(exc),
                    f"closing the open stream's source raised {type(raised).__name__}: "
                    f"{raised} (the exception was not thrown in)",
                ) from raised
    engine._emit(EventKind.THROW, exc)
    try:
        reply = yield ThrowIn(exc)
    except BaseException as raised:
        return (yield from recover(engine, Thrown(exc), raised))
    return reply


def restart(engine: Engine) -> Flow[None]:
    """A fresh generator from the factory (state is lost); an open stream's source
    is closed first, as ``reset`` and ``close`` do."""
    check_move(engine._state, Op.RESTART, engine.name)
    cursor, engine._stream = engine._stream, None
    if cursor is not None and cursor.survives_errors:
        try:
            yield CloseSource(cursor)
        except Exception:  # the old instance is going anyway
            pass
    old = engine._service_generator()
    try:
        yield START
    except BaseException:
        engine._end_step(Op.FAIL)
        raise
    engine._end_step(Op.RESTART)
    try:
        yield CloseService(old)
    except Exception:
        pass
    engine._emit(EventKind.RESTART)


def close(engine: Engine) -> Flow[None]:
    """Close the service: refused while it runs; what its ``finally`` raises comes
    out as a library error (the original kept as ``__cause__``); CLOSED last."""
    if engine._state is State.CLOSED:
        return
    busy = engine._in_use_error(None)
    if busy is not None:
        raise busy
    cursor, engine._stream = engine._stream, None
    if cursor is not None and cursor.survives_errors:
        try:
            yield CloseSource(cursor)
        except Exception:
            pass
    try:
        yield CloseService(engine._service_generator())
    except Exception as exc:
        raise close_failure(engine.name, exc) from exc
    finally:
        engine._move(Op.CLOSE)
        engine._emit(EventKind.CLOSE)
