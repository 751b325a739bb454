"""What a Ray handle does, written once: sans-IO flows that the sync and async handles drive.

A flow is a generator, like the core's protocol steps (``core.seam.steps``):
it decides everything (deadlines, failure records, a lost host and reopening
the session there, a keyed session sent again after it was resumed, stream
batches and their end) and yields the waits it needs as effects: [`Get`][]
(the answer of a Ray object ref, for at most ``bound`` seconds) or
[`PAUSE`][] (a moment before trying a restarting host again). The sync
handle runs a flow with ``steps.run`` and ``ray.get``, the async handle with
``steps.arun`` and ``await``; that is the only difference between them.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Final

from ray.exceptions import GetTimeoutError, RayError

from nanoservices import State, TransportError

from ._host import Failure
from ._session import (
    Lost,
    RayTimeoutError,
    Resumed,
    SessionBase,
    StreamBase,
    state_of,
    wall_deadline,
)

__all__ = [
    "END",
    "PAUSE",
    "PAUSE_SECONDS",
    "Flow",
    "Get",
    "ask",
    "call",
    "cancel",
    "close",
    "fetch_state",
    "next_item",
    "open_stream",
    "operate",
]

READY = State.READY
PAUSE_SECONDS: Final = 0.05  # between tries to reach a host that Ray is restarting


class Get:
    """Effect: the answer of Ray object ref ``ref``, waited for at most ``bound`` seconds
    (``None``: no bound); past it the driver raises Ray's ``GetTimeoutError``."""

    __slots__ = ("bound", "ref")

    def __init__(self, ref: Any, bound: float | None) -> None:
        self.ref = ref
        self.bound = bound


class _Pause:
    def __repr__(self) -> str:
        return "PAUSE"


#: Effect: wait [`PAUSE_SECONDS`][] before trying a restarting host again.
PAUSE: Final = _Pause()


class _End:
    def __repr__(self) -> str:
        return "END"


#: What [`next_item`][] returns when the stream has no more items (the driver
#: raises ``StopIteration`` or ``StopAsyncIteration``: a generator may not).
END: Final = _End()

Effect = Get | _Pause
Flow = Generator[Effect, Any, Any]


# -- one request to the host, and what can go wrong with it ---------------------------


def ask(
    s: SessionBase,
    what: str,
    method: str,
    args: tuple[Any, ...],
    request: object = None,
    timeout: float | None = None,
    resume: bool = True,
    travels: bool = False,
) -> Flow:
    """Send ``method(*args)`` to the session's host and return its answer.

    With ``travels``, the deadline goes along (as wall-clock time, a last
    argument): the host refuses a request that waited past it and sets it for
    the service. A failure record is raised as its error; a host lost under
    the session reopens it (restart policy allowing) and raises that; a keyed
    session resumed on its restarted host before the request ran there
    (``resume``) is simply sent the request again.
    """
    while True:
        s._refuse_if_gone(what)
        bound, deadline = s._deadline(timeout)
        if travels and bound is not None:
            s._passed(request, timeout, bound)
            ref = s._remote(method, *args, wall_deadline(bound))
        else:
            ref = s._remote(method, *args)
        try:
            result = yield Get(ref, bound if bound is None else bound + s._target.grace)
        except GetTimeoutError as exc:
            s._timed_out(what, request, bound, exc)
        except RayError as exc:
            return (yield from lost(s, request, exc, deadline, resume))
        if type(result) is not Failure:
            return result
        try:
            return (yield from failed(s, request, result, deadline, resume))
        except Resumed:  # the request never ran: send it again
            continue


def call(s: SessionBase, request: object, timeout: float | None) -> Flow:
    """The hot path: ``call(request)`` on the host, its deadline travelling with it."""
    if s._open is not None:
        s._refuse_streaming("call")
    reply = yield from ask(s, "call", "call", (request,), request, timeout, travels=True)
    s._seen = READY
    return reply


def failed(
    s: SessionBase,
    request: object,
    failure: Failure,
    deadline: float | None = None,
    resume: bool = False,
) -> Flow:
    """Raise the error ``failure`` stands for; a session the host lost is reopened first."""
    try:
        s._sort(failure, request)
    except Lost as exc:
        yield from lost(s, request, exc, deadline, resume)


def lost(
    s: SessionBase,
    request: object,
    cause: BaseException,
    deadline: float | None = None,
    resume: bool = False,
) -> Flow:
    """The host died under this session (or lost it): restart the service there
    (policy allowing), within the caller's deadline; always raises."""
    reopen_by = s._may_restart(request, cause)
    while True:
        try:
            s._reopened((yield Get(s._reopen_ref(), s._left(deadline))))
        except RayError as error:
            s._retry_reopen(request, cause, error, reopen_by, deadline)
            yield PAUSE
            continue
        s._resume(cause, resume)
        s._restarted(request, cause, None)


# -- the rest of the handle interface -------------------------------------------------


def operate(
    s: SessionBase,
    method: str,
    timeout: float | None,
    *args: Any,
    request: object = None,
) -> Flow:
    """``reset``, ``restart`` or ``throw``: an open stream ends, and the service is READY
    after (the host's answer to ``throw`` is the service's next reply)."""
    s._drop_stream()
    result = yield from ask(s, method, method, args, request, timeout)
    s._seen = READY
    return result


def fetch_state(s: SessionBase, timeout: float | None) -> Flow:
    """The service's state, asked of its host; a lost host reads as FAILED."""
    if s._closed or s._dead is not None:
        return s.state
    bound = s.timeout if timeout is None else timeout
    try:
        seen = state_of((yield Get(s._remote("state"), bound)))
    except GetTimeoutError as exc:
        s._timed_out("fetch_state", None, bound, exc)
    except RayError:
        seen = State.FAILED  # its host is lost: the next request restarts it
    s._seen = seen
    return s.state


def close(s: SessionBase) -> Flow:
    """Close the session on its host (the service's ``finally`` blocks run there)."""
    if not s._mark_closed():
        return
    try:
        failure = yield Get(s._remote("close"), s.timeout)
    except GetTimeoutError as exc:
        s._timed_out("close", None, s.timeout, exc)
    except RayError:
        return  # its host is gone: nothing is left to close
    if failure is not None:
        s._saw(failure)
        raise failure.rebuild()


# -- streams --------------------------------------------------------------------------


def open_stream(st: StreamBase) -> Flow:
    """Send the stream's request; its first batch of items arrives with the answer."""
    h = st._handle
    st._started = True
    args = (st.request, st._grow())
    try:
        items, st._end_mark = yield from ask(
            h, "stream", "stream_open", args, st.request, st._left(), travels=True
        )
    except BaseException as exc:
        st._end_mark = True
        st._let_go()
        if isinstance(exc, RayTimeoutError):  # it may still open on the host: end it there
            h._remote("stream_cancel")
        raise
    st._items.extend(items)


def _pull(st: StreamBase) -> Flow:
    """The next batch of items (batches grow up to the handle's ``batch``)."""
    try:
        items, st._end_mark = yield from ask(
            st._handle, "stream", "stream_next", (st._grow(),), st.request, st._left(), False
        )
    except RayTimeoutError:
        yield from cancel(st, wait=False)  # the batch is lost: end the stream on the host too
        raise
    except BaseException:
        st._end_mark = True
        st._finish()
        raise
    st._items.extend(items)


def next_item(st: StreamBase) -> Flow:
    """The stream's next item, or [`END`][]; past its deadline the stream is cancelled
    (the service's ``finally`` runs on the host before this raises)."""
    if st._late():
        yield from cancel(st, wait=True)
        raise st._deadline_error()
    items = st._items
    if items:
        return items.popleft()
    if st._end_mark is None:
        yield from _pull(st) if st._started else open_stream(st)
        if items:
            return items.popleft()
    end = st._end_mark
    st._finish()
    if type(end) is Failure:
        st._end_mark = True
        yield from failed(st._handle, st.request, end)
    return END


def cancel(st: StreamBase, wait: bool) -> Flow:
    """End the stream early; with ``wait``, return once the host has ended it (the
    service's ``finally`` ran there) and the service waits for its next request."""
    open_remotely = st._started and st._end_mark is None
    st._end()
    st._finish()
    h = st._handle
    if not open_remotely or h._closed or h._dead is not None:
        return
    ref = h._remote("stream_cancel")
    if not wait:
        return
    try:
        failure = yield Get(ref, h.timeout)
    except GetTimeoutError as exc:
        raise RayTimeoutError(
            h.name, f"no answer from its Ray host within {h.timeout:g} s: {exc}"
        ) from exc
    except RayError as exc:
        raise TransportError(h.name, f"the Ray host could not be reached: {exc}") from exc
    if failure is not None:
        yield from failed(h, st.request, failure)
