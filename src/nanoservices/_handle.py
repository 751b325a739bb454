"""The handle interface, and the local handle that drives a generator in this thread.

The local handle is the product's promise: a call costs close to a bare
``gen.send``. Its hot path is ``return self._sink.send(request)`` inside a ``try``
(free in 3.11 until something raises). Everything else happens off that path:

* state is not checked per call: ``_sink`` *is* the state. READY points it at
  the generator itself (or at a validating or traced wrapper when the service
  asked for one); STREAMING, FAILED and CLOSED point it at one that refuses.
  Calling ``gen.send`` through the generator (not a stored bound method) lets
  CPython 3.11 specialize the call: about 20% off the whole call;
* concurrent use is detected by the generator itself ("generator already
  executing") and turned into a clear error on the error path;
* failures, restarts and the end of the generator are sorted out in
  ``_recover``, which runs only when something was raised.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from types import FrameType, GeneratorType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload, runtime_checkable

from . import _protocol
from ._errors import (
    InvalidRequestError,
    ProtocolViolationError,
    ReentryError,
    ServiceBusyError,
    ServiceError,
    ServiceFailedError,
    ServiceStartError,
    Thrown,
    short_repr,
)
from ._events import Event, EventKind, Hook, call_timers, emit, now_ns
from ._failure import judge_failure, restart_failed, stream_failure
from ._protocol import AnyGenerator, Cursor, GeneratorReturned, Refusal, Refused, Stream
from ._state import Op, State, advance, refusal
from ._supervise import Never, Supervision, SupervisionStats
from ._validate import InstanceCheck

if TYPE_CHECKING:
    from ._service import ServiceSpec
    from ._shared import SharedHandle

__all__ = ["Handle", "LocalHandle", "ReplyStream"]

RequestT = TypeVar("RequestT")
ReplyT = TypeVar("ReplyT")
ItemT = TypeVar("ItemT")
RequestT_contra = TypeVar("RequestT_contra", contravariant=True)
ReplyT_co = TypeVar("ReplyT_co", covariant=True)

Send = Callable[[Any], Any]

_READY = State.READY
_NO_CONFIG: tuple[tuple[Any, ...], dict[str, Any]] = ((), {})


class _Unknown:
    def __repr__(self) -> str:
        return "<a request sent through hot()>"


UNKNOWN_REQUEST: Any = _Unknown()


@runtime_checkable
class Handle(Protocol[RequestT_contra, ReplyT_co]):
    """What every handle offers, whatever the transport: local, shared, async,
    remote or Ray. Callers type against this and cannot tell where a service runs.
    """

    @property
    def name(self) -> str:
        """The service's name, used in every error and event."""
        ...

    @property
    def state(self) -> State:
        """READY, BUSY, STREAMING, FAILED or CLOSED."""
        ...

    def call(self, request: RequestT_contra, /) -> ReplyT_co:
        """Send ``request`` and return the service's reply."""
        ...

    def __call__(self, request: RequestT_contra, /) -> ReplyT_co:
        """Same as :meth:`call`, at about 1.8 times its cost (3.9x a bare send against
        ``call``'s 2.1x in the README's run).

        Why: CPython's specializing interpreter turns ``h.call(x)`` into a direct
        frame push, but has no specialization for calling an instance, so ``h(x)``
        goes through the type's ``__call__`` slot in C, which looks the method up
        and enters the interpreter again from C on every call. Use ``h.call`` (or
        ``hot()``) in hot loops.
        """
        ...

    def stream(self, request: RequestT_contra, /) -> Iterator[Any]:
        """Send ``request`` and iterate its streamed reply lazily, item by item."""
        ...

    def reset(self) -> None:
        """Back to waiting for a request (ends an open stream)."""
        ...

    def throw(self, exc: BaseException | type[BaseException], /) -> Any:
        """Raise ``exc`` inside the service at its ``yield``; return what it yields next."""
        ...

    def close(self) -> None:
        """Close the service so its ``finally`` blocks run; closing twice is fine."""
        ...


class _Extra:
    """What few handles need, made on first use so an idle handle stays small."""

    __slots__ = ("greeting", "hooks", "name", "result", "supervision")

    def __init__(self) -> None:
        self.name: str | None = None
        self.greeting: Any = None
        self.result: Any = None
        self.hooks: list[Hook] = []
        self.supervision: Supervision | None = None


def _refuser(state: State, name: str) -> Send:
    """The send of a handle that must refuse calls in ``state``."""

    def refuse(request: object) -> Any:
        raise refusal(state, Op.CALL, name, request)

    return refuse


def _validating(send: Send, check: Callable[[object], str | None], name: str) -> Send:
    """A send that refuses requests failing ``check`` before the generator sees them.

    A plain ``isinstance`` check is inlined (one frame fewer per call): typed
    services are the common case.
    """
    if isinstance(check, InstanceCheck):
        classes = check.classes
        if not check.refuse_bool:

            def send_instance(request: object) -> Any:
                if isinstance(request, classes):
                    return send(request)
                raise InvalidRequestError(name, request, check(request) or "")

            return send_instance

        def send_instance_not_bool(request: object) -> Any:
            if isinstance(request, classes) and type(request) is not bool:
                return send(request)
            raise InvalidRequestError(name, request, check(request) or "")

        return send_instance_not_bool

    def send_checked(request: object) -> Any:
        reason = check(request)
        if reason is not None:
            raise InvalidRequestError(name, request, reason)
        return send(request)

    return send_checked


def _traced(send: Send, hooks: list[Hook], name: str) -> Send:
    """A send that reports each request and reply (errors are reported by ``_recover``)."""

    def send_traced(request: object) -> Any:
        start = now_ns()
        emit(hooks, Event(EventKind.REQUEST, name, request, time_ns=start))
        reply = send(request)
        end = now_ns()
        emit(hooks, Event(EventKind.REPLY, name, reply, duration_ns=end - start, time_ns=end))
        return reply

    return send_traced


def _timed(send: Send, records: tuple[Callable[[int], None], ...]) -> Send:
    """A send that only times each call, for hooks that only count (statistics)."""
    if len(records) == 1:
        record = records[0]

        def send_timed(request: object) -> Any:
            start = now_ns()
            try:
                return send(request)
            finally:
                record(now_ns() - start)

        return send_timed

    def send_timed_all(request: object) -> Any:
        start = now_ns()
        try:
            return send(request)
        finally:
            duration = now_ns() - start
            for record in records:
                record(duration)

    return send_timed_all


def _observed(send: Send, hooks: list[Hook], name: str) -> Send:
    """The send of a handle with hooks: events when a hook needs them, and only
    timing when every hook is a :class:`CallTimer` (cheap statistics)."""
    records = call_timers(hooks)
    if records is not None:
        return _timed(send, records)
    return _traced(send, hooks, name)


def _refusing(send: Send, name: str) -> Send:
    """A send that turns a :class:`Refusal` reply into ``InvalidRequestError``
    (for services that refuse; others do not pay for the check)."""

    def send_refusable(request: object) -> Any:
        reply = send(request)
        if type(reply) is Refusal:
            raise InvalidRequestError(name, request, reply.reason)
        return reply

    return send_refusable


class _Sink:
    """Stands in for the generator on the hot path: ``_sink.send(request)``."""

    __slots__ = ("send",)

    def __init__(self, send: Send) -> None:
        self.send = send


class LocalHandle(Generic[RequestT, ReplyT]):
    """A primed service running in the caller's thread.

    Made by calling a service factory (``md5()``). One thread at a time: calls
    from a second thread, or from inside the service itself, are refused with
    ``ServiceBusyError`` / ``ReentryError``; use :meth:`shared` to share it.
    """

    __slots__ = ("__weakref__", "_config", "_extra", "_gen", "_sink", "_spec", "_state", "_stream")

    _sink: _Sink | AnyGenerator  # what the hot path sends to: the generator itself when bare

    def __init__(
        self,
        spec: ServiceSpec,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        self._spec = spec
        self._config = (args, kwargs or {}) if (args or kwargs) else _NO_CONFIG
        self._extra: _Extra | None = None
        self._stream: Cursor | None = None  # the open stream's cursor
        self._state = _READY
        self._start_generator()

    # -- the hot path ---------------------------------------------------------

    def call(self, request: RequestT, /) -> ReplyT:
        """Send ``request`` and return the service's reply."""
        try:
            return self._sink.send(request)  # type: ignore[no-any-return]
        except BaseException as exc:
            return self._recover(request, exc)  # type: ignore[no-any-return]

    # Same function, so the same cost once CPython has found ``__call__``.
    __call__ = call

    @contextlib.contextmanager
    def hot(self) -> Iterator[Callable[[RequestT], ReplyT]]:
        """The bare send, for hot loops: ``with h.hot() as send: send(x)``.

        Inside the block calls cost a bare ``gen.send``: errors come out raw
        (a ``ValueError`` for concurrent use, the body's own exception). On the
        way out the handle sorts them out as :meth:`call` would, so its state
        and restart policy stay right.
        """
        if self._state is not _READY:
            raise refusal(self._state, Op.CALL, self.name)
        try:
            yield self._sink.send
        except BaseException as exc:
            self._recover(UNKNOWN_REQUEST, exc)
        else:
            if self._gen.gi_frame is None:  # a StopIteration was caught in the block
                self._become(State.CLOSED)

    # -- errors (off the hot path) ------------------------------------------

    def _recover(self, request: object, exc: BaseException) -> Any:
        """Turn what ``_sink.send`` raised into the right outcome, or the right error."""
        if self._state is not _READY:
            raise exc  # a refusal: the handle was not serving
        gen = self._gen
        if (
            isinstance(exc, ValueError)
            and gen.gi_frame is not None
            and (gen.gi_running or str(exc) == "generator already executing")
        ):
            raise self._busy_error() from None
        if gen.gi_frame is not None:  # refused before the generator ran (validation): untouched
            extra = self._extra
            if extra is not None and extra.hooks and isinstance(exc, InvalidRequestError):
                emit(extra.hooks, Event(EventKind.ERROR, self.name, request, exc, time_ns=now_ns()))
            raise exc
        if isinstance(exc, StopIteration):
            self._finish(exc.value)
            return exc.value
        self._fail(request, exc)
        raise AssertionError("unreachable")  # pragma: no cover

    def _busy_error(self) -> ServiceBusyError:
        frame: FrameType | None = sys._getframe(1)
        target = self._gen.gi_frame
        while frame is not None:
            if frame is target:
                return ReentryError(
                    self.name,
                    "the service called itself through its own handle "
                    "(a generator cannot be resumed while it runs)",
                )
            frame = frame.f_back
        return ServiceBusyError(
            self.name,
            "another thread is running this service right now; a default handle is for "
            "one thread at a time (use handle.shared() to serialize calls across threads)",
        )

    def _fail(self, request: object, exc: BaseException) -> None:
        """The body raised: record it, apply the restart policy, raise the error."""
        extra = self._extras()
        sup = extra.supervision or Supervision()
        extra.supervision = sup
        # The decision is shared with the async handle (_failure); the doing is ours.
        verdict = judge_failure(self.name, request, exc, self._spec.restart, sup)
        if extra.hooks:
            emit(extra.hooks, Event(EventKind.ERROR, self.name, request, exc, time_ns=now_ns()))
        if not verdict.restart:
            self._become(State.FAILED)
            if verdict.error is exc:  # KeyboardInterrupt, SystemExit...: not ours to wrap
                raise exc
            raise verdict.error from exc
        try:
            self._start_generator()
        except ServiceError as restart_error:
            self._become(State.FAILED)
            raise restart_failed(self.name, request, exc, restart_error) from exc
        sup.record_restart()
        if extra.hooks:
            emit(extra.hooks, Event(EventKind.RESTART, self.name, request, exc, time_ns=now_ns()))
        raise verdict.error from exc

    # -- life cycle -------------------------------------------------------------

    def _start_generator(self) -> None:
        """Make a fresh generator from the factory and prime it; READY afterwards."""
        spec = self._spec
        args, kwargs = self._config
        try:
            gen: object = spec.fn(*args, **kwargs)
        except Exception as exc:
            raise ServiceStartError(
                self.name, None, f"could not start: {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(gen, GeneratorType):
            raise ProtocolViolationError(
                self.name,
                f"{spec.fn.__qualname__}() returned {type(gen).__name__}, not a generator "
                "(a service function must contain 'yield')",
            )
        try:
            greeting = _protocol.prime(gen)
        except StopIteration as exc:
            raise ProtocolViolationError(
                self.name, "the generator returned before its first yield"
            ) from exc
        except Exception as exc:
            raise ServiceStartError(
                self.name, None, f"could not start: {type(exc).__name__}: {exc}"
            ) from exc
        self._gen: AnyGenerator = gen
        if greeting is not None or (self._extra is not None and self._extra.greeting is not None):
            self._extras().greeting = greeting
        self._stream = None
        self._state = _READY
        self._rewire()

    def _rewire(self) -> None:
        """Point ``_sink`` at what the current state allows (the state machine's
        one effect on the hot path)."""
        if self._state is not _READY:
            self._sink = _Sink(_refuser(self._state, self.name))
            return
        check = self._spec.check
        extra = self._extra
        hooks = extra.hooks if extra is not None else None
        refuses = self._spec.refuses
        if check is None and not hooks and not refuses:
            self._sink = self._gen  # the bare generator: nothing between caller and service
            return
        send: Send = self._gen.send
        if refuses:
            send = _refusing(send, self.name)
        if check is not None:
            send = _validating(send, check, self.name)
        if hooks:
            send = _observed(send, hooks, self.name)
        self._sink = _Sink(send)

    def _become(self, state: State) -> None:
        self._state = state
        self._rewire()

    def _finish(self, value: object) -> None:
        """The generator returned (the talk's falsy request): the service is closed."""
        if value is not None:
            self._extras().result = value
        self._stream = None
        self._become(State.CLOSED)
        if self._extra is not None and self._extra.hooks:
            emit(self._extra.hooks, Event(EventKind.CLOSE, self.name, value, time_ns=now_ns()))

    def _extras(self) -> _Extra:
        extra = self._extra
        if extra is None:
            extra = self._extra = _Extra()
        return extra

    def restart(self) -> None:
        """Replace the generator with a fresh one from the factory (state is lost)."""
        advance(self._state, Op.RESTART, self.name)
        self._stream = None
        old = self._gen
        self._start_generator()
        with contextlib.suppress(Exception):
            old.close()
        extra = self._extra
        if extra is not None and extra.hooks:
            emit(extra.hooks, Event(EventKind.RESTART, self.name, time_ns=now_ns()))

    def close(self) -> None:
        """Close the service: its ``finally`` blocks run. Closing twice is fine."""
        if self._state is State.CLOSED:
            return
        cursor, self._stream = self._stream, None
        if cursor is not None and cursor.survives_errors:
            with contextlib.suppress(Exception):
                cursor.cancel()
        self._become(State.CLOSED)
        try:
            self._gen.close()
        except RuntimeError as exc:
            raise ProtocolViolationError(
                self.name, "the generator yielded while being closed (it caught GeneratorExit)"
            ) from exc
        finally:
            extra = self._extra
            if extra is not None and extra.hooks:
                emit(extra.hooks, Event(EventKind.CLOSE, self.name, time_ns=now_ns()))

    def __enter__(self) -> LocalHandle[RequestT, ReplyT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- streams --------------------------------------------------------------

    @overload
    def stream(
        self: LocalHandle[RequestT, Stream[ItemT]], request: RequestT, /
    ) -> ReplyStream[ItemT]: ...

    @overload
    def stream(self, request: RequestT, /) -> ReplyStream[ReplyT]: ...

    def stream(self, request: Any, /) -> ReplyStream[Any]:
        """Send ``request`` and iterate its streamed reply lazily, item by item.

        The stream holds the service until it ends or is cancelled; leaving a
        ``for`` loop early (or ``cancel()``, or ``with``) puts the service back
        to waiting for its next request.
        """
        reply = self.call(request)
        if self._state is not _READY:  # the generator returned on this request
            return ReplyStream(self, Cursor(), request)
        try:
            cursor = self._spec.protocol.cursor(self._gen, reply)
        except Refused as refused:
            raise InvalidRequestError(self.name, request, refused.reason) from None
        self._stream = cursor
        self._become(State.STREAMING)
        if self._extra is not None and self._extra.hooks:
            emit(
                self._extra.hooks,
                Event(EventKind.STREAM_OPEN, self.name, request, time_ns=now_ns()),
            )
        return ReplyStream(self, cursor, request)

    def _stream_ended(self, cursor: Cursor) -> None:
        if self._stream is cursor:
            self._stream = None
            self._become(_READY)
            if self._extra is not None and self._extra.hooks:
                emit(self._extra.hooks, Event(EventKind.STREAM_END, self.name, time_ns=now_ns()))

    def _stream_failed(self, cursor: Cursor, request: object, exc: BaseException) -> None:
        """An item step raised: fail the stream, and the service only if it died."""
        if self._stream is not cursor:
            raise exc
        self._stream = None
        if cursor.survives_errors:
            self._become(_READY)
            extra = self._extra
            if extra is not None and extra.hooks:
                emit(extra.hooks, Event(EventKind.ERROR, self.name, request, exc, time_ns=now_ns()))
            error = stream_failure(self.name, request, exc)
            if error is exc:
                raise exc
            raise error from exc
        self._state = _READY  # let _recover judge the generator's state
        try:
            self._recover(request, exc)
        except ServiceBusyError:
            self._stream = cursor
            self._become(State.STREAMING)
            raise

    def _stream_cancelled(self, cursor: Cursor, request: object) -> None:
        if self._stream is not cursor:
            return
        self._stream = None
        try:
            back_to_ready = cursor.cancel()
        except Exception as exc:
            self._become(_READY)
            raise ServiceFailedError(
                self.name, request, "closing the stream's source raised"
            ) from exc
        extra = self._extra
        if extra is not None and extra.hooks:
            emit(extra.hooks, Event(EventKind.RESET, self.name, request, time_ns=now_ns()))
        if back_to_ready and self._gen.gi_frame is not None:
            self._become(_READY)
        else:
            self._state = _READY
            self.restart()

    # -- reset and throw -----------------------------------------------------------

    def reset(self) -> None:
        """Back to waiting for a request.

        An open stream is cancelled and the service keeps its own state (caches,
        connections). A FAILED service has no state left to keep: it is
        restarted from its factory.
        """
        state = self._state
        if state is State.FAILED:
            self.restart()
            return
        advance(state, Op.RESET, self.name)
        if self._stream is not None:
            self._stream_cancelled(self._stream, None)

    def throw(self, exc: BaseException | type[BaseException], /) -> Any:
        """Raise ``exc`` inside the service at its current ``yield``; return what
        it yields next. An open stream ends first (the talk's ``DifferentCity``)."""
        if not (
            isinstance(exc, BaseException)
            or (isinstance(exc, type) and issubclass(exc, BaseException))
        ):
            raise InvalidRequestError(
                self.name, exc, "throw() takes an exception class or instance"
            )
        advance(self._state, Op.THROW, self.name)
        cursor = self._stream
        if cursor is not None:
            self._stream = None
            if cursor.survives_errors:
                cursor.cancel()
            self._become(_READY)
        extra = self._extra
        if extra is not None and extra.hooks:
            emit(extra.hooks, Event(EventKind.THROW, self.name, exc, time_ns=now_ns()))
        try:
            return self._gen.throw(exc)
        except BaseException as raised:
            return self._recover(Thrown(exc), raised)

    # -- what the handle tells -------------------------------------------------------

    @property
    def name(self) -> str:
        """The service's name, used in every error and event."""
        extra = self._extra
        if extra is not None and extra.name is not None:
            return extra.name
        return self._spec.name

    @property
    def state(self) -> State:
        """READY, BUSY (running a request right now), STREAMING, FAILED or CLOSED."""
        if self._state is _READY and self._gen.gi_running:
            return State.BUSY
        return self._state

    @property
    def greeting(self) -> Any:
        """What the generator yielded when primed (the talk's menu text), or None."""
        return None if self._extra is None else self._extra.greeting

    @property
    def result(self) -> Any:
        """What the generator returned, once it has (None before)."""
        return None if self._extra is None else self._extra.result

    @property
    def spec(self) -> ServiceSpec:
        """How this service was defined (function, protocol, policy, request type)."""
        return self._spec

    @property
    def generator(self) -> Any:
        """The live generator object (for inspection; do not drive it directly)."""
        return self._gen

    @property
    def supervision(self) -> SupervisionStats:
        """What the restart policy did: failures, restarts, last error."""
        sup = (self._extra.supervision if self._extra else None) or Supervision()
        return sup.snapshot(self._spec.restart or Never())

    @property
    def hooks(self) -> tuple[Hook, ...]:
        """The hooks subscribed to this handle's events (tracers, statistics)."""
        return () if self._extra is None else tuple(self._extra.hooks)

    def subscribe(self, hook: Hook) -> None:
        """Report this service's events to ``hook`` (tracing, statistics)."""
        self._extras().hooks.append(hook)
        self._rewire()

    def unsubscribe(self, hook: Hook) -> None:
        """Stop reporting to ``hook``; with no hook left the hot path is bare again."""
        if self._extra is not None and hook in self._extra.hooks:
            self._extra.hooks.remove(hook)
            self._rewire()

    def rename(self, name: str) -> None:
        """Give this instance its own name (for errors, events and listings)."""
        self._extras().name = name
        self._rewire()

    def shared(self, timeout: float | None = None) -> SharedHandle[RequestT, ReplyT]:
        """A thread-safe twin of this handle: calls are serialized with a lock,
        waiting at most ``timeout`` seconds before ``ServiceBusyError``."""
        from ._shared import SharedHandle

        return SharedHandle(self, timeout=timeout)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.name!r} {self.state.value} ({self._spec.protocol.name})>"
        )


class ReplyStream(Generic[ItemT]):
    """The items of one streamed reply, pulled lazily; holds the service until
    it ends, is cancelled, or is dropped.

    The handle keeps only the stream's cursor, never the stream itself, so a
    stream dropped mid-way (a ``break``) is freed at once and gives the service
    back.
    """

    __slots__ = ("_cursor", "_handle", "request")

    def __init__(self, handle: LocalHandle[Any, Any], cursor: Cursor, request: object) -> None:
        self._handle = handle
        self._cursor = cursor
        self.request = request

    def __iter__(self) -> ReplyStream[ItemT]:
        return self

    def __next__(self) -> ItemT:
        handle = self._handle
        cursor = self._cursor
        if handle._stream is not cursor:
            raise StopIteration
        try:
            item = cursor.next_item()
        except StopIteration:
            handle._stream_ended(cursor)
            raise
        except GeneratorReturned as returned:
            handle._finish(returned.value)
            raise StopIteration from None
        except BaseException as exc:
            handle._stream_failed(cursor, self.request, exc)
            raise
        extra = handle._extra
        if extra is not None and extra.hooks:
            emit(extra.hooks, Event(EventKind.ITEM, handle.name, item, time_ns=now_ns()))
        return item  # type: ignore[no-any-return]

    @property
    def is_open(self) -> bool:
        """True until the stream ends, fails or is cancelled."""
        return self._handle._stream is self._cursor

    def cancel(self) -> None:
        """Stop early: the service goes back to waiting for its next request."""
        self._handle._stream_cancelled(self._cursor, self.request)

    close = cancel

    def __enter__(self) -> ReplyStream[ItemT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()

    def __del__(self) -> None:
        if self._handle._stream is self._cursor:  # dropped mid-stream (a ``break``)
            with contextlib.suppress(Exception):
                self.cancel()

    def __repr__(self) -> str:
        state = "open" if self.is_open else "done"
        return f"<ReplyStream of {self._handle.name!r} for {short_repr(self.request)} ({state})>"
