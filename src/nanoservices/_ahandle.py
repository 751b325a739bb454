"""The engine that drives an async generator service: the async twin of ``LocalHandle``.

It awaits one protocol step at a time (``_aprotocol``), moves state through the
one state table (``_state``), and leaves every failure decision to ``_failure``,
which the sync handle uses too. It does no locking: the public
:class:`~nanoservices.aio.AsyncHandle` in front of it serializes tasks.
"""

from __future__ import annotations

import contextlib
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
from ._failure import judge_failure, restart_failed, stream_failure
from ._state import Op, State, advance, refusal
from ._supervise import Never, Supervision, SupervisionStats

if TYPE_CHECKING:
    from ._service import ServiceSpec

__all__ = ["AsyncGenEngine"]

_READY = State.READY


class AsyncGenEngine:
    """One instance of an async generator service (made by ``@aservice`` factories)."""

    __slots__ = (
        "_agen",
        "_args",
        "_cursor",
        "_kwargs",
        "_request",
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

    # -- calls ------------------------------------------------------------------

    async def call(self, request: object) -> Any:
        if self._state is not _READY:
            raise refusal(self._state, Op.CALL, self.name, request)
        check = self._spec.check
        if check is not None:
            reason = check(request)
            if reason is not None:
                raise InvalidRequestError(self.name, request, reason)
        try:
            return await self._agen.asend(request)
        except BaseException as exc:
            return await self._recover(request, exc)

    async def _recover(self, request: object, exc: BaseException) -> Any:
        """Sort out what a step raised (the twin of ``LocalHandle._recover``)."""
        agen = self._agen
        if isinstance(exc, RuntimeError) and agen.ag_frame is not None and agen.ag_running:
            raise ServiceBusyError(
                self.name, "the service is already running a step (it called itself?)"
            ) from None
        if isinstance(exc, StopAsyncIteration):  # the body returned: closed
            self._cursor = None
            self._state = State.CLOSED
            return None
        sup = self._sup = self._sup or Supervision()
        verdict = judge_failure(self.name, request, exc, self._spec.restart, sup)
        if verdict.restart:
            try:
                await self.start()
            except ServiceError as restart_error:
                self._state = State.FAILED
                raise restart_failed(self.name, request, exc, restart_error) from exc
            sup.record_restart()
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
        return cursor

    def is_open(self, cursor: object) -> bool:
        return cursor is not None and self._cursor is cursor

    async def next_item(self, cursor: AsyncCursor) -> Any:
        """The stream's next item; ``StopAsyncIteration`` once it is over."""
        if self._cursor is not cursor:
            raise StopAsyncIteration
        try:
            return await cursor.next_item()
        except StopAsyncIteration:
            self._end(cursor)
            raise
        except BaseException as exc:
            self._end(cursor)
            if not isinstance(exc, Exception):  # a cancelled task: the stream is over
                with contextlib.suppress(BaseException):
                    await cursor.cancel()
                raise
            error = stream_failure(self.name, self._request, exc)
            if error is exc:
                raise
            raise error from exc

    def _end(self, cursor: AsyncCursor) -> None:
        if self._cursor is cursor:
            self._cursor = None
            self._state = advance(State.STREAMING, Op.END_STREAM, self.name)

    async def cancel_stream(self, cursor: AsyncCursor) -> None:
        """End the stream early; the service goes back to waiting for a request."""
        if self._cursor is not cursor:
            return
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
        if self._cursor is not None:
            await self.cancel_stream(self._cursor)
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
