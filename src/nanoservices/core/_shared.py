"""The thread-shared handle: one lock around a local handle.

The default handle refuses concurrent use (cheaply, on the error path); this one
serializes it, for services that several threads must reach. The lock is the
whole cost, and only handles that asked for it pay it. A stream holds the lock
until it ends or is cancelled, so no other thread can slip a request into the
middle of someone else's stream.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from . import _deadline
from ._accel import accelerate
from ._errors import DeadlineExceeded, ReentryError, ServiceBusyError
from ._protocol import Stream
from ._state import State
from ._stream import ReplyStream
from ._supervise import SupervisionStats

if TYPE_CHECKING:  # types only: the local handle makes its shared twin (``shared()``)
    from ._handle import LocalHandle

__all__ = ["ACCELERATED_SHARED", "PureSharedHandle", "SharedHandle", "SharedStream"]

_get_ident = threading.get_ident

RequestT = TypeVar("RequestT")
ReplyT = TypeVar("ReplyT")
ItemT = TypeVar("ItemT")
T = TypeVar("T")


class SharedHandle(Generic[RequestT, ReplyT]):
    """A handle that many threads may call; calls take turns.

    ``timeout`` (seconds) bounds the wait for a turn; past it the call raises
    ``ServiceBusyError``. A thread calling the service from inside it (re-entry)
    gets ``ReentryError`` at once instead of a deadlock.

    A call records nothing: its whole cost is the lock's acquire and release
    around the local handle's call. Who holds the turn is worked out only when
    the acquire fails (re-entry: this thread's own call or operation is on its
    stack; or a stream this thread opened still holds the service). The slower
    operations (stream, reset, throw, restart, close) note their thread, which a
    stream needs long after its opening frame has returned.

    With the C accelerator, ``call`` and ``__call__`` are C code doing the same
    (an uncontended call without a deadline: take the lock without waiting, call
    the local handle, give the lock back) and the lock is the accelerator's own
    (it notes which thread's C call holds it, since that call leaves no frame);
    everything else, and any call the C code does not finish, is this class.
    """

    __slots__ = ("_default", "_handle", "_lock", "_open_stream", "_owner", "_timeout")

    #: Makes the lock: the C type has its own, which its ``call`` takes directly.
    _new_lock: Any = threading.Lock

    def __init__(self, handle: LocalHandle[RequestT, ReplyT], timeout: float | None = None) -> None:
        if timeout is not None and timeout < 0:
            raise ValueError(f"timeout must be >= 0 or None, got {timeout}")
        self._handle = handle
        self._lock = self._new_lock()
        self._owner: int | None = None  # the thread of a stream or an operation (not a call)
        # weak: the stream holds this handle, and a dropped stream must be freed
        # at once (a ``break``) to give the lock back
        self._open_stream: weakref.ref[SharedStream[Any]] | None = None
        self._timeout = -1.0 if timeout is None else timeout
        self._default: float | None = None  # the handle-wide default deadline (seconds)

    def _wait(self, what: str) -> None:
        """The acquire failed: refuse re-entry at once, otherwise wait for a turn."""
        if self._owner == _get_ident():
            if self._handle._state is State.STREAMING:
                raise ServiceBusyError(
                    self.name, f"cannot {what}: a stream this thread opened still holds the service"
                )
            raise ReentryError(self.name, f"cannot {what}: the service called itself")
        if self._held_here(what):
            raise ReentryError(self.name, f"cannot {what}: the service called itself")
        if not self._lock.acquire(timeout=self._timeout):
            raise ServiceBusyError(
                self.name, f"cannot {what}: still busy after waiting {self._timeout:g}s for a turn"
            )

    def _held_here(self, what: str) -> bool:
        """Whether this thread's own ``call`` on this handle holds the lock: one of
        its frames is on this thread's stack (only asked when the acquire failed).

        A ``call`` that asks ("call") has its own frame on the stack, so it takes a
        second one; an operation (stream, reset...) is never run from inside this
        handle's ``call`` except by re-entry, so one is enough. Counting, not frame
        depths, keeps this right whatever path asked (``call``, its deadline path).
        """
        if getattr(self._lock, "call_owner", 0) == _get_ident():
            return True  # the C call holds it, in this thread (it has no frame)
        needed = 2 if what == "call" else 1
        frame: FrameType | None = sys._getframe(1)
        while frame is not None:
            if frame.f_code is _CALL_CODE and frame.f_locals.get("self") is self:
                needed -= 1
                if needed == 0:
                    return True
            frame = frame.f_back
        return False

    def _acquire(self, what: str) -> None:
        if not self._lock.acquire(False):
            self._wait(what)
        self._owner = _get_ident()

    def _release(self) -> None:
        self._owner = None
        self._open_stream = None
        self._lock.release()

    # ``timeout`` by keyword, not declared keyword-only: as ``LocalHandle.call`` (speed).
    def call(self, request: RequestT, /, timeout: float | None = None) -> ReplyT:
        """Wait for a turn, then send ``request`` and return the reply.

        ``timeout`` (or the handle's default): a deadline in seconds that counts
        the wait for the turn; then as for ``LocalHandle.call``.
        """
        if timeout is not None or self._default is not None:
            return self._call_within(request, timeout)
        lock = self._lock
        if not lock.acquire(False):  # uncontended: the common case, nothing recorded
            self._wait("call")
        try:
            return self._handle.call(request)
        finally:
            lock.release()

    __call__ = call

    @overload
    def stream(
        self: SharedHandle[RequestT, Stream[ItemT]],
        request: RequestT,
        /,
        *,
        timeout: float | None = None,
    ) -> SharedStream[ItemT]: ...

    @overload
    def stream(
        self, request: RequestT, /, *, timeout: float | None = None
    ) -> SharedStream[ReplyT]: ...

    def stream(self, request: Any, /, *, timeout: float | None = None) -> SharedStream[Any]:
        """Open a stream; it holds the service (and its lock) until it ends.

        ``timeout`` (or the handle's default): a deadline for the whole stream
        that counts the wait for the turn; then as for ``LocalHandle.stream``.
        """
        if timeout is None:
            timeout = self._default
        if timeout is None:
            self._acquire("stream")
        else:
            timeout = self._acquire_within("stream", request, timeout)
        try:
            inner = self._handle.stream(request, timeout=timeout)
        except BaseException:
            self._release()
            raise
        if not inner.is_open:
            self._release()
            return SharedStream(inner, None)
        opened = SharedStream(inner, self)
        self._open_stream = weakref.ref(opened)
        return opened

    # -- deadlines (off the common path: only with a timeout) ----------------------------

    def _acquire_within(self, what: str, request: object, timeout: float) -> float:
        """Take a turn before the deadline ``timeout`` seconds from now; the seconds left."""
        at = _deadline.deadline_at(_deadline.check_timeout(timeout))
        assert at is not None
        if self._lock.acquire(False):
            self._owner = _get_ident()
        else:
            wait = _deadline.left(at) or 0.0
            if self._owner == _get_ident() or self._held_here(what) or 0 <= self._timeout < wait:
                self._acquire(what)  # re-entry, or the lock's own bound is the tighter one
            elif self._lock.acquire(timeout=wait):
                self._owner = _get_ident()
            else:
                raise DeadlineExceeded(
                    self.name,
                    request,
                    timeout,
                    f"cannot {what}: the deadline ({timeout:g}s) passed while waiting for a turn",
                )
        return _deadline.left(at) or 0.0

    def _call_within(self, request: RequestT, timeout: float | None) -> ReplyT:
        if timeout is None:
            timeout = self._default
        assert timeout is not None
        left = self._acquire_within("call", request, timeout)
        try:
            if left == 0.0:
                raise DeadlineExceeded(self.name, request, timeout)
            return self._handle.call(request, timeout=left)
        finally:
            self._release()

    @property
    def timeout(self) -> float | None:
        """The handle-wide default deadline in seconds for ``call`` and ``stream``
        (None: none), counting the wait for a turn; a call's own ``timeout=`` wins."""
        return self._default

    @timeout.setter
    def timeout(self, seconds: float | None) -> None:
        self._default = _deadline.check_timeout(seconds)

    def _end_own_stream(self) -> None:
        """A stream this thread opened gives way to this thread's reset or close."""
        opened = self._open_stream() if self._open_stream is not None else None
        if opened is not None and self._owner == _get_ident():
            opened.cancel()

    def _release_own_stream(self) -> None:
        """A stream this thread opened gives the lock back to this thread's throw or
        restart, which end it themselves (the handle closes its source)."""
        opened = self._open_stream() if self._open_stream is not None else None
        if opened is not None and self._owner == _get_ident():
            opened._give_back()

    def _locked(self, op: str, fn: Callable[..., T], *args: Any) -> T:
        self._acquire(op)
        try:
            return fn(*args)
        finally:
            self._release()

    def reset(self) -> None:
        """Reset the service, ending a stream this thread opened. An open stream
        of another thread is not yours to cancel: this waits for it like any call."""
        self._end_own_stream()
        self._locked("reset", self._handle.reset)

    def throw(self, exc: BaseException | type[BaseException], /) -> Any:
        """Raise ``exc`` inside the service at its current ``yield`` (a stream this
        thread opened ends first)."""
        self._release_own_stream()
        return self._locked("throw", self._handle.throw, exc)

    def restart(self) -> None:
        """Replace the generator with a fresh one from the factory (a stream this
        thread opened ends first)."""
        self._release_own_stream()
        self._locked("restart", self._handle.restart)

    def close(self) -> None:
        """Close the service once every other caller's turn is over."""
        self._end_own_stream()
        self._locked("close", self._handle.close)

    def __enter__(self) -> SharedHandle[RequestT, ReplyT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def name(self) -> str:
        return self._handle.name

    @property
    def state(self) -> State:
        return self._handle.state

    @property
    def greeting(self) -> Any:
        """What the service yielded when primed, or None."""
        return self._handle.greeting

    @property
    def supervision(self) -> SupervisionStats:
        """What the restart policy did: failures, restarts, last error."""
        return self._handle.supervision

    @property
    def local(self) -> LocalHandle[RequestT, ReplyT]:
        """The wrapped local handle (for inspection)."""
        return self._handle

    def __repr__(self) -> str:
        return f"<SharedHandle {self.name!r} {self.state.value}>"


_CALL_CODE = SharedHandle.call.__code__

#: The pure-Python shared handle: the reference implementation, and the fallback.
PureSharedHandle = SharedHandle

#: Whether ``SharedHandle`` is the C accelerator's type (see ``_accel``).
ACCELERATED_SHARED: bool
if not TYPE_CHECKING:
    SharedHandle, ACCELERATED_SHARED = accelerate(PureSharedHandle, "SharedHandle")


class SharedStream(Generic[ItemT]):
    """A stream of a shared handle: gives the lock back when it is over."""

    __slots__ = ("__weakref__", "_inner", "_shared")

    def __init__(self, inner: ReplyStream[ItemT], shared: SharedHandle[Any, Any] | None) -> None:
        self._inner = inner
        self._shared = shared

    def __iter__(self) -> Iterator[ItemT]:
        return self

    def __next__(self) -> ItemT:
        try:
            return next(self._inner)
        except BaseException:
            self._give_back()
            raise

    def _give_back(self) -> None:
        shared, self._shared = self._shared, None
        if shared is not None:
            shared._release()

    def cancel(self) -> None:
        """Stop early and give the service back."""
        try:
            self._inner.cancel()
        finally:
            self._give_back()

    close = cancel
    """The same as `cancel`, under the name generators use."""

    @property
    def is_open(self) -> bool:
        return self._inner.is_open

    def __enter__(self) -> SharedStream[ItemT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()

    def __del__(self) -> None:
        if self._shared is not None:
            self.cancel()
