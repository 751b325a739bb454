"""The engine that drives an async generator service: the async twin of ``LocalHandle``.

It runs the very protocol steps the sync handle runs (``_steps``: recover,
failures and the restart policy, streams, reset, throw, restart, close), with
the async driver: only the effects (a step of the generator, closing a source,
starting a fresh instance) are awaited here. State moves through the one state
table (``_state``). It does no locking: the public
[`AsyncHandle`][nanoservices.aio.AsyncHandle] in front of it serializes tasks.

Its call path follows the sync handle's rule: ``await self._sink.asend(request)``
where ``_sink`` is the async generator itself unless a request type or a hook
asks for a wrapper; the wrapper is chosen when the generator starts or a hook
is added (the same choice as the sync handle: ``call_timers``), never per call.

A cancelled caller is the caller's decision, not the service's failure: the
``CancelledError`` lands at the service's own ``await``; a service that handles
it stays READY (its reply is dropped and the caller is still cancelled), one
that does not is failed, or restarted by its policy (``_failure``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from types import AsyncGeneratorType, CodeType
from typing import TYPE_CHECKING, Any, TypeVar

from nanoservices.core import (
    Event,
    EventKind,
    Hook,
    Never,
    ProtocolViolationError,
    Refusal,
    RestartPolicy,
    ServiceBusyError,
    ServiceStartError,
    State,
    Stream,
    SupervisionStats,
)
from nanoservices.core.seam import (
    Op,
    Supervision,
    advance,
    call_timers,
    emit,
    now_ns,
    refusal,
    validating,
)
from nanoservices.core.seam import steps as _steps

from ._protocol import AsyncCursor, aprime, async_cursor

if TYPE_CHECKING:
    from nanoservices.core import ServiceSpec

__all__ = ["AsyncGenEngine"]

_READY = State.READY
R = TypeVar("R")
_current_task = asyncio.current_task

ASend = Callable[[Any], Awaitable[Any]]


def _atraced(asend: ASend, hooks: list[Hook], name: str) -> ASend:
    """The async twin of ``_sends.traced``: reports each request and reply."""

    async def asend_traced(request: object) -> object:
        start = now_ns()
        emit(hooks, Event(EventKind.REQUEST, name, request, time_ns=start))
        reply = await asend(request)
        end = now_ns()
        emit(hooks, Event(EventKind.REPLY, name, reply, duration_ns=end - start, time_ns=end))
        return reply

    return asend_traced


def _atimed(asend: ASend, records: tuple[Callable[[int], None], ...]) -> ASend:
    """The async twin of ``_sends.timed``: only times each call (statistics)."""

    async def asend_timed(request: object) -> object:
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
        "_hooks",
        "_kwargs",
        "_request",
        "_result",
        "_sink",
        "_spec",
        "_state",
        "_stream",
        "_sup",
        "greeting",
    )

    def __init__(self, spec: ServiceSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._spec = spec
        self._args = args
        self._kwargs = kwargs
        self._agen: Any = None
        self._stream: AsyncCursor | None = None  # the open stream's cursor
        self._request: object = None  # the open stream's request (for its errors)
        self._state = State.CLOSED  # until start() primes it
        self._sup: Supervision | None = None
        self._hooks: list[Hook] | None = None  # made by the first subscribe
        self._sink: Any = None  # what call() sends to: the generator itself when bare
        self._result: Any = None
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
    def generator(self) -> AsyncGenerator[Any, Any]:
        """The live async generator (for inspection; do not drive it directly)."""
        agen: AsyncGenerator[Any, Any] = self._agen
        return agen

    @property
    def stream_source(self) -> object:
        """The source of the open stream (for inspection), or None."""
        cursor = self._stream
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
            asend = validating(asend, check, self.name)  # returns the awaitable unawaited
        if hooks:
            records = call_timers(hooks)
            if records is not None:
                asend = _atimed(asend, records)
            else:
                asend = _atraced(asend, hooks, self.name)
        self._sink = _ASink(asend)

    # -- what the protocol steps (``_steps``) need: their effects, awaited ---------------

    async def _run(self, flow: _steps.Flow[R]) -> R:
        return await _steps.arun(flow, self._do)

    async def _do(self, effect: _steps.Effect) -> Any:
        if effect is _steps.START:
            await self._start_generator()
            return None
        if isinstance(effect, _steps.CloseSource):
            return await effect.cursor.cancel()
        if isinstance(effect, _steps.CloseService):
            return await effect.gen.aclose()
        if isinstance(effect, _steps.ThrowIn):
            return await self._agen.athrow(effect.exc)
        raise AssertionError(effect)  # pragma: no cover

    def _move(self, op: Op) -> None:
        """The one writer of state: the table's answer to ``op`` from the stored state."""
        self._state = advance(self._state, op, self.name)

    def _end_step(self, op: Op) -> None:
        """A step ends by ``op``: it ran from BUSY (read off the generator, never stored)."""
        self._state = advance(State.BUSY, op, self.name)

    def _emit(
        self, kind: EventKind, value: object = None, error: BaseException | None = None
    ) -> None:
        hooks = self._hooks
        if hooks:
            emit(hooks, Event(kind, self.name, value, error, time_ns=now_ns()))

    def _supervision(self) -> Supervision:
        if self._sup is None:
            self._sup = Supervision()
        return self._sup

    def _restart_policy(self) -> RestartPolicy | None:
        return self._spec.restart

    def _service_generator(self) -> Any:
        return self._agen

    def _service_code(self) -> CodeType | None:
        code: CodeType | None = getattr(self._agen, "ag_code", None)
        return code

    def _generator_alive(self) -> bool:
        return self._agen.ag_frame is not None

    def _in_use_error(self, exc: BaseException | None) -> ServiceBusyError | None:
        if self._agen.ag_running and (exc is None or isinstance(exc, RuntimeError)):
            return ServiceBusyError(
                self.name, "the service is already running a step (it called itself?)"
            )
        return None

    def _generator_returned(self, exc: BaseException) -> tuple[bool, Any]:
        return isinstance(exc, StopAsyncIteration), None

    def _keep_result(self, value: object) -> None:
        self._result = value

    def _cursor_for(self, reply: object) -> AsyncCursor:
        return async_cursor(reply)

    # -- start ------------------------------------------------------------------

    async def start(self) -> None:
        """Make a fresh generator from the factory and prime it; READY afterwards."""
        await self._start_generator()
        self._state = _READY  # the first state of a new instance (not a move)

    async def _start_generator(self) -> None:
        """Make a fresh generator from the factory and prime it (the caller moves state)."""
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
            greeting = await aprime(agen)
        except StopAsyncIteration as exc:
            raise ProtocolViolationError(
                self.name, "the generator returned before its first yield"
            ) from exc
        except Exception as exc:
            raise ServiceStartError(
                self.name, None, f"could not start: {type(exc).__name__}: {exc}"
            ) from exc
        self.greeting = greeting
        self._agen = agen
        self._stream = None
        self._rewire()

    # -- calls ------------------------------------------------------------------

    async def _step(self, request: object) -> Any:
        """Send ``request`` and return what the service yields (or sort out what it raised)."""
        if self._state is not _READY:
            cause = self._sup.last_error if self._sup is not None else None
            raise refusal(self._state, Op.CALL, self.name, request, cause)
        task = _current_task()
        cancels = task.cancelling() if task is not None else 0
        try:
            reply = await self._sink.asend(request)
        except BaseException as exc:
            return await self._run(_steps.recover(self, request, exc))
        if task is not None and task.cancelling() > cancels:
            # The caller was cancelled mid-request and the service handled it: the
            # service is READY, its reply is dropped, the caller stays cancelled.
            raise asyncio.CancelledError
        return reply

    async def call(self, request: object) -> Any:
        reply = await self._step(request)
        kind = type(reply)
        if kind is Refusal or kind is Stream:
            return await self._run(_steps.plain_reply(self, request, reply))
        return reply

    # -- streams ----------------------------------------------------------------

    async def open_stream(self, request: object) -> AsyncCursor | None:
        """Send ``request`` and hold the service for its streamed reply (None: it closed)."""
        reply = await self._step(request)
        cursor: AsyncCursor | None = _steps.opened(self, request, reply)
        if cursor is not None:
            self._request = request
        return cursor

    def is_open(self, cursor: object) -> bool:
        return cursor is not None and self._stream is cursor

    async def next_item(self, cursor: AsyncCursor) -> Any:
        """The stream's next item; ``StopAsyncIteration`` once it is over."""
        if self._stream is not cursor:
            raise StopAsyncIteration
        try:
            item = await cursor.next_item()
        except StopAsyncIteration:
            _steps.ended(self, cursor)
            raise
        except BaseException as exc:
            await self._run(_steps.stream_failed(self, cursor, self._request, exc))
            raise  # pragma: no cover  (the flow raises)
        hooks = self._hooks
        if hooks:
            emit(hooks, Event(EventKind.ITEM, self.name, item, time_ns=now_ns()))
        return item

    async def cancel_stream(self, cursor: AsyncCursor) -> None:
        """End the stream early; the service goes back to waiting for a request."""
        await self._run(_steps.cancel_stream(self, cursor, self._request))

    def abandon(self, cursor: AsyncCursor) -> AsyncCursor | None:
        """The stream's reader is gone: free the service now; close the source later."""
        dropped: AsyncCursor | None = _steps.abandon(self, cursor, self._request)
        return dropped

    # -- reset, throw, restart, close ------------------------------------------------

    async def reset(self) -> None:
        await self._run(_steps.reset(self))

    async def throw(self, exc: BaseException | type[BaseException]) -> Any:
        return await self._run(_steps.throw(self, exc))

    async def restart(self) -> None:
        await self._run(_steps.restart(self))

    async def close(self) -> None:
        await self._run(_steps.close(self))
