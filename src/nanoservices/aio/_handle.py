"""asyncio services and handles: the same operations as the sync handle, awaited.

* ``@aservice`` turns an async generator function (``request = yield reply``
  inside ``async def``) into a factory: ``h = await counter(100)`` or
  ``async with counter(100) as h``.
* [`to_async`][] lets async code use a sync service's handle.

Both give an [`AsyncHandle`][]: ``await h.call(x)``, ``async for item in
h.stream(x)``, ``await h.reset()``, ``await h.throw(exc)``, ``await h.aclose()``,
``h.state``. Steps of one handle take turns (an ``asyncio.Lock``), so tasks may
share a handle. The protocol itself (priming, streams, errors, state moves,
restarts) is the sync handle's: see ``_aprotocol``, ``_ahandle`` and ``_failure``.
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextlib
import functools
import typing
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, overload, runtime_checkable

from nanoservices.core import (
    DeadlineExceeded,
    Hook,
    LocalHandle,
    ReentryError,
    RestartPolicy,
    ServiceBusyError,
    ServiceSpec,
    SharedHandle,
    State,
    Stream,
    SupervisionStats,
)
from nanoservices.core.seam import FROM_ANNOTATION, NATIVE, build_check
from nanoservices.core.seam import deadlines as _deadline

from ._engine import AsyncGenEngine
from ._protocol import astreamed
from ._sync_engine import SyncEngine

__all__ = [
    "AsyncHandle",
    "AsyncHandleProtocol",
    "AsyncReplyStream",
    "AsyncServiceFactory",
    "Starting",
    "aservice",
    "astreamed",
    "to_async",
]

P = ParamSpec("P")
RequestT = TypeVar("RequestT")
ReplyT = TypeVar("ReplyT")
ItemT = TypeVar("ItemT")
T = TypeVar("T")

_UNSET: Any = FROM_ANNOTATION  # the older name, kept for code that still uses it


RequestT_contra = TypeVar("RequestT_contra", contravariant=True)
ReplyT_co = TypeVar("ReplyT_co", covariant=True)


@runtime_checkable
class AsyncHandleProtocol(Protocol[RequestT_contra, ReplyT_co]):
    """The async twin of [`Handle`][nanoservices.Handle]: the same operations, awaited.

    Every async handle offers it (``@aservice``, ``to_async``, remote async
    handles), so callers cannot tell where a service runs. ``supervision`` is
    not part of it: only handles that run the service in this process have it.
    """

    @property
    def name(self) -> str:
        """The service's name, used in every error and event."""
        ...

    @property
    def state(self) -> State:
        """READY, BUSY, STREAMING, FAILED or CLOSED (on a remote handle: the last
        state it saw)."""
        ...

    @property
    def greeting(self) -> Any:
        """What the service yielded when primed, or None."""
        ...

    async def call(self, request: RequestT_contra, /, *, timeout: float | None = None) -> ReplyT_co:
        """Send ``request`` and return the service's reply (``timeout``: a deadline)."""
        ...

    async def __call__(
        self, request: RequestT_contra, /, *, timeout: float | None = None
    ) -> ReplyT_co:
        """Same as [`call`][]."""
        ...

    def stream(
        self, request: RequestT_contra, /, *, timeout: float | None = None
    ) -> AsyncIterator[Any]:
        """The streamed reply to ``request``, for ``async for``."""
        ...

    async def reset(self) -> None:
        """Back to waiting for a request (ends an open stream)."""
        ...

    async def throw(self, exc: BaseException | type[BaseException], /) -> Any:
        """Raise ``exc`` inside the service at its ``yield``."""
        ...

    async def restart(self) -> None:
        """Replace the service with a fresh instance from its factory."""
        ...

    async def aclose(self) -> None:
        """Close the service so its ``finally`` blocks run; closing twice is fine."""
        ...


class _Engine(Protocol):
    """What the front needs from an engine (async generator, or a wrapped sync handle)."""

    @property
    def name(self) -> str: ...
    @property
    def state(self) -> State: ...
    @property
    def supervision(self) -> SupervisionStats: ...
    @property
    def hooks(self) -> tuple[Hook, ...]: ...
    def subscribe(self, hook: Hook) -> None: ...
    def unsubscribe(self, hook: Hook) -> None: ...
    async def call(self, request: object) -> Any: ...
    async def open_stream(self, request: object) -> object:
        """The open stream's token for ``next_item`` (None: it ended at once)."""

    def is_open(self, token: Any) -> bool: ...
    async def next_item(self, token: Any) -> Any: ...
    async def cancel_stream(self, token: Any) -> None: ...
    def abandon(self, token: Any) -> object:
        """Give the service back now; what to close later (None: nothing)."""

    async def reset(self) -> None: ...
    async def throw(self, exc: BaseException | type[BaseException]) -> Any: ...
    async def restart(self) -> None: ...
    async def close(self) -> None: ...


Engine = _Engine  # the public-looking name AsyncHandle's signature shows


class AsyncHandle(Generic[RequestT, ReplyT]):
    """A service used from asyncio; steps take turns, so tasks may share it.

    ``timeout`` (seconds) bounds the wait for a turn (then ``ServiceBusyError``);
    ``0`` refuses at once when another task is in the service. A service that
    calls its own handle gets ``ReentryError`` rather than a deadlock.
    """

    __slots__ = ("_default", "_engine", "_lock", "_owner", "_pending", "_timeout")

    def __init__(self, engine: Engine, timeout: float | None = None) -> None:
        if timeout is not None and timeout < 0:
            raise ValueError(f"timeout must be >= 0 or None, got {timeout}")
        self._engine = engine
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._pending: list[Any] = []  # sources of dropped streams, closed on the next turn
        self._timeout = timeout
        self._default: float | None = None  # the handle-wide default deadline (seconds)

    # -- turns ------------------------------------------------------------------

    async def _turn(self, what: str) -> None:
        me = asyncio.current_task()
        if self._owner is me and me is not None:
            raise ReentryError(self.name, f"cannot {what}: the service called itself")
        lock = self._lock
        if lock.locked() and self._timeout is not None:
            try:
                await asyncio.wait_for(lock.acquire(), self._timeout or 1e-9)
            except TimeoutError:
                raise ServiceBusyError(
                    self.name, f"cannot {what}: still busy after {self._timeout:g}s"
                ) from None
        else:
            await lock.acquire()
        self._owner = me
        if self._pending:
            try:
                await self._close_dropped()
            except BaseException:  # cancelled while closing: the turn is given back
                self._done()
                raise

    def _done(self) -> None:
        self._owner = None
        self._lock.release()

    async def _close_dropped(self) -> None:
        pending, self._pending = self._pending, []
        for cursor in pending:
            with contextlib.suppress(Exception):
                await cursor.cancel()

    async def _locked(self, what: str, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        await self._turn(what)
        try:
            return await fn(*args)
        finally:
            self._done()

    # -- the operations ------------------------------------------------------------

    async def call(self, request: RequestT, /, *, timeout: float | None = None) -> ReplyT:
        """Send ``request`` and return the service's reply.

        ``timeout`` (or the handle's default): a deadline in seconds, counting the
        wait for a turn. Past it the call is cancelled: ``CancelledError`` arrives
        at the service's own ``await`` (a service that handles it stays READY; one
        that does not is FAILED, or restarted by its policy) and the caller gets
        [`DeadlineExceeded`][nanoservices.DeadlineExceeded]. A sync step (``to_async``) cannot
        be interrupted: the deadline is checked before it.
        """
        if timeout is not None or self._default is not None:
            return await self._call_within(request, timeout)
        await self._turn("call")
        try:
            reply: ReplyT = await self._engine.call(request)
            return reply
        finally:
            self._done()

    __call__ = call

    @overload
    def stream(
        self: AsyncHandle[RequestT, Stream[ItemT]],
        request: RequestT,
        /,
        *,
        timeout: float | None = None,
    ) -> AsyncReplyStream[ItemT]: ...

    @overload
    def stream(
        self, request: RequestT, /, *, timeout: float | None = None
    ) -> AsyncReplyStream[ReplyT]: ...

    def stream(self, request: Any, /, *, timeout: float | None = None) -> AsyncReplyStream[Any]:
        """The streamed reply to ``request``, for ``async for`` (or ``async with``).

        The request is sent on the first step (or on ``async with`` entry); the
        stream holds the service until it ends, is cancelled, or its task is
        cancelled mid-item. ``timeout`` (or the handle's default): a deadline in
        seconds from now for the whole stream; past it the step in progress is
        cancelled, the stream is closed and the caller gets
        [`DeadlineExceeded`][nanoservices.DeadlineExceeded].
        """
        if timeout is None:
            timeout = self._default
        at = _deadline.deadline_at(_deadline.check_timeout(timeout))
        return AsyncReplyStream(self, request, at, timeout)

    # -- deadlines (only with a timeout) ------------------------------------------------

    async def _call_within(self, request: RequestT, timeout: float | None) -> ReplyT:
        if timeout is None:
            timeout = self._default
        at = _deadline.deadline_at(_deadline.check_timeout(timeout))
        reply: ReplyT = await _deadline.abounded(
            self.name, request, at, timeout, self._locked, "call", self._engine.call, request
        )
        return reply

    @property
    def timeout(self) -> float | None:
        """The handle-wide default deadline in seconds for ``call`` and ``stream``
        (None: none); a call's own ``timeout=`` overrides it."""
        return self._default

    @timeout.setter
    def timeout(self, seconds: float | None) -> None:
        self._default = _deadline.check_timeout(seconds)

    async def reset(self) -> None:
        """Back to waiting for a request: end an open stream; restart a failed service."""
        await self._locked("reset", self._engine.reset)

    async def throw(self, exc: BaseException | type[BaseException], /) -> Any:
        """Raise ``exc`` inside the service at its current ``yield``."""
        return await self._locked("throw", self._engine.throw, exc)

    async def restart(self) -> None:
        """Replace the service with a fresh instance from its factory (state is lost)."""
        await self._locked("restart", self._engine.restart)

    async def aclose(self) -> None:
        """Close the service once the current turn is over: its ``finally`` blocks run."""
        await self._locked("close", self._engine.close)

    async def __aenter__(self) -> AsyncHandle[RequestT, ReplyT]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def name(self) -> str:
        """The service's name, used in every error."""
        return self._engine.name

    @property
    def state(self) -> State:
        """READY, BUSY, STREAMING, FAILED or CLOSED."""
        return self._engine.state

    @property
    def greeting(self) -> Any:
        """What the service yielded when primed, or None."""
        return getattr(self._engine, "greeting", None)

    @property
    def supervision(self) -> SupervisionStats:
        """What the restart policy did: failures, restarts, last error."""
        return self._engine.supervision

    @property
    def hooks(self) -> tuple[Hook, ...]:
        """The hooks subscribed to this service's events (tracers, statistics)."""
        return self._engine.hooks

    def subscribe(self, hook: Hook) -> None:
        """Report this service's events to ``hook`` (tracing, statistics).

        The events and their order are the sync handle's. With no hook the
        call path is bare; the first hook switches it to a timed or traced
        send once, not a check per call.
        """
        self._engine.subscribe(hook)

    def unsubscribe(self, hook: Hook) -> None:
        """Stop reporting to ``hook``; with no hook left the call path is bare again."""
        self._engine.unsubscribe(hook)

    @property
    def local(self) -> LocalHandle[Any, Any] | None:
        """The local handle behind a wrapped sync handle (the shared handle's own
        local, for ``to_async(h.shared())``), for hooks and inspection; else None."""
        if not isinstance(self._engine, SyncEngine):
            return None
        handle = self._engine.handle
        return handle.local if isinstance(handle, SharedHandle) else handle

    def __repr__(self) -> str:
        return f"<AsyncHandle {self.name!r} {self.state.value}>"


class AsyncReplyStream(Generic[ItemT]):
    """The items of one streamed reply, pulled lazily with ``async for``.

    Dropping it mid-way (a ``break``) cannot await the source's cleanup, so the
    service is given back at once and the source is closed on the handle's next
    turn; use ``async with`` or [`aclose`][] to close it right away.
    """

    __slots__ = ("__weakref__", "_at", "_handle", "_opened", "_timeout", "_token", "request")

    def __init__(
        self,
        handle: AsyncHandle[Any, Any],
        request: object,
        at: float | None = None,
        timeout: float | None = None,
    ) -> None:
        self._handle = handle
        self._token: Any = None
        self._opened = False
        self.request = request
        self._at = at  # the deadline (``time.monotonic()``), or None
        self._timeout = timeout

    async def open(self) -> AsyncReplyStream[ItemT]:
        """Send the request now (done by the first step if not called)."""
        if not self._opened:
            self._opened = True
            if self._at is not None:
                self._token = await self._bounded(self._handle._engine.open_stream, self.request)
                return self
            self._token = await self._handle._locked(
                "stream", self._handle._engine.open_stream, self.request
            )
        return self

    async def _bounded(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """One step of the stream under its deadline; past it the stream is closed."""
        handle = self._handle
        try:
            return await _deadline.abounded(
                handle.name, self.request, self._at, self._timeout, handle._locked, "stream", fn,
                *args,
            )  # fmt: skip
        except DeadlineExceeded:
            if self.is_open:  # the deadline passed between steps: close it now
                await handle._locked("cancel", handle._engine.cancel_stream, self._token)
            raise

    def __aiter__(self) -> AsyncReplyStream[ItemT]:
        return self

    async def __anext__(self) -> ItemT:
        if not self._opened:
            await self.open()
        handle = self._handle
        if not handle._engine.is_open(self._token):
            raise StopAsyncIteration
        if self._at is not None:
            item: ItemT = await self._bounded(handle._engine.next_item, self._token)
            return item
        pulled: ItemT = await handle._locked("stream", handle._engine.next_item, self._token)
        return pulled

    @property
    def is_open(self) -> bool:
        """True from the first step until the stream ends, fails or is cancelled."""
        return self._handle._engine.is_open(self._token)

    async def aclose(self) -> None:
        """Stop early: close the source; the service waits for its next request."""
        if self.is_open:
            await self._handle._locked("cancel", self._handle._engine.cancel_stream, self._token)

    cancel = aclose
    """The same as `aclose`, under the name sync streams use."""

    async def __aenter__(self) -> AsyncReplyStream[ItemT]:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __del__(self) -> None:
        if self._token is not None and self.is_open:
            with contextlib.suppress(Exception):
                source = self._handle._engine.abandon(self._token)
                if source is not None:  # an async source: closed on the handle's next turn
                    self._handle._pending.append(source)

    def __repr__(self) -> str:
        return f"<AsyncReplyStream of {self._handle.name!r} ({'open' if self.is_open else 'done'})>"


class Starting(Generic[RequestT, ReplyT]):
    """A service instance being started: ``await`` it, or ``async with`` it."""

    __slots__ = ("_engine", "_handle", "_timeout")

    def __init__(self, engine: AsyncGenEngine, timeout: float | None) -> None:
        self._engine = engine
        self._timeout = timeout
        self._handle: AsyncHandle[RequestT, ReplyT] | None = None

    async def _start(self) -> AsyncHandle[RequestT, ReplyT]:
        await self._engine.start()
        self._handle = AsyncHandle(self._engine, timeout=self._timeout)
        return self._handle

    def __await__(self) -> Generator[Any, None, AsyncHandle[RequestT, ReplyT]]:
        return self._start().__await__()

    async def __aenter__(self) -> AsyncHandle[RequestT, ReplyT]:
        return await self._start()

    async def __aexit__(self, *exc_info: object) -> None:
        if self._handle is not None:
            await self._handle.aclose()


class AsyncServiceFactory(Generic[P, RequestT, ReplyT]):
    """Calling it starts an instance: ``h = await counter(100)``."""

    __slots__ = ("__dict__", "spec")

    def __init__(self, spec: ServiceSpec) -> None:
        self.spec = spec
        functools.update_wrapper(self, spec.fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Starting[RequestT, ReplyT]:
        return Starting(AsyncGenEngine(self.spec, args, kwargs), None)

    @property
    def name(self) -> str:
        return self.spec.name

    def __repr__(self) -> str:
        return f"<async service factory {self.spec.name!r}>"


def _request_type_of(fn: Callable[..., Any]) -> object:
    """The request type from an ``AsyncGenerator[Reply, Request]`` annotation, or Any."""
    try:
        ret = typing.get_type_hints(fn).get("return")
    except Exception:
        return Any
    if typing.get_origin(ret) is collections.abc.AsyncGenerator:
        args = typing.get_args(ret)
        if len(args) == 2:
            return args[1]
    return Any


@overload
def aservice(
    fn: Callable[P, AsyncGenerator[ReplyT, RequestT]], /
) -> AsyncServiceFactory[P, RequestT, ReplyT]: ...


@overload
def aservice(
    *,
    name: str | None = None,
    restart: RestartPolicy | None = None,
    request_type: Any = FROM_ANNOTATION,
    validate: bool = True,
) -> Callable[
    [Callable[P, AsyncGenerator[ReplyT, RequestT]]], AsyncServiceFactory[P, RequestT, ReplyT]
]: ...


def aservice(
    fn: Callable[..., AsyncGenerator[Any, Any]] | None = None,
    /,
    *,
    name: str | None = None,
    restart: RestartPolicy | None = None,
    request_type: Any = FROM_ANNOTATION,
    validate: bool = True,
) -> (
    AsyncServiceFactory[Any, Any, Any]
    | Callable[[Callable[..., AsyncGenerator[Any, Any]]], AsyncServiceFactory[Any, Any, Any]]
):
    """Make an async service factory from an async generator function (native protocol).

    Options as for ``@service``: the request type is read from the
    ``AsyncGenerator[Reply, Request]`` annotation and checked before the
    service sees a request.
    """

    def decorate(fn: Callable[..., AsyncGenerator[Any, Any]]) -> AsyncServiceFactory[Any, Any, Any]:
        rtype = _request_type_of(fn) if request_type is FROM_ANNOTATION else request_type
        spec = ServiceSpec(
            fn=fn,  # type: ignore[arg-type]  # the spec holds either kind of generator function
            name=name or str(getattr(fn, "__name__", repr(fn))),
            protocol=NATIVE,
            restart=restart,
            request_type=rtype,
            check=build_check(rtype) if validate else None,
        )
        return AsyncServiceFactory(spec)

    return decorate if fn is None else decorate(fn)


def to_async(
    handle: LocalHandle[RequestT, ReplyT] | SharedHandle[RequestT, ReplyT],
    *,
    offload: bool = False,
    timeout: float | None = None,
) -> AsyncHandle[RequestT, ReplyT]:
    """An async handle over a sync handle (``LocalHandle`` or ``SharedHandle``).

    Steps run inline on the event loop by default (a nanoservice step is short);
    pass ``offload=True`` for a service that blocks, to run its steps in the
    default executor. Either way the steps take turns.
    """
    return AsyncHandle(SyncEngine(handle, offload), timeout=timeout)
