"""A session on a Ray host, as the handles see it: its state, its errors, its decisions.

The flows in ``_flow`` make every decision of a Ray handle with these; the sync
handle (``_handle``) and the async one (``_async``) only drive the flows, one
with ``ray.get``, the other with ``await``.
"""

from __future__ import annotations

import collections
import time
import weakref
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

import ray
from ray.exceptions import ActorDiedError, GetTimeoutError, RayError

from nanoservices import (
    DeadlineExceeded,
    RestartLimitError,
    RestartPolicy,
    ServiceBusyError,
    ServiceClosedError,
    ServiceFailedError,
    State,
    TransportError,
)
from nanoservices.core.seam import deadlines, short_repr

from ._host import UNKNOWN_SESSION, Failure, Keyed, SessionId

FIRST_BATCH = 8  # items pulled with the stream's opening call: low latency, little read-ahead
REOPEN_TIMEOUT = 30.0  # seconds to wait for Ray to bring a lost host back
#: Seconds a handle on an async service waits past a deadline for its host's answer:
#: the host cancels the service at the deadline and answers at once (the outcome, and
#: the service's state after it, are the host's); this is for the answer's way back.
ASYNC_GRACE = 1.0


class RayTimeoutError(DeadlineExceeded, TransportError):
    """No answer from the service's Ray host within the caller's bound (``timeout=``).

    A [`DeadlineExceeded`][nanoservices.DeadlineExceeded] (so a ``TimeoutError``) and a
    [`TransportError`][nanoservices.TransportError]. The host may be busy (its methods run
    one at a time) or its node lost (Ray takes about 15 s, by default, to declare
    a node dead). What was asked may still happen on the host (``ray.cancel``
    cannot stop a running sync actor method); if the host was lost, the next
    request restarts the service there (one
    [`ServiceFailedError`][nanoservices.ServiceFailedError]).
    """

    def __init__(
        self, service: str, message: str, request: object = None, timeout: float | None = None
    ) -> None:
        DeadlineExceeded.__init__(self, service, request, timeout, message)
        self.args = (service, message, request, timeout)


def wall_deadline(bound: float) -> float:
    """The deadline ``bound`` seconds from now, as wall-clock time for the host: another
    process (another node) has its own monotonic clock, so the deadline travels as
    ``time.time()`` (hosts on other nodes rely on synchronized clocks, as NTP keeps them)."""
    return time.time() + bound


def get_checked(ref: Any, name: str, timeout: float | None = None) -> Any:
    """``ray.get``, with Ray's errors and failure records turned into ours."""
    try:
        result = ray.get(ref, timeout=timeout)
    except GetTimeoutError as exc:
        raise RayTimeoutError(
            name, f"no answer from its Ray host within {timeout:g} s: {exc}"
        ) from exc
    except RayError as exc:
        raise TransportError(name, f"the Ray host could not be reached: {exc}") from exc
    if type(result) is Failure:
        raise result.rebuild()
    return result


class Pool(Protocol):
    """The pool a session's host came from: told when the session is over (its load)."""

    def _released(self, index: int) -> None: ...


@dataclass(slots=True)
class Target:
    """Where a session lives and how to start it again there."""

    actor: Any
    path: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    options: dict[str, Any] | None
    pool: Pool | None = None
    index: int = 0
    #: A keyed session: (store location, key, snapshots); reopened under its key, its
    #: state brought back by the store (``nanoservices.sessions``).
    keyed: Keyed | None = None
    #: Seconds to wait past a bound for the host's answer (``ASYNC_GRACE`` for an
    #: async service, whose host enforces the deadline by cancelling it; else 0).
    grace: float = 0.0


class Lost(Exception):
    """Internal: the host lost this session (its actor died or was restarted)."""


class Resumed(Exception):
    """Internal: a keyed session was reopened, its state brought back, on its restarted
    host before its request ran there (the host did not know the session): send it again."""


class SessionBase:
    """A Ray handle's session and its decisions; the flows in ``_flow`` drive them."""

    __slots__ = (
        "__weakref__",
        "_batch",
        "_closed",
        "_dead",
        "_greeting",
        "_incarnation",
        "_name",
        "_open",
        "_policy",
        "_recent",
        "_restarts",
        "_seen",
        "_session",
        "_target",
        "timeout",
    )

    def __init__(
        self,
        target: Target,
        session: SessionId,
        name: str,
        incarnation: str,
        policy: RestartPolicy,
        batch: int,
        greeting: Any = None,
        timeout: float | None = None,
    ) -> None:
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        self._target = target
        self._session = session
        self._name = name
        self._incarnation = incarnation
        self._policy = policy
        self._batch = batch
        self._closed = False
        self._dead: BaseException | None = None  # the host is gone for good
        self._open: Any = None  # the caller's open stream (a weakref), which holds the service
        self._recent: collections.deque[float] = collections.deque()
        self._restarts = 0
        self._seen = State.READY  # the state the host last reported, by its last answer
        self._greeting = greeting
        #: The default bound, in seconds, on how long an operation waits for the
        #: host (``None``: no bound); an operation's own ``timeout=`` overrides it.
        #: Past it: [`RayTimeoutError`][].
        self.timeout = timeout

    @property
    def state(self) -> State:
        """The service's state as this handle last saw it: READY, STREAMING, FAILED or
        CLOSED. No round trip: a property never does network I/O. What only the host
        knows (another handle on a named session closed it, its node is being lost)
        shows after the next request, or now with [`fetch_state`][]."""
        known = self._known_state()
        return self._seen if known is None else known

    @property
    def greeting(self) -> Any:
        """What the service yielded when primed (its menu text, say), or None."""
        return self._greeting

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

    def _remote(self, method: str, *args: Any) -> Any:
        """Send ``method`` to this session's host; the Ray object ref of its answer."""
        return getattr(self._target.actor, method).remote(self._session, *args)

    def _opening(self, stream: StreamBase, timeout: float | None) -> None:
        """Give ``stream`` its deadline and the service (refused while another holds it);
        a deadline already passed refuses it before anything is sent."""
        if self._open is not None:
            self._refuse_streaming("stream")
        bound, stream._at = self._deadline(timeout)
        if bound is not None:
            self._passed(stream.request, timeout, bound)
        self._open = weakref.ref(stream)

    def _drop_stream(self) -> None:
        opened = self._open() if self._open is not None else None
        self._open = None
        if opened is not None:
            opened._end()  # the host ends it as part of the request that follows

    def _known_state(self) -> State | None:
        """The state the caller knows without asking the host (closed, lost, streaming)."""
        if self._closed:
            return State.CLOSED
        if self._dead is not None:
            return State.FAILED
        opened = self._open() if self._open is not None else None
        if opened is not None and opened.is_open:
            return State.STREAMING
        return None

    def _saw(self, failure: Failure) -> None:
        """Remember the state the host reported with a failure."""
        if failure.state:
            self._seen = State(failure.state)

    def _mark_closed(self) -> bool:
        """Close on the caller's side; whether the host must still be told."""
        if self._closed:
            return False
        self._drop_stream()
        self._closed = True
        target = self._target
        if target.pool is not None:
            target.pool._released(target.index)
        return self._dead is None

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
        """Raise the error a failure record stands for (``Lost`` if the host lost us)."""
        self._saw(failure)
        if failure.kind == UNKNOWN_SESSION:
            self._refuse_if_gone("call")
            if failure.incarnation != self._incarnation:
                raise Lost(f"its Ray host actor was restarted (now {failure.incarnation[:8]})")
            self._closed = True
            raise ServiceClosedError(self._name, "another handle on this session closed it")
        raise failure.rebuild()

    def _deadline(self, timeout: float | None) -> tuple[float | None, float | None]:
        """The bound for one operation (its own, else the handle's) and its deadline."""
        bound = self.timeout if timeout is None else timeout
        if bound is not None:
            bound = deadlines.check_timeout(bound)
            outer = deadlines.remaining()  # a deadline in force (a service calling) may be earlier
            if outer is not None and bound is not None and outer < bound:
                bound = outer
        return bound, None if bound is None else time.monotonic() + bound

    def _passed(self, request: object, timeout: float | None, bound: float | None) -> None:
        """Refuse a request whose deadline has passed before it is sent (it never runs)."""
        if bound is not None and bound <= 0.0:
            raise DeadlineExceeded(
                self._name, request, self.timeout if timeout is None else timeout
            )

    def _timed_out(
        self, what: str, request: object, bound: float | None, cause: BaseException
    ) -> NoReturn:
        """Raise the error for an operation its host did not answer within ``bound``."""
        raise RayTimeoutError(
            self._name,
            f"no answer from its Ray host within {bound:g} s to {what} {short_repr(request)} "
            "(the host may be busy, or its node lost; it may still happen there)",
            request,
            bound,
        ) from cause

    @staticmethod
    def _left(deadline: float | None) -> float | None:
        """Seconds left before ``deadline`` (at least a little: Ray reads 0 as 'poll')."""
        return None if deadline is None else max(deadline - time.monotonic(), 0.001)

    def _may_restart(self, request: object, cause: BaseException) -> float:
        """Apply the restart policy to a lost host; raise if it says no.

        Returns:
            The deadline (``time.monotonic()``) for reaching the host again.
        """
        self._refuse_if_gone("call")
        self._seen = State.FAILED  # until the service is restarted on the host
        if not self._policy.allows(self._recent, time.monotonic()):
            self._dead = cause
            raise RestartLimitError(
                self._name, request, self._restarts, f"{type(cause).__name__}: {cause}"
            ) from cause
        return time.monotonic() + REOPEN_TIMEOUT

    def _retry_reopen(
        self,
        request: object,
        cause: BaseException,
        error: RayError,
        deadline: float,
        caller_deadline: float | None,
    ) -> None:
        """Return to try reopening again; raise if the host is gone or a deadline passed."""
        if isinstance(error, GetTimeoutError) or (
            caller_deadline is not None and time.monotonic() >= caller_deadline
        ):
            raise RayTimeoutError(
                self._name,
                f"its Ray host was lost ({type(cause).__name__}) while handling request "
                f"{short_repr(request)} and was not back within the caller's timeout; Ray is "
                "restarting it, and the service with it (its state is lost)",
            ) from cause
        # ActorDiedError: Ray will not restart it (max_restarts used up); any other
        # RayError: it is restarting, and tasks are refused until it is back.
        if isinstance(error, ActorDiedError) or time.monotonic() >= deadline:
            self._restarted(request, cause, error)

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
        self._seen = State.READY
        if self._target.keyed is not None:
            raise ServiceFailedError(
                self._name,
                request,
                f"lost with its Ray host actor ({type(cause).__name__}: {cause}) while handling "
                f"request {short_repr(request)}; reopened under its key: the state is back as its "
                "store kept it, with every request whose reply was returned, and with this one "
                "only if the store kept it before the host was lost",
                restarted=True,
            ) from cause
        raise ServiceFailedError(
            self._name,
            request,
            f"lost with its Ray host actor ({type(cause).__name__}: {cause}) while handling "
            f"request {short_repr(request)}; restarted from its factory (its state is lost)",
            restarted=True,
        ) from cause

    def _resume(self, cause: BaseException, resume: bool) -> None:
        """After reopening: raise [`Resumed`][] when the request never ran (the
        restarted host did not know the session) and the reopened session is keyed,
        so its state is back and the request can simply be sent again."""
        if resume and isinstance(cause, Lost) and self._target.keyed is not None:
            self._restarts += 1
            self._recent.append(time.monotonic())
            self._seen = State.READY
            raise Resumed from cause

    def _reopen_ref(self) -> Any:
        t = self._target
        return t.actor.open.remote(
            self._session, t.path, t.args, t.kwargs, t.options, True, t.keyed
        )

    def _reopened(self, result: Any) -> None:
        if type(result) is Failure:
            raise result.rebuild()
        self._incarnation = result[2]
        self._greeting = result[3]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name!r} session {self._session!r}>"


def state_of(result: Any) -> State:
    """The state a host reported (a failure record: the session is failed or unknown)."""
    if type(result) is Failure:
        return State.FAILED if result.kind != UNKNOWN_SESSION else State.CLOSED
    return State(result)


class StreamBase:
    """The items of one streamed reply, pulled in batches: what both Ray streams are.

    The flows in ``_flow`` open it, pull its batches and end it; the sync and
    async streams only drive them.
    """

    __slots__ = (
        "__weakref__",
        "_at",
        "_end_mark",
        "_handle",
        "_items",
        "_next_size",
        "_started",
        "request",
    )

    def __init__(self, handle: SessionBase, request: object, timeout: float | None) -> None:
        self._handle = handle
        self.request = request
        self._items: collections.deque[Any] = collections.deque()
        #: ``None`` while the host may send more; ``True`` once it ended; a
        #: [`Failure`][] when it failed after the items still buffered.
        self._end_mark: bool | Failure | None = None
        self._started = False  # the request was sent (the first batch asked for)
        self._next_size = min(FIRST_BATCH, handle._batch)
        self._at: float | None = None  # the stream's deadline (``time.monotonic()``)
        handle._opening(self, timeout)

    @property
    def is_open(self) -> bool:
        """True until the stream ends, fails or is cancelled."""
        return bool(self._items) or self._end_mark is None or type(self._end_mark) is Failure

    def _grow(self) -> int:
        """The size of the next batch to pull; batches double up to the handle's ``batch``."""
        size = self._next_size
        self._next_size = min(2 * size, self._handle._batch)
        return size

    def _left(self) -> float | None:
        """Seconds left before the stream's deadline (None: no deadline)."""
        return None if self._at is None else max(self._at - time.monotonic(), 0.001)

    def _let_go(self) -> None:
        """No longer hold the service (its state is what the host last reported)."""
        handle = self._handle
        if handle._open is not None and handle._open() is self:
            handle._open = None

    def _finish(self) -> None:
        """The stream ended: the service is READY (a failure the host reports overrides it)."""
        handle = self._handle
        if handle._open is not None and handle._open() is self:
            handle._open = None
            handle._seen = State.READY

    def _late(self) -> bool:
        """Whether the stream's deadline passed while the host still streams."""
        return self._at is not None and self._end_mark is None and time.monotonic() >= self._at

    def _deadline_error(self) -> DeadlineExceeded:
        return DeadlineExceeded(
            self._handle._name,
            self.request,
            None,
            f"the stream for request {short_repr(self.request)} passed its deadline "
            "and was cancelled",
        )

    def _end(self) -> None:
        """Forget what is left (the handle reset or closed the service)."""
        self._items.clear()
        self._end_mark = True

    def __repr__(self) -> str:
        state = "open" if self.is_open else "done"
        return f"<{type(self).__name__} of {self._handle.name!r} ({state})>"
