"""Replaying a journal one entry at a time into a fresh service, stopping anywhere.

A [`Replay`][] owns one instance of a service (sync, or async on a private event
loop) and applies entries to it one by one: each [`apply`][Replay.apply] runs
one step and says what the service answered. Between two steps the generator is
suspended, so its frames (the ``yield from`` chain, each one's line and locals)
can be looked at, which is what time travel shows.

Every step runs under [`during_replay`][nanoservices.core.during_replay], so
the service's [`replaying`][nanoservices.replaying] is true.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import GeneratorType
from typing import Any

import msgspec

from nanoservices import ServiceError, State
from nanoservices.core import during_replay
from nanoservices.observe import Inspection, inspect_service

from ._entries import END_OK, UNCHECKED, Entry, Kind, decoder_for, digest_error, digest_reply
from ._errors import JournalError, JournalTypeError
from ._journal import Snapshots
from ._replayable import Replayable

__all__ = ["RESULT", "SECRET_NAMES", "Outcome", "Replay", "decode_step"]

RESULT = 9  # a Replayable's recorded result (as the durable handle writes it)
#: ``redact=`` left to ``inspect_service``'s default (names that look secret).
SECRET_NAMES: Any = inspect.signature(inspect_service).parameters["redact"].default


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the service answered to one replayed entry: a reply or an error (or
    nothing, for entries that carry no answer), and whether its digest is the
    journalled one."""

    reply: object = None
    error: BaseException | None = None
    matches: bool = True
    answered: bool = False  # False: the entry carries no answer (reset, cancel, result)


def decode_step(
    entry: Entry, decode: Callable[[bytes], Any], check: Any, service: str, key: str
) -> object:
    """What an entry carries, as the service saw it: a request rebuilt as the
    service's request type, a thrown exception, a recorded result, or None."""
    kind = entry.kind
    if kind in (Kind.CALL, Kind.STREAM):
        try:
            request = decode(entry.body)
        except msgspec.DecodeError as exc:
            raise JournalTypeError(
                service, key, entry.seq, msgspec.msgpack.decode(entry.body), str(exc)
            ) from None
        reason = check(request) if check is not None else None
        if reason is not None:
            raise JournalTypeError(service, key, entry.seq, request, reason)
        return request
    if kind == Kind.THROW:
        module, qualname, args = msgspec.msgpack.decode(entry.body)
        cls: Any = sys.modules.get(module)
        for part in qualname.split("."):
            cls = getattr(cls, part, None)
        if not (isinstance(cls, type) and issubclass(cls, BaseException)):
            raise JournalError(
                service,
                key,
                f"entry {entry.seq} throws {module}.{qualname}, which is not a loaded "
                "exception class",
            )
        return cls(*args)
    if kind == RESULT:
        return msgspec.msgpack.decode(entry.body)
    return None


class Replay:
    """One fresh instance of ``factory(*args, **kwargs)`` being fed a journal."""

    def __init__(
        self, factory: Any, args: tuple[Any, ...], kwargs: dict[str, Any], *, key: str
    ) -> None:
        self.spec = factory.spec
        self.key = key
        self.is_async = _is_async(factory)
        self._decode = decoder_for(self.spec.request_type).decode
        self._replayables = [a for a in (*args, *kwargs.values()) if isinstance(a, Replayable)]
        self._loop: asyncio.Runner | None = None
        self._stream: Any = None
        for rep in self._replayables:
            rep._replay(False)  # a fresh instance: forget what an earlier replay was fed
        if self.is_async:
            self._loop = asyncio.Runner()
            self.handle: Any = self._loop.run(_started(factory(*args, **kwargs)))
        else:
            self.handle = factory(*args, **kwargs)
        for rep in self._replayables:  # as a durable handle does after starting its service
            rep._replay(True)

    @property
    def name(self) -> str:
        return str(self.spec.name)

    @property
    def state(self) -> State:
        state: State = self.handle.state
        return state

    @property
    def streaming(self) -> bool:
        return self._stream is not None

    def request_of(self, entry: Entry) -> object:
        """What ``entry`` carries, decoded as the service's types (see [`decode_step`][])."""
        return decode_step(entry, self._decode, self.spec.check, self.name, self.key)

    def _run(self, value: Any) -> Any:
        """``value``, run on the private loop when it is a coroutine (async services)."""
        if self._loop is not None and asyncio.iscoroutine(value):
            return self._loop.run(value)
        return value

    def apply(self, entry: Entry, request: object) -> Outcome:
        """Run ``entry`` (whose decoded ``request`` is given) and say what came of it."""
        kind = entry.kind
        if kind == RESULT:
            for rep in self._replayables:
                rep._feed(entry.body)
            return Outcome()
        with during_replay():
            return self._step(kind, request, entry)

    def _step(self, kind: int, request: object, entry: Entry) -> Outcome:
        handle = self.handle
        reply: object = None
        try:
            if kind == Kind.CALL:
                reply = self._run(handle.call(request))
            elif kind == Kind.STREAM:
                self._stream = handle.stream(request)
                if self._loop is not None:
                    self._run(self._stream.open())
                reply = 0
            elif kind in (Kind.ITEM, Kind.END):
                reply = self._next_item()
            elif kind == Kind.CANCEL:
                self._cancel()
                return Outcome()
            elif kind == Kind.THROW:
                self._stream = None
                reply = self._run(handle.throw(request))
            elif kind in (Kind.RESET, Kind.RESTART):
                self._stream = None
                with contextlib.suppress(ServiceError):
                    self._run(handle.reset() if kind == Kind.RESET else handle.restart())
                return Outcome()
            else:
                raise JournalError(
                    self.name, self.key, f"entry {entry.seq} has an unknown kind {kind}"
                )
        except (StopIteration, StopAsyncIteration):
            self._stream = None
            return Outcome(None, None, entry.digest in (END_OK, UNCHECKED), True)
        except JournalError:
            raise
        except Exception as exc:
            if kind in (Kind.ITEM, Kind.END, Kind.STREAM):
                self._stream = None
            digest = digest_error(exc)
            return Outcome(None, exc, entry.digest in (digest, UNCHECKED), True)
        digest = 0 if kind == Kind.STREAM else digest_reply(reply)
        if kind == Kind.STREAM:
            reply = None
        return Outcome(reply, None, entry.digest in (digest, UNCHECKED), True)

    def _next_item(self) -> object:
        if self._stream is None:
            raise StopIteration
        if self._loop is not None:
            return self._loop.run(self._stream.__anext__())
        return next(self._stream)

    def _cancel(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(ServiceError):
                self._run(stream.aclose() if self._loop is not None else stream.cancel())

    def innermost_frame(self) -> Any:
        """The frame of the innermost generator of the ``yield from`` chain: the one the
        next request resumes (None for an async service, or a finished one)."""
        if self._loop is not None:
            return None
        gen = self.handle.generator
        while isinstance(getattr(gen, "gi_yieldfrom", None), GeneratorType):
            gen = gen.gi_yieldfrom
        return getattr(gen, "gi_frame", None)

    def inspect(self, redact: Any) -> Inspection:
        """The service's frames now, locals redacted as ``inspect_service`` redacts."""
        return inspect_service(self.handle, redact=redact)

    def take(self, snapshots: Snapshots) -> bytes | None:
        """The state, as ``snapshots.take`` gives it (MessagePack), or None when it
        cannot be taken now (inside a stream, or the service is not ready)."""
        if self._stream is not None or self.state is not State.READY:
            return None
        with during_replay():
            state = self._run(snapshots.take(self._untracked()))
        return msgspec.msgpack.encode(state)

    def restore(self, snapshots: Snapshots, body: bytes) -> None:
        """Put a state taken by [`take`][] (or a stored snapshot) back."""
        state = msgspec.msgpack.decode(body, type=snapshots.state_type)
        with during_replay():
            self._run(snapshots.restore(self._untracked(), state))

    def _untracked(self) -> Any:
        if self._loop is None:
            return self.handle
        return _Awaiting(self.handle)

    def close(self) -> None:
        """Close the instance (and the private loop of an async service)."""
        for rep in self._replayables:
            rep._replay(False)
        with contextlib.suppress(Exception):
            if self._loop is not None:
                self._loop.run(self.handle.aclose())
            else:
                self.handle.close()
        if self._loop is not None:
            self._loop.close()
            self._loop = None


class _Awaiting:
    """What ``Snapshots.take``/``restore`` get for an async service (as the async
    durable handle gives them): ``await h.call(x)``."""

    __slots__ = ("_handle",)

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    async def call(self, request: object) -> Any:
        return await self._handle.call(request)

    __call__ = call


async def _started(starting: Any) -> Any:
    return await starting


def _is_async(factory: Any) -> bool:
    aio = sys.modules.get("nanoservices.aio")
    return aio is not None and isinstance(factory, aio.AsyncServiceFactory)
