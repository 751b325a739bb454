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
from types import CodeType, FrameType, GeneratorType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload, runtime_checkable

from . import _deadline, _protocol, _steps
from ._accel import accelerate
from ._errors import (
    DeadlineExceeded,
    ProtocolViolationError,
    ReentryError,
    ServiceBusyError,
    ServiceFailedError,
    ServiceStartError,
)
from ._events import Event, EventKind, Hook, emit, now_ns
from ._protocol import Refusal, Stream
from ._sends import (
    CheckedSink,
    Send,
    checked_sink,
    observed,
    refuser,
    validating,
)
from ._shared import SharedHandle
from ._spec import ServiceSpec
from ._state import Op, State, advance, refusal
from ._stream import AnyGenerator, Cursor, ReplyStream
from ._supervise import Never, RestartPolicy, Supervision, SupervisionStats

__all__ = ["ACCELERATED", "Handle", "LocalHandle", "PureLocalHandle"]

RequestT = TypeVar("RequestT")
ReplyT = TypeVar("ReplyT")
ItemT = TypeVar("ItemT")
RequestT_contra = TypeVar("RequestT_contra", contravariant=True)
ReplyT_co = TypeVar("ReplyT_co", covariant=True)
R = TypeVar("R")


_READY = State.READY
#: The replies ``call()`` does not hand back: it raises for them instead.
_MARKERS = frozenset({Refusal, Stream})
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
        """READY, BUSY, STREAMING, FAILED or CLOSED (on a remote handle: the last
        state it saw; ``fetch_state()`` asks the service)."""
        ...

    @property
    def greeting(self) -> Any:
        """What the service yielded when primed (the talk's menu text), or None."""
        ...

    def call(self, request: RequestT_contra, /, *, timeout: float | None = None) -> ReplyT_co:
        """Send ``request`` and return the service's reply.

        ``timeout``: the caller's deadline in seconds (what it means per kind of
        handle: the deadlines guide); past it, [`DeadlineExceeded`][].
        """
        ...

    def __call__(self, request: RequestT_contra, /, *, timeout: float | None = None) -> ReplyT_co:
        """Same as [`call`][]. On the pure-Python local handle, at about 1.8 times
        its cost (3.9x a bare send against ``call``'s 2.1x in the README's run);
        with the C accelerator (``nanoservices.core.ACCELERATED``) close to it.

        Why: CPython's specializing interpreter turns ``h.call(x)`` into a direct
        frame push, but has no specialization for calling an instance, so ``h(x)``
        goes through the type's ``__call__`` slot in C, which looks the method up
        and enters the interpreter again from C on every call (the accelerator's
        type is called through its own vectorcall instead). Use ``h.call`` (or
        ``hot()``) in hot loops.
        """
        ...

    def stream(self, request: RequestT_contra, /, *, timeout: float | None = None) -> Iterator[Any]:
        """Send ``request`` and iterate its streamed reply lazily, item by item
        (``timeout``: a deadline for the whole stream, checked at each item)."""
        ...

    def reset(self) -> None:
        """Back to waiting for a request (ends an open stream)."""
        ...

    def throw(self, exc: BaseException | type[BaseException], /) -> Any:
        """Raise ``exc`` inside the service at its ``yield``; return what it yields next."""
        ...

    def restart(self) -> None:
        """Replace the service with a fresh instance from its factory (state is lost)."""
        ...

    def close(self) -> None:
        """Close the service so its ``finally`` blocks run; closing twice is fine."""
        ...


class _Extra:
    """What few handles need, made on first use so an idle handle stays small."""

    __slots__ = ("greeting", "hooks", "name", "result", "stream", "supervision", "timeout")

    def __init__(self) -> None:
        self.timeout: float | None = None  # the handle-wide default deadline (seconds)
        self.stream: Cursor | None = None  # the open stream's cursor
        self.name: str | None = None
        self.greeting: Any = None
        self.result: Any = None
        self.hooks: list[Hook] = []
        self.supervision: Supervision | None = None


def _returned(frame: FrameType) -> bool:
    """Whether the finished generator whose frame this was returned (rather than raised)."""
    import dis

    op = dis.opname[frame.f_code.co_code[frame.f_lasti]]
    return op in ("RETURN_VALUE", "RETURN_CONST")


class _Sink:
    """Stands in for the generator on the hot path: ``_sink.send(request)``.

    ``stream_send`` is the same chain without the handle's default deadline
    (``stream()`` puts one on the whole stream instead).
    """

    __slots__ = ("send", "stream_send")

    def __init__(self, send: Send, stream_send: Send) -> None:
        self.send = send
        self.stream_send = stream_send


class LocalHandle(Generic[RequestT, ReplyT]):
    """A primed service running in the caller's thread.

    Made by calling a service factory (``md5()``). One thread at a time: calls
    from a second thread, or from inside the service itself, are refused with
    ``ServiceBusyError`` / ``ReentryError``; use [`shared`][] to share it.
    """

    # The open stream's cursor lives in ``_extra`` (see ``_stream``): few handles
    # stream, and the C accelerator's type spends that word on its vectorcall.
    __slots__ = ("__weakref__", "_config", "_extra", "_gen", "_sink", "_spec", "_state")

    # what the hot path sends to: the bare generator, a typed service's checked sink,
    # or a chain of wrappers
    _sink: _Sink | CheckedSink | AnyGenerator

    def __init__(
        self,
        spec: ServiceSpec,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        self._spec = spec
        self._config = (args, kwargs or {}) if (args or kwargs) else _NO_CONFIG
        self._extra: _Extra | None = None
        self._state = _READY
        self._start_generator()
        self._rewire()

    # -- the hot path ---------------------------------------------------------

    # ``timeout`` is passed by keyword (``h.call(x, timeout=2)``), as on every handle,
    # but not declared keyword-only here: CPython 3.11 does not specialize calls to a
    # function with keyword-only parameters, which costs the hot path about 20 ns.
    def call(self, request: RequestT, /, timeout: float | None = None) -> ReplyT:
        """Send ``request`` and return the service's reply.

        ``timeout`` (seconds, by keyword): the service runs in this thread and cannot
        be interrupted, so the deadline is checked before it runs (passed:
        [`DeadlineExceeded`][nanoservices.DeadlineExceeded], the service untouched) and the
        service can read what is left with [`remaining`][nanoservices.remaining].
        """
        if timeout is not None:
            return self._call_within(request, timeout)
        try:
            reply: ReplyT = self._sink.send(request)  # (an annotation costs nothing at run time)
        except BaseException as exc:
            return self._recover(request, exc)
        if type(reply) in _MARKERS:  # a refusal or a streamed reply, however it was built
            return self._plain_reply(request, reply)
        return reply

    # Same function, so the same cost once CPython has found ``__call__``.
    __call__ = call

    def _plain_reply(self, request: object, reply: object) -> ReplyT:
        """``call()`` met a marker reply: ``InvalidRequestError`` for a refusal,
        ``StreamReplyError`` for a stream (its source closed, the service READY)."""
        answer: ReplyT = self._run(_steps.plain_reply(self, request, reply))
        return answer

    @contextlib.contextmanager
    def hot(self) -> Iterator[Callable[[RequestT], ReplyT]]:
        """The bare send, for hot loops: ``with h.hot() as send: send(x)``.

        Inside the block calls cost a bare ``gen.send``: errors come out raw
        (a ``ValueError`` for concurrent use, the body's own exception), and so
        do replies (a refusal or a streamed reply is the object the service
        yielded, [`Refusal`][nanoservices.core.Refusal] or
        [`Stream`][nanoservices.Stream]). On the
        way out the handle sorts them out as [`call`][] would, so its state
        and restart policy stay right, even when the block caught the error.
        """
        if self._state is not _READY:
            raise refusal(self._state, Op.CALL, self.name)
        frame = self._gen.gi_frame  # kept to tell, afterwards, a return from a raise
        try:
            yield self._sink.send
        except BaseException as exc:
            self._recover(UNKNOWN_REQUEST, exc)
        else:
            if self._state is _READY and self._gen.gi_frame is None:
                self._ended_in_hot(frame)

    def _ended_in_hot(self, frame: FrameType | None) -> None:
        """The generator ended inside a ``hot()`` block whose code caught what it raised."""
        if frame is not None and _returned(frame):
            _steps.finish(self, None)  # the StopIteration (and its value) stayed in the block
            return
        lost = ServiceFailedError(
            self.name,
            UNKNOWN_REQUEST,
            "the service raised inside a hot() block, and the block caught the exception",
        )
        self._run(_steps.fail(self, UNKNOWN_REQUEST, lost))  # FAILED, or restarted

    # -- deadlines (off the hot path: only with a timeout) ----------------------------

    def _call_within(self, request: RequestT, timeout: float) -> ReplyT:
        """``call`` with a deadline: checked first, then in force while the service runs."""
        at = _deadline.deadline_at(_deadline.check_timeout(timeout))
        if at is not None and _deadline.left(at) == 0.0:
            raise DeadlineExceeded(self.name, request, timeout)
        send = self._sink.send
        if type(send) is _deadline.Bounded:  # a call's own timeout overrides the default
            send = send.inner
        token = _deadline.enter(at)
        try:
            try:
                reply: ReplyT = send(request)
            except BaseException as exc:
                return self._recover(request, exc)
            if type(reply) in _MARKERS:
                return self._plain_reply(request, reply)
            return reply
        finally:
            _deadline.leave(token)

    def _stream_within(self, request: Any, timeout: float | None) -> ReplyStream[Any]:
        """``stream`` with a deadline for the whole stream, checked at each item."""
        if timeout is None:
            timeout = self.timeout
        at = _deadline.deadline_at(_deadline.check_timeout(timeout))
        if at is not None and _deadline.left(at) == 0.0:
            raise DeadlineExceeded(self.name, request, timeout)
        sink = self._sink
        token = _deadline.enter(at)
        try:
            try:
                reply = sink.stream_send(request) if type(sink) is _Sink else sink.send(request)
            except BaseException as exc:
                reply = self._recover(request, exc)
            cursor = _steps.opened(self, request, reply)
        finally:
            _deadline.leave(token)
        if cursor is None:
            return ReplyStream(self, Cursor(), request)
        if at is None:
            return ReplyStream(self, cursor, request)
        return _deadline.TimedStream(self, cursor, request, at, timeout)

    @property
    def timeout(self) -> float | None:
        """The handle-wide default deadline in seconds for ``call`` and ``stream``
        (None: none); a call's own ``timeout=`` overrides it."""
        return None if self._extra is None else self._extra.timeout

    @timeout.setter
    def timeout(self, seconds: float | None) -> None:
        seconds = _deadline.check_timeout(seconds)
        if seconds is None and self._extra is None:
            return
        self._extras().timeout = seconds
        self._rewire()  # the default lives in ``_sink``: no test on the call path

    # -- state ----------------------------------------------------------------------

    def _move(self, op: Op) -> None:
        """The one writer of state: the table's answer to ``op`` from the stored
        state, then ``_sink`` to match."""
        self._state = advance(self._state, op, self.name)
        self._rewire()

    def _end_step(self, op: Op) -> None:
        """A step (a call, a throw, a fresh start) ends by ``op``: it ran from BUSY,
        which is read off the generator and never stored."""
        self._state = advance(State.BUSY, op, self.name)
        self._rewire()

    # -- errors (off the hot path) ------------------------------------------

    def _recover(self, request: object, exc: BaseException) -> ReplyT:
        """Turn what ``_sink.send`` raised into the right outcome, or the right error
        (the outcome of a generator that returned is its value, the call's reply)."""
        reply: ReplyT = self._run(_steps.recover(self, request, exc))
        return reply

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

    # -- what the protocol steps (``_steps``) need: their effects, done in this thread --

    def _run(self, flow: _steps.Flow[R]) -> R:
        return _steps.run(flow, self._do)

    def _do(self, effect: _steps.Effect) -> Any:
        if effect is _steps.START:
            self._start_generator()
            return None
        if isinstance(effect, _steps.CloseSource):
            return effect.cursor.cancel()
        if isinstance(effect, _steps.CloseService):
            return effect.gen.close()
        if isinstance(effect, _steps.ThrowIn):
            return self._gen.throw(effect.exc)
        raise AssertionError(effect)  # pragma: no cover

    def _emit(
        self, kind: EventKind, value: object = None, error: BaseException | None = None
    ) -> None:
        extra = self._extra
        if extra is not None and extra.hooks:
            emit(extra.hooks, Event(kind, self.name, value, error, time_ns=now_ns()))

    def _supervision(self) -> Supervision:
        extra = self._extras()
        if extra.supervision is None:
            extra.supervision = Supervision()
        return extra.supervision

    def _restart_policy(self) -> RestartPolicy | None:
        return self._spec.restart

    def _service_generator(self) -> AnyGenerator:
        return self._gen

    def _service_code(self) -> CodeType | None:
        return self._gen.gi_code

    def _generator_alive(self) -> bool:
        return self._gen.gi_frame is not None

    def _in_use_error(self, exc: BaseException | None) -> ServiceBusyError | None:
        gen = self._gen
        if exc is None:
            return self._busy_error() if gen.gi_running else None
        if isinstance(exc, ValueError) and (
            gen.gi_running or str(exc) == "generator already executing"
        ):
            return self._busy_error()
        return None

    def _generator_returned(self, exc: BaseException) -> tuple[bool, Any]:
        if isinstance(exc, StopIteration):
            return True, exc.value
        return False, None

    def _keep_result(self, value: object) -> None:
        if value is not None:
            self._extras().result = value

    def _cursor_for(self, reply: object) -> Cursor:
        return self._spec.protocol.cursor(self._gen, reply)

    # -- life cycle -------------------------------------------------------------

    def _start_generator(self) -> None:
        """Make a fresh generator from the factory and prime it (the caller moves state)."""
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

    def _rewire(self) -> None:
        """Point ``_sink`` at what the current state allows (the state machine's
        one effect on the hot path)."""
        if self._state is not _READY:
            extra = self._extra
            sup = extra.supervision if extra is not None else None
            refuse = refuser(self._state, self.name, sup.last_error if sup else None)
            self._sink = _Sink(refuse, refuse)
            return
        spec = self._spec
        check = spec.check
        extra = self._extra
        hooks = extra.hooks if extra is not None else None
        default = extra.timeout if extra is not None else None
        if not hooks and default is None:
            if check is None:
                self._sink = self._gen  # the bare generator: nothing between caller and service
            else:  # a typed service: one small object around the service's own check
                self._sink = checked_sink(self._gen, check, self.name)
            return
        name = self.name
        send: Send = self._gen.send
        if check is not None:
            send = validating(send, check, name)
        if hooks:
            send = observed(send, hooks, name)
        # stream() goes around the default deadline: its own covers the whole stream
        stream_send = send
        if default is not None:
            send = _deadline.Bounded(send, default, name)
        self._sink = _Sink(send, stream_send)

    @property
    def _stream(self) -> Cursor | None:
        """The open stream's cursor, or None (kept in ``_extra``: few handles stream)."""
        extra = self._extra
        return None if extra is None else extra.stream

    @_stream.setter
    def _stream(self, cursor: Cursor | None) -> None:
        if cursor is not None:
            self._extras().stream = cursor
        elif self._extra is not None:
            self._extra.stream = None

    def _extras(self) -> _Extra:
        extra = self._extra
        if extra is None:
            extra = self._extra = _Extra()
        return extra

    def restart(self) -> None:
        """Replace the generator with a fresh one from the factory (state is lost).

        An open stream ends first, its source closed (as ``reset`` and ``close`` do).
        """
        self._run(_steps.restart(self))

    def close(self) -> None:
        """Close the service: its ``finally`` blocks run. Closing twice is fine.

        Refused (``ReentryError``/``ServiceBusyError``) while the service runs. What
        its ``finally`` raises comes out as a library error naming the service,
        with the original as ``__cause__``; the handle is CLOSED either way.
        """
        if self._state is not State.CLOSED:
            self._run(_steps.close(self))

    def __enter__(self) -> LocalHandle[RequestT, ReplyT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- streams --------------------------------------------------------------

    @overload
    def stream(
        self: LocalHandle[RequestT, Stream[ItemT]],
        request: RequestT,
        /,
        *,
        timeout: float | None = None,
    ) -> ReplyStream[ItemT]: ...

    @overload
    def stream(
        self, request: RequestT, /, *, timeout: float | None = None
    ) -> ReplyStream[ReplyT]: ...

    def stream(self, request: Any, /, *, timeout: float | None = None) -> ReplyStream[Any]:
        """Send ``request`` and iterate its streamed reply lazily, item by item.

        The stream holds the service until it ends or is cancelled; leaving a
        ``for`` loop early (or ``cancel()``, or ``with``) puts the service back
        to waiting for its next request. ``timeout`` (or the handle's default):
        a deadline for the whole stream, checked before the request and before
        each item; past it the stream is cancelled and the caller gets
        [`DeadlineExceeded`][nanoservices.DeadlineExceeded].
        """
        if timeout is not None or (self._extra is not None and self._extra.timeout is not None):
            return self._stream_within(request, timeout)
        sink = self._sink
        try:
            reply = sink.stream_send(request) if type(sink) is _Sink else sink.send(request)
        except BaseException as exc:
            reply = self._recover(request, exc)
        cursor = _steps.opened(self, request, reply)
        if cursor is None:  # the generator returned on this request
            return ReplyStream(self, Cursor(), request)
        return ReplyStream(self, cursor, request)

    def _stream_ended(self, cursor: Cursor) -> None:
        _steps.ended(self, cursor)

    def _stream_failed(self, cursor: Cursor, request: object, exc: BaseException) -> None:
        """An item step raised: fail the stream, and the service only if it died."""
        self._run(_steps.stream_failed(self, cursor, request, exc))

    def _stream_returned(self, cursor: Cursor, value: object) -> None:
        """A raw service's generator returned mid-stream: the service is closed."""
        _steps.finish(self, value)

    def _stream_cancelled(self, cursor: Cursor, request: object) -> None:
        if self._stream is cursor:
            self._run(_steps.cancel_stream(self, cursor, request))

    # -- reset and throw -----------------------------------------------------------

    def reset(self) -> None:
        """Back to waiting for a request.

        An open stream is cancelled and the service keeps its own state (caches,
        connections). A FAILED service has no state left to keep: it is
        restarted from its factory.
        """
        self._run(_steps.reset(self))

    def throw(self, exc: BaseException | type[BaseException], /) -> Any:
        """Raise ``exc`` inside the service at its current ``yield``; return what
        it yields next. An open stream ends first (the talk's ``DifferentCity``).

        If closing that stream's source raises, the stream is over, the service
        is READY, ``exc`` is not thrown in, and the caller gets ``ServiceFailedError``.
        """
        return self._run(_steps.throw(self, exc))

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
        """How this service was defined (function, protocol, policy, request type,
        and ``streams``: whether it may reply with a stream, read with ``stream()``)."""
        return self._spec

    @property
    def generator(self) -> AnyGenerator:
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
        return SharedHandle(self, timeout=timeout)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.name!r} {self.state.value} ({self._spec.protocol.name})>"
        )


#: The pure-Python handle: the reference implementation, and the fallback.
PureLocalHandle = LocalHandle

#: Whether ``LocalHandle`` is the C accelerator's type (see ``_accel``).
ACCELERATED: bool
if not TYPE_CHECKING:
    LocalHandle, ACCELERATED = accelerate(PureLocalHandle)
