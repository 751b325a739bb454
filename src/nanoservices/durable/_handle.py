"""The durable handle: a local handle whose every accepted request is journalled.

It is a layer on a [`LocalHandle`][nanoservices.LocalHandle] (public API only), like
supervision: ``call`` runs the request, appends ``(request, digest of the
outcome)`` to the key's journal, then returns the reply. Opening a key starts a
fresh generator from the factory, restores the last snapshot (if any) and
replays the entries after it through the same handle, replies discarded and
digests compared. The generator itself never knows.

Opening, replaying, snapshotting and journalling are the flows of
[`_flow`][nanoservices.durable._flow], which this handle drives on its local
handle ([`_do`][DurableHandle._do]); ``call`` is the hot path, written out here.

Not journalled, because the service never saw them: requests refused by
validation, calls refused by the state (closed, streaming, busy).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import msgspec

from nanoservices import (
    DeadlineExceeded,
    LocalHandle,
    State,
    remaining,
)
from nanoservices.core import ReplyStream, short_repr

from . import _effects as fx
from . import _flow
from ._entries import CALL, Kind, digest_reply, encode, throw_body
from ._journal import DEFAULT_PATH, DurableStats, Journal, Snapshots
from ._store import JournalStore

if TYPE_CHECKING:
    from nanoservices.core import ServiceFactory

__all__ = ["DEFAULT_PATH", "DurableHandle", "DurableStats", "DurableStream", "Snapshots", "durable"]

RequestT = TypeVar("RequestT")
ReplyT = TypeVar("ReplyT")
T = TypeVar("T")


def durable(
    factory: ServiceFactory[Any, RequestT, ReplyT],
    *args: Any,
    key: str,
    store: JournalStore | str | Path | None = None,
    snapshots: Snapshots | None = None,
    **kwargs: Any,
) -> DurableHandle[RequestT, ReplyT]:
    """Open the durable service ``factory(*args, **kwargs)`` under ``key``.

    ``store`` is a [`JournalStore`][], or a path to an SQLite file (then owned
    and closed by the handle; default ``nanoservices-journal.sqlite`` in sync
    mode). Raises [`KeyLockedError`][] when another handle holds the key.
    """
    return DurableHandle(factory, args, kwargs, key=key, store=store, snapshots=snapshots)


class DurableHandle(Generic[RequestT, ReplyT]):
    """A service whose state survives its process: see [`durable`][]."""

    def __init__(
        self,
        factory: ServiceFactory[Any, RequestT, ReplyT],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        key: str,
        store: JournalStore | str | Path | None,
        snapshots: Snapshots | None,
    ) -> None:
        arguments = (*args, *kwargs.values())
        self._journal = journal = Journal(factory.spec, key, store, snapshots, arguments)
        self.key = key
        self.store = journal.store
        self._factory = factory
        self._args = args, kwargs
        self._ready = False  # True while a call may take the hot path
        #: The handle-wide default deadline in seconds for ``call`` and ``stream``
        #: (None: none); a call's own ``timeout=`` overrides it.
        self.timeout: float | None = None
        self._stream: object | None = None  # the open stream's token (never the stream)
        self._closed = False
        self._inner: LocalHandle[RequestT, ReplyT] | None = None
        fx.run(_flow.open_key(journal), self._do)
        journal.on_broken = self._stop
        self._ready = self.handle.state is State.READY and self._stream is None

    # -- the driver: what the flows ask of the service --------------------------------------

    def _do(self, effect: fx.Effect) -> Any:
        """Do one effect of a flow on the local handle (nothing journalled here)."""
        inner = self._inner
        if effect is fx.START:
            args, kwargs = self._args
            self._inner = self._factory(*args, **kwargs)
            self._send = self._inner.call
            self._journal.named = self._inner
            return None
        assert inner is not None
        match effect:
            case fx.Call(request):
                return inner.call(request)  # type: ignore[arg-type]
            case fx.OpenStream(request):
                return inner.stream(request)  # type: ignore[arg-type]
            case fx.NextItem(cursor):
                return next(cursor, fx.END)
            case fx.CancelStream(cursor):
                return cursor.cancel()
            case fx.IsOpen(cursor):
                return cursor.is_open
            case fx.ThrowIn(exc):
                return inner.throw(exc)
            case fx.Restore(state):
                return self._snapshots().restore(inner, state)
        if effect is fx.TAKE:
            return self._snapshots().take(inner)
        if effect is fx.QUIET:
            return self._stream is None and inner.state is State.READY
        if effect is fx.RESET:
            return inner.reset()
        if effect is fx.RESTART:
            return inner.restart()
        assert effect is fx.CLOSE, effect
        return inner.close()

    def _snapshots(self) -> Snapshots:
        snaps = self._journal.snapshots
        assert snaps is not None  # the flows ask for state only with snapshots=
        return snaps

    def _run(self, flow: fx.Flow[T]) -> T:
        return fx.run(flow, self._do)

    def _stop(self) -> None:
        """The service has moved on and its journal has not: stop here."""
        self._closed = True
        self._ready = False
        with contextlib.suppress(Exception):
            self.handle.close()

    # -- the hot path ---------------------------------------------------------------------

    def call(self, request: RequestT, /, *, timeout: float | None = None) -> ReplyT:
        """Run ``request``, journal it with its outcome's digest, return the reply.

        ``timeout``: a deadline, as for a local handle: checked before the service
        runs (passed: ``DeadlineExceeded``, nothing journalled), then readable by
        the service through ``remaining()``; the service is not interrupted.
        """
        if timeout is not None or self.timeout is not None:
            given = self.timeout if timeout is None else timeout
            return self._within(self.call, request, given)
        if not self._ready:  # closed, streaming, failed: off the hot path
            return self._call_not_ready(request)
        try:
            body = encode(request)
        except (TypeError, msgspec.EncodeError) as exc:
            raise self._journal.unencodable(request, exc) from None
        try:
            reply = self._send(request)
        except Exception as exc:
            self._ready = self.handle.state is State.READY
            self._run(_flow.failed(self._journal, CALL, body, request, exc))
            raise
        if self._journal.append(CALL, body, digest_reply(reply)):
            self._run(_flow.snapshot_if_due(self._journal))
        return reply

    def _call_not_ready(self, request: RequestT) -> ReplyT:
        self._journal.body(request)  # a closed durable handle says so
        inner = self.handle
        if inner.state is State.READY and self._stream is None:
            self._ready = True
            return self.call(request)
        return inner.call(request)  # refused by the state: raises, nothing journalled

    __call__ = call

    # -- the other operations ---------------------------------------------------------------

    def _within(self, op: Callable[[Any], T], request: object, timeout: float | None) -> T:
        """``op(request)`` (``call`` or ``stream``) under the deadline ``timeout`` from now:
        refused (nothing journalled) if it has passed; for a call, in force while the
        service runs (the inner handle's default, for that call)."""
        inner = self.handle
        default, inner_default = self.timeout, inner.timeout
        inner.timeout = timeout  # checks it: a number of seconds >= 0
        try:
            outer = remaining()
            if not timeout or (outer is not None and outer <= 0):
                raise DeadlineExceeded(self.name, request, timeout)
            self.timeout = None  # the deadline now in force replaces the default
            if op == self.stream:
                inner.timeout = inner_default  # a durable stream is not cut between items
            return op(request)
        finally:
            inner.timeout = inner_default
            self.timeout = default

    def stream(self, request: RequestT, /, *, timeout: float | None = None) -> DurableStream[Any]:
        """Open a streamed reply; each item handed out is journalled (so a replay
        reads the stream exactly as far as the caller did).

        ``timeout``: a deadline checked before the stream opens (passed:
        ``DeadlineExceeded``, nothing journalled); a durable stream is not cut
        between items by a deadline (its journal replays it item for item):
        cancel it yourself.
        """
        if timeout is not None or self.timeout is not None:
            given = self.timeout if timeout is None else timeout
            return self._within(self.stream, request, given)
        replies = self._run(_flow.open_stream(self._journal, request))
        stream: DurableStream[Any] = DurableStream(self, replies, request)
        self._stream = stream._token
        self._ready = False
        return stream

    def throw(self, exc: BaseException | type[BaseException], /) -> Any:
        """Raise ``exc`` inside the service (journalled by its class and arguments)."""
        self._journal.check()
        self._stream = None
        try:
            return self._run(
                _flow.journalled(self._journal, Kind.THROW, throw_body(exc), fx.ThrowIn(exc), exc)
            )
        finally:
            self._ready = self.handle.state is State.READY

    def reset(self) -> None:
        """Back to waiting for a request (journalled)."""
        self._lifecycle(fx.RESET, Kind.RESET)

    def restart(self) -> None:
        """A fresh generator from the factory (journalled: replay restarts too)."""
        self._lifecycle(fx.RESTART, Kind.RESTART)

    def _lifecycle(self, effect: fx.Effect, kind: Kind) -> None:
        self._journal.check()
        self._stream = None
        try:
            self._run(_flow.lifecycle(self._journal, kind, effect))
        finally:
            self._ready = self.handle.state is State.READY

    def snapshot(self) -> bool:
        """Store the service's state now and compact the journal to it.

        False (nothing done) without ``snapshots=``, or while a stream is open.
        """
        return bool(self._run(_flow.snapshot_flow(self._journal)))

    def close(self) -> None:
        """Close the running instance and give the key back; the journal stays, so
        opening the key again brings the state back. Closing twice is fine."""
        if self._journal.released:
            return
        self._closed = True
        self._ready = False
        stream_open, self._stream = self._stream is not None, None
        self._run(_flow.close(self._journal, stream_open))

    def __enter__(self) -> DurableHandle[RequestT, ReplyT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- what it tells ---------------------------------------------------------------

    @property
    def name(self) -> str:
        """The service's name, as its local handle answers to it (renamed when served
        under another name)."""
        return self.handle.name

    @property
    def state(self) -> State:
        return self.handle.state

    @property
    def greeting(self) -> Any:
        return self.handle.greeting

    @property
    def handle(self) -> LocalHandle[RequestT, ReplyT]:
        """The local handle underneath (calls through it are NOT journalled)."""
        inner = self._inner
        assert inner is not None  # set as the handle opens
        return inner

    @property
    def local(self) -> LocalHandle[RequestT, ReplyT]:
        """The local handle underneath, for observers: hooks subscribed to a durable
        handle see its service's events (``nanoservices.observe`` finds it here)."""
        return self.handle

    @property
    def stats(self) -> DurableStats:
        """The journal's figures now."""
        return self._journal.stats

    def observe_extra(self) -> dict[str, object]:
        """What ``nanoservices.observe`` shows beside a durable service's statistics and
        inspection (``Statistics.extra``): the figures of [`stats`][]."""
        return self._journal.observe_extra()

    def __repr__(self) -> str:
        return f"<DurableHandle {self.name!r} key={self.key!r} {self.state.value} {self.store!r}>"


ItemT = TypeVar("ItemT")


class DurableStream(Generic[ItemT]):
    """A streamed reply of a durable handle: each item handed out is journalled,
    and so is how it ended (finished, failed, or cancelled by the caller)."""

    __slots__ = ("_handle", "_replies", "_token", "request")

    def __init__(
        self, handle: DurableHandle[Any, Any], replies: ReplyStream[ItemT], request: object
    ) -> None:
        self._handle = handle
        self._replies = replies
        self._token = object()  # the handle keeps this, so a dropped stream is freed
        self.request = request

    def __iter__(self) -> Iterator[ItemT]:
        return self

    def __next__(self) -> ItemT:
        handle = self._handle
        if handle._stream is not self._token:
            raise StopIteration
        item: ItemT = fx.run(_flow.next_item(handle._journal, self._replies), self._do)
        if item is fx.END:
            raise StopIteration
        return item

    def _do(self, effect: fx.Effect) -> Any:
        """The handle's driver, but that the stream's end frees the handle before its
        end is journalled (so a snapshot may follow it)."""
        if type(effect) is not fx.NextItem:
            return self._handle._do(effect)
        try:
            return next(self._replies)
        except StopIteration:
            self._ended()
            return fx.END
        except Exception:
            self._ended()
            raise

    def _ended(self) -> None:
        handle = self._handle
        if handle._stream is self._token:
            handle._stream = None
            handle._ready = not handle._closed and handle.handle.state is State.READY

    @property
    def is_open(self) -> bool:
        return self._handle._stream is self._token

    def cancel(self) -> None:
        """Stop early (journalled, so a replay stops at the same item)."""
        handle = self._handle
        if handle._stream is not self._token:
            return
        handle._stream = None
        try:
            handle._run(_flow.cancel_stream(handle._journal, self._replies))
        finally:
            handle._ready = not handle._closed and handle.handle.state is State.READY

    close = cancel
    """The same as `cancel`, under the name generators use."""

    def __enter__(self) -> DurableStream[ItemT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()

    def __del__(self) -> None:
        if self._handle._stream is self._token:
            with contextlib.suppress(Exception):
                self.cancel()

    def __repr__(self) -> str:
        state = "open" if self.is_open else "done"
        return f"<DurableStream of {self._handle.name!r} for {short_repr(self.request)} ({state})>"
