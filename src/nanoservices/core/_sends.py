"""The call path's wrappers: what stands between ``call`` and ``gen.send`` when needed.

A handle's hot path is ``_sink.send(request)``, where the sink is the generator
itself unless something asks for more: a request type to check (``validating``),
hooks to report to (``observed``: events, or only timing for statistics), or a
state that refuses every call (``refuser``). Refusals and streamed replies are
not the sink's business: ``call()`` tells them by the reply's type.
The handle picks the chain when the generator starts or a hook is added, never
per call; the async engine reuses ``validating`` (through the seam).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from ._errors import InvalidRequestError
from ._events import Event, EventKind, Hook, call_timers, emit, now_ns
from ._protocol import Refusal
from ._state import Op, State, refusal
from ._validate import ConvertCheck, Fast, InstanceCheck, Invalid, KeyedCheck

__all__ = [
    "CheckedSink",
    "Send",
    "checked_sink",
    "observed",
    "refuser",
    "validating",
]

Send = Callable[[Any], Any]


def refuser(state: State, name: str, cause: BaseException | None = None) -> Send:
    """The send of a handle that must refuse calls in ``state`` (``cause``: what
    made a FAILED service fail, for the advice)."""

    def refuse(request: object) -> NoReturn:
        raise refusal(state, Op.CALL, name, request, cause)

    return refuse


def validating(send: Send, check: Callable[[object], str | None], name: str) -> Send:
    """A send that refuses requests failing ``check`` before the generator sees them.

    A plain ``isinstance`` check is inlined (one frame fewer per call): typed
    services are the common case.
    """
    if isinstance(check, InstanceCheck):
        classes = check.classes
        if not check.refuse_bool:

            def send_instance(request: object) -> object:
                if isinstance(request, classes):
                    return send(request)
                raise InvalidRequestError(name, request, check(request) or "")

            return send_instance

        def send_instance_not_bool(request: object) -> object:
            if isinstance(request, classes) and type(request) is not bool:
                return send(request)
            raise InvalidRequestError(name, request, check(request) or "")

        return send_instance_not_bool

    if isinstance(check, ConvertCheck):
        convert = check.convert

        def send_converted(request: object) -> object:
            try:
                value = convert(request)
            except Invalid as invalid:
                raise InvalidRequestError(name, request, invalid.reason) from None
            return send(value)

        return send_converted

    def send_checked(request: object) -> object:
        reason = check(request)
        if reason is not None:
            raise InvalidRequestError(name, request, reason)
        return send(request)

    return send_checked


class CheckedSink:
    """The sink of a typed service with nothing else on its path: the generator,
    the service's one check object (shared by all its handles), the name, and
    ``fast``: what the check accepts as it is, without being called (see
    ``_validate.Fast``: a tuple of exact classes, or a router's routes; None: nothing).

    One small object per handle, where a ``validating`` chain costs a bound
    ``send``, a closure per path and a holder (about 600 bytes more per idle
    handle). ``send`` and ``stream_send`` are the same method: a stream is
    checked as a call is. The C accelerator reads ``gen`` and ``fast`` and sends
    an accepted request to the generator itself; anything else comes here.
    """

    __slots__ = ("check", "fast", "gen", "name")

    def __init__(
        self,
        gen: Any,
        check: Callable[[object], str | None],
        name: str,
        fast: Fast | None = None,
    ) -> None:
        self.gen = gen
        self.check = check
        self.name = name
        self.fast = fast

    def send(self, request: object) -> Any:
        reason = self.check(request)
        if reason is not None:
            raise InvalidRequestError(self.name, request, reason)
        return self.gen.send(request)

    stream_send = send


class _InstanceSink(CheckedSink):
    """A check that is one ``isinstance``, inlined (typed services' common case)."""

    __slots__ = ()
    check: InstanceCheck

    def send(self, request: object) -> Any:
        if isinstance(request, self.check.classes):
            return self.gen.send(request)
        raise InvalidRequestError(self.name, request, self.check(request) or "")

    stream_send = send


class _InstanceNotBoolSink(CheckedSink):
    """As ``_InstanceSink``, refusing ``True``/``False`` where a number is declared."""

    __slots__ = ()
    check: InstanceCheck

    def send(self, request: object) -> Any:
        if isinstance(request, self.check.classes) and type(request) is not bool:
            return self.gen.send(request)
        raise InvalidRequestError(self.name, request, self.check(request) or "")

    stream_send = send


class _ConvertSink(CheckedSink):
    """A deep check by msgspec: the generator receives the converted value (a
    request already of a class msgspec hands back as it is goes straight in)."""

    __slots__ = ()
    check: ConvertCheck
    fast: tuple[type, ...]

    def send(self, request: object) -> Any:
        if request.__class__ in self.fast:
            return self.gen.send(request)
        try:
            value = self.check.convert(request)
        except Invalid as invalid:
            raise InvalidRequestError(self.name, request, invalid.reason) from None
        return self.gen.send(value)

    stream_send = send


_TUPLE_ITER = tuple.__iter__


_CHECKED: Any = object()


class _KeyedSink(CheckedSink):
    """A router's check: a pair naming a route whose payload needs no check goes
    straight in (``fast``: route key -> None for those routes); anything else
    asks the check (the C accelerator also lets through, without a call, a
    payload its route accepts as it is)."""

    __slots__ = ()
    fast: dict[Any, Any]

    def send(self, request: Any) -> Any:  # a pair is told by its type, then indexed
        kind = request.__class__
        if (kind is tuple or (issubclass(kind, tuple) and kind.__iter__ is _TUPLE_ITER)) and len(
            request
        ) == 2:
            try:
                payload_form = self.fast.get(request[0], _CHECKED)
            except TypeError:  # an unhashable key: the check says why
                payload_form = _CHECKED
            if payload_form is None:
                return self.gen.send(request)
        reason = self.check(request)
        if reason is not None:
            raise InvalidRequestError(self.name, request, reason)
        return self.gen.send(request)

    stream_send = send


def checked_sink(gen: Any, check: Callable[[object], str | None], name: str) -> CheckedSink:
    """The one-object sink of a typed service whose path has only its check on it
    (``send`` and ``stream_send``, as ``validating`` would build around ``gen.send``)."""
    if isinstance(check, InstanceCheck):
        kind = _InstanceNotBoolSink if check.refuse_bool else _InstanceSink
        return kind(gen, check, name, check.classes)
    if isinstance(check, ConvertCheck):
        return _ConvertSink(gen, check, name, check.exact)
    if isinstance(check, KeyedCheck):
        return _KeyedSink(gen, check, name, check.routes)
    return CheckedSink(gen, check, name)


def traced(send: Send, hooks: list[Hook], name: str) -> Send:
    """A send that reports each request and reply (errors are reported by ``_recover``)."""

    def send_traced(request: object) -> object:
        start = now_ns()
        emit(hooks, Event(EventKind.REQUEST, name, request, time_ns=start))
        reply = send(request)
        if type(reply) is Refusal:
            return reply  # not a reply: the handle reports it as the error it is
        end = now_ns()
        emit(hooks, Event(EventKind.REPLY, name, reply, duration_ns=end - start, time_ns=end))
        return reply

    return send_traced


def timed(send: Send, records: tuple[Callable[[int], None], ...]) -> Send:
    """A send that only times each call, for hooks that only count (statistics)."""
    if len(records) == 1:
        record = records[0]

        def send_timed(request: object) -> object:
            start = now_ns()
            try:
                return send(request)
            finally:
                record(now_ns() - start)

        return send_timed

    def send_timed_all(request: object) -> object:
        start = now_ns()
        try:
            return send(request)
        finally:
            duration = now_ns() - start
            for record in records:
                record(duration)

    return send_timed_all


def observed(send: Send, hooks: list[Hook], name: str) -> Send:
    """The send of a handle with hooks: events when a hook needs them, and only
    timing when every hook is a [`CallTimer`][] (cheap statistics)."""
    records = call_timers(hooks)
    if records is not None:
        return timed(send, records)
    return traced(send, hooks, name)
