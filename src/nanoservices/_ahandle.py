"""The engine that drives an async generator service: the async twin of ``LocalHandle``.

It awaits one protocol step at a time (``_aprotocol``), moves state through the
one state table (``_state``), and leaves every failure decision to ``_failure``,
which the sync handle uses too. It does no locking: the public
:class:`~nanoservices.aio.AsyncHandle` in front of it serializes tasks.

Its call path follows the sync handle's rule: ``await self._sink.asend(request)``
where ``_sink`` is the async generator itself unless a request type or a hook
asks for a wrapper; the wrapper is chosen when the generator starts or a hook
is added (the same choice as the sync handle: ``call_timers``), never per call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from types import AsyncGeneratorType
from typing import TYPE_CHECKING, Any

from ._aprotocol import AsyncCursor, aprime, async_cursor
from ._errors import (
    InvalidRequestError,
    ProtocolViolationError,
    ServiceBusyError,
    ServiceError,
    ServiceFailedError,
    ServiceStartError,
)
from ._events import Event, EventKind, Hook, call_timers, emit, now_ns
from ._failure import judge_failure, restart_failed, stream_failure
from ._handle import _validating
from ._state import Op, State, advance, refusal
from ._supervise import Never, Supervision, SupervisionStats

if TYPE_CHECKING:
    from ._service import ServiceSpec

__all__ = ["AsyncGenEngine"]

_READY = State.READY

ASend = Callable[[Any], Awaitable[Any]]


def _atraced(asend: ASend, hooks: list[Hook], name: str) -> ASend:
    """The async twin of ``_handle._traced``: reports each request and reply."""

    async def asend_traced(request: object) -> Any:
        start = now_ns()
        emit(hooks, Event(EventKind.REQUEST, name, request, time_ns=start))
        reply = await asend(request)
        end = now_ns()
        emit(hooks, Event(EventKind.REPLY, name, reply, duration_ns=end - start, time_ns=end))
        return reply

    return asend_traced


def _atimed(asend: ASend, records: tuple[Callable[[int], None], ...]) -> ASend:
    """The async twin of ``_handle._timed``: only times each call (statistics)."""

    async def asend_timed(request: object) -> Any:
        start = now_ns()
        try:
            return await asend(request)
        finally:
            duration = now_ns() - start
            for record in records:
                record(duration)

    return asend_timed


class _ASink:
    """Stands in for the async generator on the call path: ``_sink.asend(request)``."""

    __slots__ = ("asend",)

    def __init__(self, asend: ASend) -> None:
        self.asend = asend


class AsyncGenEngine:
    """One instance of an async generator service (made by ``@aservice`` factories)."""

    __slots__ = (
        "_agen",
        "_args",
        "_cursor",
        "_hooks",
        "_kwargs",
        "_request",
        "_sink",
        "_spec",
        "_state",
        "_sup",
        "greeting",
    )

    def __init__(self, spec: ServiceSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._spec = spec
        self._args = args
        self._kwargs = kwargs
        self._agen: Any = None
        self._cursor: AsyncCursor | None = None
        self._request: object = None  # the open stream's request (for its errors)
        self._state = State.CLOSED  # until start() primes it
        self._sup: Supervision | None = None
        self._hooks: list[Hook] | None = None  # made by the first subscribe
        self._sink: Any = None  # what call() sends to: the generator itself when bare
        self.greeting: Any = None

    @property
    def name(self) -> str:
        return self._spec.name

    @property
    def spec(self) -> ServiceSpec:
        return self._spec

    @property
    def state(self) -> State:
        if self._state is _READY and self._agen.ag_running:
            return State.BUSY
        return self._state

    @property
    def supervision(self) -> SupervisionStats:
        return (self._sup or Supervision()).snapshot(self._spec.restart or Never())

    @property
    def generator(self) -> Any:
        """The live async generator (for inspection; do not drive it directly)."""
        return self._agen

    @property
    def stream_source(self) -> Any:
        """The source of the open stream (for inspection), or None."""
        cursor = self._cursor
        if cursor is None:
            return None
        return cursor.source

    # -- hooks ------------------------------------------------------------------

    @property
    def hooks(self) -> tuple[Hook, ...]:
        return tuple(self._hooks or ())

    def subscribe(self, hook: Hook) -> None:
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        self._rewire()

    def unsubscribe(self, hook: Hook) -> None:
        if self._hooks is not None and hook in self._hooks:
            self._hooks.remove(hook)
            self._rewire()

    def _rewire(self) -> None:
        """Point ``_sink`` at the bare generator, or at the wrapper that the request
        type and the hooks ask for (the twin of ``LocalHandle._rewire``)."""
        agen = self._agen
        if agen is None:
            return
        check = self._spec.check
        hooks = self._hooks
        if check is None and not hooks:
            self._sink = agen
            return
        asend: Any = agen.asend
        if check is not None:
            asend = _validating(asend, check, self.name)  # returns the awaitable unawaited
        if hooks:
            records = call_timers(hooks)
            if records is not None:
                asend = _atimed(asend, records)
            else:
                asend = _atraced(asend, hooks, self.name)
        self._sink = _ASink(asend)

    def _emit(
        self, kind: EventKind, value: object = None, error: BaseException | None = None
    ) -> None:
        hooks = self._hooks
        if hooks:
            emit(hooks, Event(kind, self.name, value, error, time_ns=now_ns()))

    async def start(self) -> None:
        """Make a fresh generator from the factory and prime it; READY afterwards."""
        try:
            agen: object = self._spec.fn(*self._args, **self._kwargs)
        except Exception as exc:
            raise ServiceStartError(
                self.name, None, f"could not start: {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(agen, AsyncGeneratorType):
            close = getattr(agen, "close", None)  # a coroutine never awaited would warn
            if close is not None:
                close()
            raise ProtocolViolationError(
                self.name,
                f"{self._spec.fn.__qualname__}() returned {type(agen).__name__}, not an async "
                "generator (an async service is an 'async def' containing 'yield')",
            )
        try:
            self.greeting = await aprime(agen)
        except StopAsyncIteration as exc:
            raise ProtocolViolationError(
                self.name, "the generator returned before its first yield"
            ) from exc
        except Exception as exc:
            raise ServiceStartError(
                self.name, None, f"could not start: {type(exc).__name__}: {exc}"
            ) from exc
        self._agen = agen
        self._cursor = None
        self._state = _READY
        self._rewire()

    # -- calls ------------------------------------------------------------------

    async def call(self, request: object) -> Any:
        if self._state is not _READY:
            raise refusal(self._state, Op.CALL, self.name, request)
        try:
            return await self._sink.asend(request)
        except BaseException as exc:
            return await self._recover(request, exc)

    async def _recover(self, request: object, exc: BaseException) -> Any:
        """Sort out what a step raised (the twin of ``LocalHandle._recover``)."""
        agen = self._agen
        if isinstance(exc, RuntimeError) and agen.ag_frame is not None and agen.ag_running:
            raise ServiceBusyError(
                self.name, "the service is already running a step (it called itself?)"
            ) from None
        if isinstance(exc, InvalidRequestError) and agen.ag_frame is not None:
            self._emit(EventKind.ERROR, request, exc)  # refused before the generator ran
            raise exc
        if isinstance(exc, StopAsyncIteration):  # the body returned: closed
            self._cursor = None
            self._state = State.CLOSED
            self._emit(EventKind.CLOSE)
            return None
        sup = self._sup = self._sup or Supervision()
        verdict = judge_failure(self.name, request, exc, self._spec.restart, sup)
        self._emit(EventKind.ERROR, request, exc)
        if verdict.restart:
            try:
                await self.start()
            except ServiceError as restart_error:
                self._state = State.FAILED
                raise restart_failed(self.name, request, exc, restart_error) from exc
            sup.record_restart()
            self._emit(EventKind.RESTART, request, exc)
        else:
            self._state = State.FAILED
        if verdict.error is exc:
            raise exc
        raise verdict.error from exc

    # -- streams ----------------------------------------------------------------

    async def open_stream(self, request: object) -> AsyncCursor | None:
        """Send ``request`` and hold the service for its streamed reply (None: it closed)."""
        reply = await self.call(request)
        if self._state is not _READY:
            return None
        cursor = async_cursor(reply)
        self._cursor = cursor
        self._request = request
        self._state = advance(State.BUSY, Op.OPEN_STREAM, self.name)
        self._emit(EventKind.STREAM_OPEN, request)
        return cursor

    def is_open(self, cursor: object) -> bool:
        return cursor is not None and self._cursor is cursor

    async def next_item(self, cursor: AsyncCursor) -> Any:
        """The stream's next item; ``StopAsyncIteration`` once it is over."""
        if self._cursor is not cursor:
            raise StopAsyncIteration
        try:
            item = await cursor.next_item()
        except StopAsyncIteration:
            self._end(cursor)
            self._emit(EventKind.STREAM_END)
            raise
        except BaseException as exc:
            self._end(cursor)
            self._emit(EventKind.ERROR, self._request, exc)
            if not isinstance(exc, Exception):  # a cancelled task: the stream is over
                with contextlib.suppress(BaseException):
                    await cursor.cancel()
                raise
            error = stream_failure(self.name, self._request, exc)
            if error is exc:
                raise
            raise error from exc
        hooks = self._hooks
        if hooks:
            emit(hooks, Event(EventKind.ITEM, self.name, item, time_ns=now_ns()))
        return item

    def _end(self, cursor: AsyncCursor) -> None:
        if self._cursor is cursor:
            self._cursor = None
            self._state = advance(State.STREAMING, Op.END_STREAM, self.name)

    async def cancel_stream(self, cursor: AsyncCursor) -> None:
        """End the stream early; the service goes back to waiting for a request."""
        if self._cursor is not cursor:
            return
        await self._drop_stream(cursor)
        self._emit(EventKind.RESET, self._request)

    async def _drop_stream(self, cursor: AsyncCursor) -> None:
        self._end(cursor)
        try:
            await cursor.cancel()
        except Exception as exc:
            raise ServiceFailedError(
                self.name, self._request, "closing the stream's source raised"
            ) from exc

    def abandon(self, cursor: AsyncCursor) -> AsyncCursor | None:
        """The stream's reader is gone: free the service now; close the source later."""
        if self._cursor is not cursor:
            return None
        self._end(cursor)
        self._emit(EventKind.RESET, self._request)
        return cursor

    # -- reset, throw, close -------------------------------------------------------

    async def reset(self) -> None:
        if self._state is State.FAILED:
            await self.restart()
            return
        advance(self._state, Op.RESET, self.name)
        if self._cursor is not None:
            await self.cancel_stream(self._cursor)

    async def throw(self, exc: BaseException | type[BaseException]) -> Any:
        if not (
            isinstance(exc, BaseException)
            or (isinstance(exc, type) and issubclass(exc, BaseException))
        ):
            raise InvalidRequestError(
                self.name, exc, "throw() takes an exception class or instance"
            )
        advance(self._state, Op.THROW, self.name)
        if self._cursor is not None:  # the stream ends quietly, as with a sync handle
            await self._drop_stream(self._cursor)
        self._emit(EventKind.THROW, exc)
        try:
            return await self._agen.athrow(exc)
        except BaseException as raised:
            return await self._recover(exc, raised)

    async def restart(self) -> None:
        advance(self._state, Op.RESTART, self.name)
        old, self._cursor = self._agen, None
        await self.start()
        with contextlib.suppress(Exception):
            await old.aclose()
        self._emit(EventKind.RESTART)

    async def close(self) -> None:
        if self._state is State.CLOSED:
            return
        cursor, self._cursor = self._cursor, None
        if cursor is not None:
            with contextlib.suppress(Exception):
                await cursor.cancel()
        self._state = State.CLOSED
        try:
            await self._agen.aclose()
        except RuntimeError as exc:
            raise ProtocolViolationError(
                self.name, "the generator yielded while being closed (it caught GeneratorExit)"
            ) from exc
        finally:
            self._emit(EventKind.CLOSE)
