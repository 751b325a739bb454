"""Replaying a journal one entry at a time into a fresh service, stopping anywhere.

A [`Replayer`][] owns one instance of a service (sync, or async on a private
event loop) and drives the durable layer's [`Replay`][] flow on it, one entry
at a time: each [`apply`][Replayer.apply] runs one step and says what the
service answered. Between two steps the generator is
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
from dataclasses import dataclass
from types import FrameType, GeneratorType
from typing import Any

import msgspec

from nanoservices import State
from nanoservices.core import during_replay
from nanoservices.observe import Inspection, inspect_service

from ._effects import (
    END,
    RESET,
    RESTART,
    Call,
    CancelStream,
    Effect,
    IsOpen,
    NextItem,
    OpenStream,
    ThrowIn,
    run,
)
from ._entries import RESULT, Entry, Kind
from ._errors import ReplayMismatchError
from ._journal import Snapshots
from ._replay import Replay
from ._replayable import Replayable

__all__ = ["RESULT", "SECRET_NAMES", "Outcome", "Replayer", "decode_step"]

#: ``redact=`` left to ``inspect_service``'s default (names that look secret).
SECRET_NAMES: Any = inspect.signature(inspect_service).parameters["redact"].default


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the service answered to one replayed entry: a reply or an error (nothing,
    for entries that carry no answer), and whether its digest is the journalled one."""

    reply: object = None
    error: BaseException | None = None
    matches: bool = True


def decode_step(replay: Replay, entry: Entry) -> object:
    """What ``entry`` carries, as the service saw it: a request rebuilt as the
    service's request type, a thrown exception, a recorded result, or None."""
    kind = entry.kind
    if kind in (Kind.CALL, Kind.STREAM):
        return replay._decode_request(entry)
    if kind == Kind.THROW:
        return replay._decode_exception(entry)
    if kind == RESULT:
        return msgspec.msgpack.decode(entry.body)
    return None


class Replayer:
    """One fresh instance of ``factory(*args, **kwargs)`` fed a journal's ``entries``
    (those after ``start_seq``) by the durable layer's [`Replay`][] flow."""

    def __init__(
        self,
        factory: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        key: str,
        entries: list[Entry],
        start_seq: int,
    ) -> None:
        self.spec = factory.spec
        self.is_async = _is_async(factory)
        self._replayables = [a for a in (*args, *kwargs.values()) if isinstance(a, Replayable)]
        self._loop: asyncio.Runner | None = None
        self._answer: Outcome = Outcome()
        for rep in self._replayables:
            rep._replay(False)  # a fresh instance: forget what an earlier replay was fed
        if self.is_async:
            self._loop = asyncio.Runner()
            self.handle: Any = self._loop.run(_started(factory(*args, **kwargs)))
        else:
            self.handle = factory(*args, **kwargs)
        for rep in self._replayables:  # as a durable handle does after starting its service
            rep._replay(True)
        self.replay = Replay(
            self.spec.name,
            key,
            entries,
            self.spec,
            start_seq=start_seq,
            replayables=self._replayables,
        )

    @property
    def state(self) -> State:
        state: State = self.handle.state
        return state

    def apply(self) -> Outcome:
        """Replay the next entry and say what the service answered; a reply that differs
        from the journal's comes back with ``matches`` False (the service moved on)."""
        self._answer = Outcome()
        try:
            run(self.replay.step(), self._do)
        except ReplayMismatchError:
            answer = self._answer
            return Outcome(answer.reply, answer.error, matches=False)
        return self._answer

    def _do(self, effect: Effect) -> Any:
        """Do one effect of the replay on the service, keeping what it answered."""
        try:
            answer = self._effect(effect)
        except Exception as exc:
            self._answer = Outcome(None, exc)
            raise
        if isinstance(effect, Call | ThrowIn | NextItem):
            self._answer = Outcome(None if answer is END else answer)
        return answer

    def _effect(self, effect: Effect) -> Any:
        handle, run_ = self.handle, self._run
        match effect:
            case Call(request):
                return run_(handle.call(request))
            case OpenStream(request):
                stream = handle.stream(request)
                if self._loop is not None:
                    run_(stream.open())
                return stream
            case NextItem(cursor):
                if self._loop is None:
                    return next(cursor, END)
                try:
                    return run_(cursor.__anext__())
                except StopAsyncIteration:
                    return END
            case CancelStream(cursor):
                return run_(cursor.aclose() if self._loop is not None else cursor.cancel())
            case IsOpen(cursor):
                return cursor.is_open
            case ThrowIn(exc):
                return run_(handle.throw(exc))
        if effect is RESET:
            return run_(handle.reset())
        assert effect is RESTART, effect
        return run_(handle.restart())

    def _run(self, value: Any) -> Any:
        """``value``, run on the private loop when it is a coroutine (async services)."""
        if self._loop is not None and asyncio.iscoroutine(value):
            return self._loop.run(value)
        return value

    def innermost_frame(self) -> FrameType | None:
        """The frame of the innermost generator of the ``yield from`` chain: the one the
        next request resumes (None for an async service, or a finished one)."""
        if self._loop is not None:
            return None
        gen = self.handle.generator
        while isinstance(getattr(gen, "gi_yieldfrom", None), GeneratorType):
            gen = gen.gi_yieldfrom
        frame: FrameType | None = getattr(gen, "gi_frame", None)
        return frame

    def inspect(self, redact: Any) -> Inspection:
        """The service's frames now, locals redacted as ``inspect_service`` redacts."""
        return inspect_service(self.handle, redact=redact)

    def take(self, snapshots: Snapshots) -> bytes | None:
        """The state, as ``snapshots.take`` gives it (MessagePack), or None when it
        cannot be taken now (inside a stream, or the service is not ready)."""
        cursor = self.replay.cursor
        if (cursor is not None and cursor.is_open) or self.state is not State.READY:
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
