"""Nanoservices on Ray: the same generator functions, in Ray actors, behind the same handle.

A :class:`ServiceHostPool` starts a few ``ServiceHost`` actors; each hosts many
service instances (sessions), each a :class:`~nanoservices.LocalHandle`, so a
service on Ray is driven by the very protocol code that drives it locally.
``pool.start(factory, *args)`` places a new session on one of the actors and
returns a :class:`RayHandle`: call, stream, reset, throw, close, state, name,
context manager, like every handle. ``handle.aio()`` is its awaitable twin.

Faults: Ray restarts a dead host actor (``max_restarts``); the handle then
restarts its service on it under the service's restart policy, and the caller
gets one :class:`~nanoservices.ServiceFailedError` naming the service (for the
request in flight, or the first request after the loss: the service's state is
gone), then service again. Errors cross Ray as nanoservices errors, with their
cause re-attached.

Ray is imported here only; install it with the ``ray`` extra.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import time
import weakref
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, NoReturn, TypeVar

import ray
from ray.exceptions import ActorDiedError, RayError

from nanoservices import (
    OnFailure,
    RestartLimitError,
    RestartPolicy,
    ServiceBusyError,
    ServiceClosedError,
    ServiceFactory,
    ServiceFailedError,
    State,
    TransportError,
)

from ._ray_host import UNKNOWN_SESSION, Failure, HostCore, SessionId, load_factory

__all__ = [
    "AsyncRayHandle",
    "AsyncRayStream",
    "RayBinding",
    "RayHandle",
    "RayStream",
    "ServiceHostPool",
]

RequestT = TypeVar("RequestT")
ReplyT = TypeVar("ReplyT")

Placement = Literal["round_robin", "least_loaded"]

#: The Ray actor class: a :class:`HostCore` in its own worker process.
ServiceHost: Any = ray.remote(HostCore)

#: Restarts allowed after a host actor is lost, for services with no policy of their own.
DEFAULT_RESTART: RestartPolicy = OnFailure(3, per=60.0)

_FIRST_BATCH = 8  # items pulled with the stream's opening call: low latency, little read-ahead
_REOPEN_TIMEOUT = 30.0  # seconds to wait for Ray to bring a lost host back


def _path_of(
    service: str | ServiceFactory[Any, Any, Any],
) -> tuple[str, dict[str, Any] | None]:
    """The import path a host uses to start ``service``, and options to apply to it.

    A factory travels by name (``module:attribute``), never pickled: every node
    imports the same code. Options set with ``with_options`` travel alongside.
    """
    if isinstance(service, str):
        load_factory(service)  # fail here, with a clear error, not in the actor
        return service, None
    spec = service.spec
    path = f"{spec.fn.__module__}:{spec.fn.__qualname__}"
    try:
        base = load_factory(path).spec
    except (ImportError, AttributeError, TypeError) as exc:
        raise TypeError(
            f"{service!r} cannot be started on Ray: its factory must be importable as "
            f"{path} on every node (define services at module level, not in __main__)"
        ) from exc
    if base == spec:
        return path, None
    options = {
        key: getattr(spec, key)
        for key in ("name", "restart")
        if getattr(spec, key) != getattr(base, key)
    }
    if spec.request_type != base.request_type:
        options["request_type"] = spec.request_type
    return path, options


class ServiceHostPool:
    """A pool of ``ServiceHost`` actors that many sessions share.

    Args:
        size: number of host actors.
        num_cpus: CPUs each actor reserves (Ray scheduling).
        memory: memory each actor reserves, in bytes.
        resources: custom resources each actor reserves.
        max_restarts: how often Ray restarts a dead host (-1: always); whether
            each service on it comes back is its handle's restart policy.
        placement: ``"round_robin"`` or ``"least_loaded"`` (fewest open
            sessions from this pool object); named sessions go by a hash of
            their name so every caller finds them.
        name: name the actors ``{name}-{i}`` (in ``namespace``) so other
            processes reach the same hosts; an existing named pool is joined.
        detached: named actors outlive this driver (shut them down explicitly).
        options: any other ``ray.remote`` actor options.
    """

    def __init__(
        self,
        size: int = 1,
        *,
        num_cpus: float = 1.0,
        memory: int | None = None,
        resources: dict[str, float] | None = None,
        max_restarts: int = -1,
        placement: Placement = "round_robin",
        name: str | None = None,
        namespace: str | None = None,
        detached: bool = False,
        options: dict[str, Any] | None = None,
    ) -> None:
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        if placement not in ("round_robin", "least_loaded"):
            raise ValueError(
                f"placement must be 'round_robin' or 'least_loaded', not {placement!r}"
            )
        actor_options: dict[str, Any] = {
            "num_cpus": num_cpus,
            "max_restarts": max_restarts,
            "max_task_retries": 0,  # a request is never re-run behind the caller's back
            **(options or {}),
        }
        if memory is not None:
            actor_options["memory"] = memory
        if resources:
            actor_options["resources"] = resources
        if detached:
            actor_options["lifetime"] = "detached"
        self.name = name
        self.placement = placement
        self.actors: list[Any] = []
        for index in range(size):
            named = {}
            if name is not None:
                named = {"name": f"{name}-{index}", "namespace": namespace, "get_if_exists": True}
            self.actors.append(ServiceHost.options(**actor_options, **named).remote())
        self._loads = [0] * size
        self._turn = itertools.count()

    # -- placement ------------------------------------------------------------------

    def _place(self, session: SessionId | None) -> int:
        if session is not None:
            return zlib.crc32(str(session).encode()) % len(self.actors)
        if self.placement == "least_loaded":
            return min(range(len(self.actors)), key=self._loads.__getitem__)
        return next(self._turn) % len(self.actors)

    def _released(self, index: int) -> None:
        self._loads[index] = max(0, self._loads[index] - 1)

    # -- starting services ----------------------------------------------------------

    def start(
        self,
        service: str | ServiceFactory[Any, Any, Any],
        /,
        *args: Any,
        session: str | None = None,
        restart: RestartPolicy | None = None,
        batch: int = 256,
        **kwargs: Any,
    ) -> RayHandle[Any, Any]:
        """Start an instance of ``service`` (a factory, or ``"module:factory"``) on a host.

        Args:
            session: a name for the instance; every ``start`` with that name
                (from any process, on a named pool) joins the same instance.
            restart: the restart policy when the host actor is lost (default:
                the service's own, else ``DEFAULT_RESTART``).
            batch: the most streamed items fetched per round trip (1: strictly
                one at a time).
            *args: the factory's positional arguments (they must pickle).
            **kwargs: the factory's keyword arguments (they must pickle).
        """
        path, options = _path_of(service)
        index = self._place(session)
        actor = self.actors[index]
        opened = _get_checked(
            actor.open.remote(session, path, args, kwargs, options, session is not None), path
        )
        session_id, name, incarnation = opened
        self._loads[index] += 1
        spec_restart = load_factory(path, options).spec.restart
        return RayHandle(
            _Target(actor, path, args, kwargs, options, self, index),
            session_id,
            name,
            incarnation,
            restart or spec_restart or DEFAULT_RESTART,
            batch,
        )

    def start_many(
        self, service: str | ServiceFactory[Any, Any, Any], count: int, /, *args: Any, **kwargs: Any
    ) -> list[RayHandle[Any, Any]]:
        """Start ``count`` instances with one round trip per host (spread evenly)."""
        path, options = _path_of(service)
        if options:
            raise ValueError("start_many takes a factory without with_options() changes")
        shares = [
            count // len(self.actors) + (i < count % len(self.actors))
            for i in range(len(self.actors))
        ]
        refs = [
            a.open_many.remote(path, n, args, kwargs)
            for a, n in zip(self.actors, shares, strict=True)
        ]
        incarnations = ray.get([a.ping.remote() for a in self.actors])
        spec = load_factory(path).spec
        handles: list[RayHandle[Any, Any]] = []
        for index, sessions in enumerate(ray.get(refs)):
            target = _Target(self.actors[index], path, args, kwargs, None, self, index)
            self._loads[index] += len(sessions)
            handles.extend(
                RayHandle(
                    target, s, spec.name, incarnations[index], spec.restart or DEFAULT_RESTART, 256
                )
                for s in sessions
            )
        return handles

    # -- the pool itself --------------------------------------------------------------

    def loads(self) -> list[int]:
        """How many sessions each host holds right now (asks every host)."""
        return list(ray.get([a.count.remote() for a in self.actors]))

    def memory(self) -> list[dict[str, int]]:
        """Each host's resident memory (bytes) and session count."""
        return list(ray.get([a.memory.remote() for a in self.actors]))

    def shutdown(self) -> None:
        """Kill the host actors (for good): every session on them ends."""
        for actor in self.actors:
            ray.kill(actor, no_restart=True)
        self.actors = []

    def __enter__(self) -> ServiceHostPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return f"<ServiceHostPool{name} of {len(self.actors)} hosts, {self.placement}>"


def _get_checked(ref: Any, name: str) -> Any:
    """``ray.get``, with Ray's errors and failure records turned into ours."""
    try:
        result = ray.get(ref)
    except RayError as exc:
        raise TransportError(name, f"the Ray host could not be reached: {exc}") from exc
    if type(result) is Failure:
        raise result.rebuild()
    return result


@dataclass(slots=True)
class _Target:
    """Where a session lives and how to start it again there."""

    actor: Any
    path: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    options: dict[str, Any] | None
    pool: ServiceHostPool | None = None
    index: int = 0


class _Lost(Exception):
    """Internal: the host lost this session (its actor died or was restarted)."""


class _Base:
    """What the sync and async Ray handles share: their session and the error logic.

    The twins differ only in how they wait for Ray (``ray.get`` or ``await``).
    """

    __slots__ = (
        "__weakref__",
        "_batch",
        "_call",
        "_closed",
        "_dead",
        "_incarnation",
        "_name",
        "_open",
        "_policy",
        "_recent",
        "_restarts",
        "_session",
        "_target",
    )

    def __init__(
        self,
        target: _Target,
        session: SessionId,
        name: str,
        incarnation: str,
        policy: RestartPolicy,
        batch: int,
    ) -> None:
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        self._target = target
        self._session = session
        self._name = name
        self._incarnation = incarnation
        self._policy = policy
        self._batch = batch
        self._call = target.actor.call.remote
        self._closed = False
        self._dead: BaseException | None = None  # the host is gone for good
        self._open: Any = None  # the caller's open stream (a weakref), which holds the service
        self._recent: collections.deque[float] = collections.deque()
        self._restarts = 0

    @property
    def name(self) -> str:
        """The service's name, as in its errors."""
        return self._name

    @property
    def session(self) -> SessionId:
        """This instance's id on its host."""
        return self._session

    @property
    def restarts(self) -> int:
        """How often the service was restarted because its host actor was lost."""
        return self._restarts

    # -- error handling (off the hot path) ----------------------------------------------

    def _refuse_streaming(self, what: str) -> None:
        opened = self._open() if self._open is not None else None
        if opened is None or not opened.is_open:
            self._open = None
            return
        raise ServiceBusyError(
            self._name,
            f"cannot {what}: a stream is open and holds the service "
            "(finish it, cancel() it, or reset() the service first)",
        )

    def _refuse_if_gone(self, what: str) -> None:
        if self._closed:
            raise ServiceClosedError(
                self._name,
                f"cannot {what}: the service is closed (create a new one from its factory)",
            )
        if self._dead is not None:
            raise TransportError(
                self._name, f"cannot {what}: its Ray host is gone ({self._dead})"
            ) from self._dead

    def _sort(self, failure: Failure, request: object) -> NoReturn:
        """Raise the error a failure record stands for (``_Lost`` if the host lost us)."""
        if failure.kind == UNKNOWN_SESSION:
            self._refuse_if_gone("call")
            if failure.incarnation != self._incarnation:
                raise _Lost(f"its Ray host actor was restarted (now {failure.incarnation[:8]})")
            self._closed = True
            raise ServiceClosedError(self._name, "another handle on this session closed it")
        raise failure.rebuild()

    def _may_restart(self, request: object, cause: BaseException) -> None:
        """Apply the restart policy to a lost host; raise if it says no."""
        self._refuse_if_gone("call")
        if not self._policy.allows(self._recent, time.monotonic()):
            self._dead = cause
            raise RestartLimitError(
                self._name, request, self._restarts, f"{type(cause).__name__}: {cause}"
            ) from cause

    def _restarted(
        self, request: object, cause: BaseException, error: BaseException | None
    ) -> NoReturn:
        """Raise the error that tells the caller the service was lost (and restarted)."""
        if error is not None:
            self._dead = error
            raise TransportError(
                self._name,
                f"its Ray host actor was lost ({type(cause).__name__}) and could not be "
                f"reached again to restart it: {error}",
            ) from cause
        self._restarts += 1
        self._recent.append(time.monotonic())
        raise ServiceFailedError(
            self._name,
            request,
            f"lost with its Ray host actor ({type(cause).__name__}: {cause}) while handling "
            f"request {request!r:.60}; restarted from its factory (its state is lost)",
            restarted=True,
        ) from cause

    def _reopen_ref(self) -> Any:
        t = self._target
        return t.actor.open.remote(self._session, t.path, t.args, t.kwargs, t.options, True)

    def _reopened(self, result: Any) -> None:
        if type(result) is Failure:
            raise result.rebuild()
        self._incarnation = result[2]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name!r} session {self._session!r}>"


class RayHandle(_Base, Generic[RequestT, ReplyT]):
    """A service instance in a Ray actor, behind the handle interface.

    Made by :meth:`ServiceHostPool.start`. One caller at a time, like a local
    handle; :meth:`aio` gives an awaitable twin on the same session.
    """

    __slots__ = ()

    # -- the hot path -------------------------------------------------------------------

    def call(self, request: RequestT, /) -> ReplyT:
        """Send ``request`` to the service and return its reply."""
        if self._open is not None:
            self._refuse_streaming("call")
        try:
            reply = ray.get(self._call(self._session, request))
        except RayError as exc:
            return self._lost(request, exc)
        if type(reply) is Failure:
            return self._failed(request, reply)
        return reply  # type: ignore[no-any-return]

    __call__ = call

    def _failed(self, request: object, failure: Failure) -> NoReturn:
        try:
            self._sort(failure, request)
        except _Lost as lost:
            self._lost(request, lost)

    def _lost(self, request: object, cause: BaseException) -> NoReturn:
        """The host died under this session: restart the service on it (policy allowing)."""
        self._may_restart(request, cause)
        deadline = time.monotonic() + _REOPEN_TIMEOUT
        while True:
            try:
                self._reopened(ray.get(self._reopen_ref()))
            except ActorDiedError as gone:  # Ray will not restart it (max_restarts used up)
                self._restarted(request, cause, gone)
            except RayError as again:  # restarting: tasks are refused until it is back
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                self._restarted(request, cause, again)
            self._restarted(request, cause, None)

    def _invoke(self, what: str, method: str, *args: Any, request: object = None) -> Any:
        self._refuse_if_gone(what)
        try:
            result = ray.get(getattr(self._target.actor, method).remote(self._session, *args))
        except RayError as exc:
            return self._lost(request, exc)
        if type(result) is Failure:
            return self._failed(request, result)
        return result

    # -- streams ------------------------------------------------------------------------

    def stream(self, request: RequestT, /) -> RayStream[Any]:
        """Send ``request`` and iterate its streamed reply lazily.

        Items travel in growing batches (up to ``batch`` per round trip); the
        stream holds the service until it ends or is cancelled, and leaving it
        early closes the service's source and puts the service back to READY.
        """
        if self._open is not None:
            self._refuse_streaming("stream")
        items, end = self._invoke(
            "stream", "stream_open", request, min(_FIRST_BATCH, self._batch), request=request
        )
        opened: RayStream[Any] = RayStream(self, request, items, end)
        if end is None or items:
            self._open = weakref.ref(opened)
        return opened

    def _pull(self, size: int, request: object) -> tuple[list[Any], bool | Failure | None]:
        result: tuple[list[Any], bool | Failure | None] = self._invoke(
            "stream", "stream_next", size, request=request
        )
        return result

    def _cancel_remote(self, request: object, wait: bool) -> None:
        ref = self._target.actor.stream_cancel.remote(self._session)
        if wait:
            failure = _get_checked(ref, self._name)
            if failure is not None:
                self._failed(request, failure)

    # -- the rest of the interface ------------------------------------------------------

    def reset(self) -> None:
        """Back to waiting for a request: an open stream ends; a failed service restarts."""
        self._drop_stream()
        self._invoke("reset", "reset")

    def restart(self) -> None:
        """Replace the service with a fresh instance from its factory (state is lost)."""
        self._drop_stream()
        self._invoke("restart", "restart")

    def throw(self, exc: BaseException | type[BaseException], /) -> Any:
        """Raise ``exc`` inside the service; return what it yields next."""
        self._drop_stream()
        return self._invoke("throw", "throw", exc, request=exc)

    def _drop_stream(self) -> None:
        opened = self._open() if self._open is not None else None
        self._open = None
        if opened is not None:
            opened._end()  # the host ends it as part of the request that follows

    @property
    def state(self) -> State:
        """READY, STREAMING, FAILED or CLOSED (asks the host, except for what the
        caller knows: its own open stream, a closed or lost handle)."""
        if self._closed:
            return State.CLOSED
        if self._dead is not None:
            return State.FAILED
        opened = self._open() if self._open is not None else None
        if opened is not None and opened.is_open:
            return State.STREAMING
        try:
            result = ray.get(self._target.actor.state.remote(self._session))
        except RayError:
            return State.FAILED
        if type(result) is Failure:
            return State.FAILED if result.kind != UNKNOWN_SESSION else State.CLOSED
        return State(result)

    def close(self) -> None:
        """Close the service (its ``finally`` blocks run, on its host). Twice is fine."""
        if self._closed:
            return
        self._drop_stream()
        self._closed = True
        target = self._target
        if target.pool is not None:
            target.pool._released(target.index)
        if self._dead is not None:
            return
        try:
            failure = ray.get(target.actor.close.remote(self._session))
        except RayError:
            return  # its host is gone: nothing is left to close
        if failure is not None:
            raise failure.rebuild()

    def __enter__(self) -> RayHandle[RequestT, ReplyT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def aio(self) -> AsyncRayHandle[RequestT, ReplyT]:
        """An awaitable twin of this handle, on the same session (same service)."""
        return AsyncRayHandle(
            self._target, self._session, self._name, self._incarnation, self._policy, self._batch
        )


class RayStream(Generic[ReplyT]):
    """The items of one streamed reply from a Ray-hosted service, pulled lazily.

    Iterator and context manager; ``cancel()`` (or leaving a ``for`` loop early)
    ends it and puts the service back to READY.
    """

    __slots__ = ("__weakref__", "_end_mark", "_handle", "_items", "_next_size", "request")

    def __init__(
        self,
        handle: RayHandle[Any, Any],
        request: object,
        items: list[Any],
        end: bool | Failure | None,
    ) -> None:
        self._handle = handle
        self.request = request
        self._items: collections.deque[Any] = collections.deque(items)
        self._end_mark = end
        self._next_size = min(2 * _FIRST_BATCH, handle._batch)

    def __iter__(self) -> RayStream[ReplyT]:
        return self

    def __next__(self) -> ReplyT:
        items = self._items
        if items:
            return items.popleft()  # type: ignore[no-any-return]
        end = self._end_mark
        if end is None:
            items.extend(self._fetch())
            if items:
                return items.popleft()  # type: ignore[no-any-return]
            end = self._end_mark
        self._finish()
        if type(end) is Failure:
            self._end_mark = True
            self._handle._failed(self.request, end)
        raise StopIteration

    def _fetch(self) -> list[Any]:
        handle = self._handle
        size = self._next_size
        self._next_size = min(2 * size, handle._batch)
        try:
            items, self._end_mark = handle._pull(size, self.request)
        except BaseException:
            self._end_mark = True
            self._finish()
            raise
        return items

    def _finish(self) -> None:
        handle = self._handle
        if handle._open is not None and handle._open() is self:
            handle._open = None

    def _end(self) -> None:
        """Forget what is left (the handle reset or closed the service)."""
        self._items.clear()
        self._end_mark = True

    @property
    def is_open(self) -> bool:
        """True until the stream ends, fails or is cancelled."""
        return bool(self._items) or self._end_mark is None or type(self._end_mark) is Failure

    def cancel(self) -> None:
        """Stop early: the service goes back to waiting for its next request."""
        self._cancel(wait=True)

    close = cancel

    def _cancel(self, wait: bool) -> None:
        open_remotely = self._end_mark is None
        self._end()
        self._finish()
        if open_remotely and not self._handle._closed and self._handle._dead is None:
            self._handle._cancel_remote(self.request, wait)

    def __enter__(self) -> RayStream[ReplyT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()

    def __del__(self) -> None:
        if self._end_mark is None:  # dropped mid-stream (a ``break``): tell the host, don't wait
            try:
                self._cancel(wait=False)
            except Exception:
                pass

    def __repr__(self) -> str:
        state = "open" if self.is_open else "done"
        return f"<RayStream of {self._handle.name!r} ({state})>"


class AsyncRayHandle(_Base, Generic[RequestT, ReplyT]):
    """The awaitable twin of :class:`RayHandle`: the same verbs, awaited.

    Made by ``RayHandle.aio()``; ``async for item in h.stream(x)``.
    """

    __slots__ = ()

    async def call(self, request: RequestT, /) -> ReplyT:
        """Send ``request`` to the service and return its reply."""
        if self._open is not None:
            self._refuse_streaming("call")
        try:
            reply = await self._call(self._session, request)
        except RayError as exc:
            return await self._lost(request, exc)
        if type(reply) is Failure:
            return await self._failed(request, reply)
        return reply  # type: ignore[no-any-return]

    __call__ = call

    async def _failed(self, request: object, failure: Failure) -> NoReturn:
        try:
            self._sort(failure, request)
        except _Lost as lost:
            await self._lost(request, lost)

    async def _lost(self, request: object, cause: BaseException) -> NoReturn:
        self._may_restart(request, cause)
        deadline = time.monotonic() + _REOPEN_TIMEOUT
        while True:
            try:
                self._reopened(await self._reopen_ref())
            except ActorDiedError as gone:
                self._restarted(request, cause, gone)
            except RayError as again:
                if time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                    continue
                self._restarted(request, cause, again)
            self._restarted(request, cause, None)

    async def _invoke(self, what: str, method: str, *args: Any, request: object = None) -> Any:
        self._refuse_if_gone(what)
        try:
            result = await getattr(self._target.actor, method).remote(self._session, *args)
        except RayError as exc:
            return await self._lost(request, exc)
        if type(result) is Failure:
            return await self._failed(request, result)
        return result

    def stream(self, request: RequestT, /) -> AsyncRayStream[Any]:
        """Send ``request``; ``async for`` over its streamed reply (opened on first step)."""
        if self._open is not None:
            self._refuse_streaming("stream")
        opened: AsyncRayStream[Any] = AsyncRayStream(self, request)
        self._open = weakref.ref(opened)
        return opened

    async def reset(self) -> None:
        """Back to waiting for a request: an open stream ends; a failed service restarts."""
        await self._drop_stream()
        await self._invoke("reset", "reset")

    async def restart(self) -> None:
        """Replace the service with a fresh instance from its factory (state is lost)."""
        await self._drop_stream()
        await self._invoke("restart", "restart")

    async def throw(self, exc: BaseException | type[BaseException], /) -> Any:
        """Raise ``exc`` inside the service; return what it yields next."""
        await self._drop_stream()
        return await self._invoke("throw", "throw", exc, request=exc)

    async def _drop_stream(self) -> None:
        opened = self._open() if self._open is not None else None
        self._open = None
        if opened is not None:
            opened._end()

    async def state(self) -> State:
        """READY, STREAMING, FAILED or CLOSED (awaited: it may ask the host)."""
        if self._closed:
            return State.CLOSED
        if self._dead is not None:
            return State.FAILED
        opened = self._open() if self._open is not None else None
        if opened is not None and opened.is_open:
            return State.STREAMING
        try:
            result = await self._target.actor.state.remote(self._session)
        except RayError:
            return State.FAILED
        if type(result) is Failure:
            return State.FAILED if result.kind != UNKNOWN_SESSION else State.CLOSED
        return State(result)

    async def close(self) -> None:
        """Close the service (its ``finally`` blocks run, on its host). Twice is fine."""
        if self._closed:
            return
        await self._drop_stream()
        self._closed = True
        target = self._target
        if target.pool is not None:
            target.pool._released(target.index)
        if self._dead is not None:
            return
        try:
            failure = await target.actor.close.remote(self._session)
        except RayError:
            return
        if failure is not None:
            raise failure.rebuild()

    async def __aenter__(self) -> AsyncRayHandle[RequestT, ReplyT]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class AsyncRayStream(Generic[ReplyT]):
    """The items of one streamed reply, for ``async for``; ``await cancel()`` ends it early."""

    __slots__ = (
        "__weakref__",
        "_end_mark",
        "_handle",
        "_items",
        "_next_size",
        "_started",
        "request",
    )

    def __init__(self, handle: AsyncRayHandle[Any, Any], request: object) -> None:
        self._handle = handle
        self.request = request
        self._items: collections.deque[Any] = collections.deque()
        self._end_mark: bool | Failure | None = None
        self._started = False
        self._next_size = min(_FIRST_BATCH, handle._batch)

    def __aiter__(self) -> AsyncIterator[ReplyT]:
        return self

    async def __anext__(self) -> ReplyT:
        items = self._items
        if items:
            return items.popleft()  # type: ignore[no-any-return]
        if self._end_mark is None:
            items.extend(await self._fetch())
            if items:
                return items.popleft()  # type: ignore[no-any-return]
        end = self._end_mark
        self._finish()
        if type(end) is Failure:
            self._end_mark = True
            await self._handle._failed(self.request, end)
        raise StopAsyncIteration

    async def _fetch(self) -> list[Any]:
        handle = self._handle
        size = self._next_size
        self._next_size = min(2 * size, handle._batch)
        try:
            if not self._started:
                self._started = True
                items, self._end_mark = await handle._invoke(
                    "stream", "stream_open", self.request, size, request=self.request
                )
            else:
                items, self._end_mark = await handle._invoke(
                    "stream", "stream_next", size, request=self.request
                )
        except BaseException:
            self._end_mark = True
            self._finish()
            raise
        return list(items)

    def _finish(self) -> None:
        handle = self._handle
        if handle._open is not None and handle._open() is self:
            handle._open = None

    def _end(self) -> None:
        self._items.clear()
        self._end_mark = True

    @property
    def is_open(self) -> bool:
        """True until the stream ends, fails or is cancelled."""
        return bool(self._items) or self._end_mark is None or type(self._end_mark) is Failure

    async def cancel(self) -> None:
        """Stop early: the service goes back to waiting for its next request."""
        open_remotely = self._started and self._end_mark is None
        self._end()
        self._finish()
        handle = self._handle
        if open_remotely and not handle._closed and handle._dead is None:
            failure = await handle._target.actor.stream_cancel.remote(handle._session)
            if failure is not None:
                await handle._failed(self.request, failure)

    aclose = cancel

    async def __aenter__(self) -> AsyncRayStream[ReplyT]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.cancel()


@dataclass(frozen=True)
class RayBinding:
    """A registry binding: a name that lives on Ray (``registry.bind("md5", RayBinding(...))``).

    The host actors are named (``{pool}-{i}`` in ``namespace``); with a
    ``session``, the instance is named too, so every process that connects
    an equal binding reaches the same service instance.
    """

    target: str  # "module:factory"
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    session: str | None = None  # None: a fresh instance per handle
    pool: str = "nanoservices"
    size: int = 1
    namespace: str = "nanoservices"
    num_cpus: float = 1.0
    restart: RestartPolicy | None = None

    kind: ClassVar[str] = "ray"

    @property
    def owned(self) -> bool:
        """Whether the registry may close what it connected (not a shared named session)."""
        return self.session is None

    def connect(self, name: str) -> RayHandle[Any, Any]:
        """The :class:`~nanoservices.Binding` method: a handle on the bound service."""
        return self.make_handle()

    def describe(self) -> str:
        where = f"session {self.session!r}" if self.session else "a fresh instance"
        return f"{self.target} on Ray actors {self.pool}-* ({self.namespace}), {where}"

    def make_handle(self) -> RayHandle[Any, Any]:
        """A handle on the bound service (starting the hosts and the instance if needed)."""
        pool = ServiceHostPool(
            self.size, name=self.pool, namespace=self.namespace, num_cpus=self.num_cpus
        )
        return pool.start(
            self.target, *self.args, session=self.session, restart=self.restart, **self.kwargs
        )
