"""Time travel: a durable service's history, step by step, with its frames.

A generator cannot be copied, so once a request has passed its frame is gone.
But a journal can be replayed into a fresh generator, and a replay can stop
anywhere: [`History`][] replays a key's journal as far as asked and shows the
service's ``yield from`` chain at that step (each frame's function, line and
locals, redacted as [`inspect_service`][nanoservices.observe.inspect_service]
redacts), from another process, hours later.

Moving forward one step runs one more entry into the instance already
replayed. Moving back starts a fresh instance from the nearest checkpoint
before the step (with ``snapshots=``, a state taken every ``every`` entries as
the history is first read; otherwise the start of the journal) and replays
forward from it, so the cost grows with the distance to that checkpoint, not
with the step number.

Replay runs the service's code again: see [`replaying`][nanoservices.replaying]
for skipping side effects.
"""

from __future__ import annotations

import bisect
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nanoservices.core import short_repr
from nanoservices.observe import FrameView, Inspection

from ._drive import SECRET_NAMES, Outcome, Replayer, decode_step
from ._entries import Entry, Kind
from ._errors import JournalError, ReplayMismatchError
from ._fingerprint import provenance
from ._journal import Snapshots
from ._replay import Replay
from ._store import JournalStore

__all__ = ["Change", "Divergence", "History", "Moment", "Step", "history"]


@dataclass(frozen=True, slots=True)
class Step:
    """One journal entry as the service saw it: ``request`` rebuilt as the service's
    request type (the exception thrown, for ``throw``), and what it answered
    (``reply`` or ``error``) once the step has been replayed (``replayed``).
    ``time`` is when the entry was committed (seconds since the epoch), None when
    the store did not date it."""

    seq: int
    kind: str
    request: object
    time: float | None
    replayed: bool = False
    reply: object = None
    error: BaseException | None = None
    matches: bool = True  # the replayed outcome has the journalled digest

    @property
    def outcome(self) -> str:
        """The answer in a few words: ``-> reply``, ``!! Error: message``, or ``""``."""
        if not self.replayed:
            return ""
        if self.error is not None:
            return f"!! {type(self.error).__name__}: {self.error}"
        if self.kind in ("call", "throw", "item", "end") and not (
            self.kind == "end" and self.reply is None
        ):
            return f"-> {short_repr(self.reply)}"
        return ""

    def __str__(self) -> str:
        """``kind request -> reply`` (the step's number is not repeated)."""
        what = "" if self.request is None else f" {short_repr(self.request)}"
        outcome = f" {self.outcome}" if self.outcome else ""
        return f"{self.kind}{what}{outcome}"


@dataclass(frozen=True, slots=True)
class Moment:
    """The service right after step ``seq`` (``step``; None at the journal's start):
    its frames as [`inspect_service`][nanoservices.observe.inspect_service] shows them."""

    seq: int
    step: Step | None
    inspection: Inspection

    @property
    def chain(self) -> tuple[FrameView, ...]:
        """The ``yield from`` chain, outermost first."""
        return self.inspection.chain

    def locals(self) -> dict[str, dict[str, str]]:
        """Each frame's shown locals, by ``"depth function"`` (depth 0: the service)."""
        return {f"{depth} {view.function}": dict(view.locals) for depth, view in _frames(self)}

    def where(self) -> str:
        """The chain in one line per frame: ``function  file:line  > source``."""
        lines = []
        for depth, view in _frames(self):
            source = f"  > {view.source}" if view.source else ""
            lines.append(f"{'  ' * depth}{view.function}  {_short(view.where)}{source}")
        return "\n".join(lines)

    def __str__(self) -> str:
        head = f"after step {self.seq}" if self.step is not None else f"at step {self.seq}"
        if self.step is not None:
            head += f": {self.step}"
        return f"{head}\n{self.inspection}"


def _same_factory(recorded: str, mine: str) -> bool:
    """Whether two ``module:qualname`` name one factory (a script run as ``__main__``
    matches the module it is imported as)."""
    module, _, qualname = recorded.partition(":")
    return recorded == mine or (module == "__main__" and mine.endswith(f":{qualname}"))


def _short(where: str) -> str:
    """``file:line`` with the file relative to the working folder when it is inside it."""
    here = os.getcwd() + os.sep
    return where[len(here) :] if where.startswith(here) else where


def _frames(moment: Moment) -> Iterator[tuple[int, FrameView]]:
    return enumerate(moment.inspection.chain)


@dataclass(frozen=True, slots=True)
class Change:
    """A local that differs: in ``function`` (at ``depth`` in the chain), ``name`` went
    from ``before`` to ``after`` (None: not there), at step ``seq``."""

    seq: int
    depth: int
    function: str
    name: str
    before: str | None
    after: str | None

    def __str__(self) -> str:
        before = "(none)" if self.before is None else self.before
        after = "(none)" if self.after is None else self.after
        return f"step {self.seq}: {self.function}.{self.name}: {before} -> {after}"


@dataclass(frozen=True, slots=True)
class Divergence:
    """Where edited code first answers differently from the journal: at step ``seq``,
    ``step`` is what the journalled code answered and ``edited`` what the edited
    code answered; ``original`` and ``changed`` are both services' frames there."""

    seq: int
    step: Step
    edited: Step
    original: Moment
    changed: Moment

    def __str__(self) -> str:
        return (
            f"step {self.seq} diverges: {self.step.kind} {short_repr(self.step.request)}\n"
            f"  journalled code: {self.step.outcome or '(no answer)'}\n"
            f"  edited code:     {self.edited.outcome or '(no answer)'}\n"
            f"--- journalled code, {self.original}\n--- edited code, {self.changed}"
        )


def history(
    factory: Any,
    *args: Any,
    key: str,
    store: JournalStore,
    snapshots: Snapshots | None = None,
    every: int | None = None,
    force: bool = False,
    redact: Any = SECRET_NAMES,
    **kwargs: Any,
) -> History:
    """The history of ``key`` in ``store``, replayed into ``factory(*args, **kwargs)``.

    Args:
        snapshots: the service's [`Snapshots`][nanoservices.durable.Snapshots]:
            needed when the journal starts from a stored snapshot; with them the
            history also keeps a state every ``every`` entries (default
            ``snapshots.every``) as it is read, so moving back is quick.
        force: replay even a journal recorded as written by another factory, or
            by this one before its code changed (else ``JournalError``), and go on
            past steps whose outcome differs from the journal (else
            [`ReplayMismatchError`][nanoservices.durable.ReplayMismatchError]).
        redact: which local variable names to hide, as ``inspect_service``'s
            ``redact`` (default: names that look secret).

    The key is only read: it may be open in a durable handle at the same time
    (the history sees the journal as it was when opened).
    """
    return History(
        factory,
        args,
        kwargs,
        key=key,
        store=store,
        snapshots=snapshots,
        every=every,
        force=force,
        redact=redact,
    )


#: Why ``debug`` cannot stop in the service, and what shows its frames instead.
_NO_DEBUG = (
    "debug stops in a sync service's generator frame, and this service {what}: look at "
    "its frames after a step instead (at(n); nanoservices journal inspect --at N)"
)


class History:
    """A key's journal, replayable to any step: see [`history`][]."""

    def __init__(
        self,
        factory: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        key: str,
        store: JournalStore,
        snapshots: Snapshots | None,
        every: int | None,
        force: bool,
        redact: Any,
    ) -> None:
        self.factory = factory
        self.key = key
        self.store = store
        self.name: str = factory.spec.name
        self._args, self._kwargs = args, kwargs
        self._snapshots = snapshots
        self._every = every if every is not None else (snapshots.every if snapshots else 0)
        if self._every < 0:
            raise ValueError(f"every must be >= 1, got {every!r}")
        self.force = force
        self.redact = redact
        loaded = store.entries(key)
        if loaded.snapshot is None and not loaded.entries:
            raise JournalError(self.name, key, "there is no journal for this key")
        if loaded.snapshot is not None and snapshots is None:
            raise JournalError(
                self.name,
                key,
                f"the journal starts from a snapshot (entry {loaded.snapshot_seq}): "
                "give snapshots= to restore it",
            )
        self._check_factory(force)
        #: The first step the journal holds is ``first + 1`` (``first``: 0, or the
        #: stored snapshot's entry); the last is ``last``.
        self.first: int = loaded.snapshot_seq
        self._entries: list[Entry] = []
        for entry in loaded.entries:  # a gap ends the readable journal, as opening does
            if entry.seq != self.first + len(self._entries) + 1:
                break
            self._entries.append(entry)
        self.last: int = self.first + len(self._entries)
        self._times = store.entry_times(key)
        self._reader = Replay(self.name, key, [], factory.spec)  # decodes entries
        self._requests: dict[int, object] = {}
        self._outcomes: dict[int, Outcome] = {}
        self._checkpoints: dict[int, bytes] = {}
        self._marks: list[int] = [self.first]  # the checkpoints, sorted
        if loaded.snapshot is not None:
            self._checkpoints[self.first] = loaded.snapshot
        self._replay: Replayer | None = None
        self.position: int = self.first

    def _check_factory(self, force: bool) -> None:
        """Refuse a journal recorded as written by another factory, or by this one's
        code before it changed (unless ``force``): its frames would never have existed."""
        recorded = self.store.factory_of(self.key)
        if recorded is None or force:
            return
        mine = provenance(self.factory.spec)
        factory, fingerprint = recorded
        if not _same_factory(factory, mine.factory):
            raise JournalError(
                self.name,
                self.key,
                f"the journal was written by {factory}, not {mine.factory}: "
                "pass force=True (--force) to replay it anyway",
            )
        if fingerprint != mine.fingerprint:
            raise JournalError(
                self.name,
                self.key,
                f"the code of {mine.factory} changed since the journal was written "
                f"(fingerprint {fingerprint}, now {mine.fingerprint}): pass force=True "
                "(--force) to replay it anyway, or compare the two with diverge",
            )

    # -- the steps ----------------------------------------------------------------------

    def __len__(self) -> int:
        """How many steps the journal holds (after its stored snapshot, if any)."""
        return self.last - self.first

    def _entry(self, seq: int, *, start: bool = False) -> Entry:
        """The entry of step ``seq``, or IndexError; ``start``: the error says that
        ``first`` (the moment before the first step) would do as well."""
        if not self.first < seq <= self.last:
            also = f", or {self.first} for the start" if start else ""
            raise IndexError(
                f"step {seq} is not in the journal of key {self.key!r} "
                f"(steps {self.first + 1} to {self.last}{also})"
            )
        return self._entries[seq - self.first - 1]

    def _request(self, entry: Entry) -> object:
        request = self._requests.get(entry.seq)
        if request is None and entry.seq not in self._requests:
            request = decode_step(self._reader, entry)
            self._requests[entry.seq] = request
        return request

    def step(self, seq: int, *, replay: bool = True) -> Step:
        """Step ``seq``: its request and time, and (``replay``, the default: the history
        replays as far as that step if it has not yet) its reply or error."""
        entry = self._entry(seq)
        if replay and seq not in self._outcomes:
            self.at(seq)
        outcome = self._outcomes.get(seq)
        kind = Kind(entry.kind).name.lower() if entry.kind in Kind._value2member_map_ else "result"
        step = Step(seq, kind, self._request(entry), self._times.get(seq))
        if outcome is None:
            return step
        return Step(
            seq,
            kind,
            step.request,
            step.time,
            replayed=True,
            reply=outcome.reply,
            error=outcome.error,
            matches=outcome.matches,
        )

    __getitem__ = step

    def steps(self, start: int | None = None, stop: int | None = None) -> Iterator[Step]:
        """Steps ``start`` to ``stop`` (inclusive; default all), replayed in one pass."""
        first = self.first + 1 if start is None else start
        last = self.last if stop is None else min(stop, self.last)
        for seq in range(first, last + 1):
            yield self.step(seq)

    def __iter__(self) -> Iterator[Step]:
        return self.steps()

    # -- moving -------------------------------------------------------------------------

    def at(self, seq: int) -> Moment:
        """The service right after step ``seq`` (``first``: before the first step)."""
        if seq != self.first:
            self._entry(seq, start=True)  # in range, or IndexError
        self._goto(seq)
        assert self._replay is not None
        step = None if seq == self.first else self.step(seq, replay=False)
        return Moment(seq, step, self._replay.inspect(self.redact))

    def forward(self) -> Moment:
        """One step on from where the history stands (one more entry: O(1))."""
        return self.at(self.position + 1)

    next = forward

    def back(self) -> Moment:
        """One step back (a replay from the nearest checkpoint before it)."""
        return self.at(self.position - 1)

    def _goto(self, seq: int) -> None:
        mark = self._marks[bisect.bisect_left(self._marks, seq) - 1] if seq > self.first else seq
        if self._replay is None or seq < self.position or seq - self.position > seq - mark:
            self._restart(mark)
        replay = self._replay
        assert replay is not None
        snaps, every = self._snapshots, self._every
        while self.position < seq:
            here = self.position
            if snaps is not None and every and here % every == 0 and here not in self._checkpoints:
                taken = replay.take(snaps)  # taken as the history moves past it: the
                if taken is not None:  # frame at the step itself stays as it ran
                    self._checkpoints[here] = taken
                    bisect.insort(self._marks, here)
            entry = self._entries[here - self.first]
            request = self._request(entry)
            outcome = replay.apply()
            self._outcomes[entry.seq] = outcome
            self.position = entry.seq
            if not outcome.matches and not self.force:
                detail = "the replayed outcome differs from the journalled one"
                if outcome.error is not None:
                    detail += f" (replay raised {type(outcome.error).__name__}: {outcome.error})"
                raise ReplayMismatchError(self.name, self.key, entry.seq, request, detail)

    def _restart(self, mark: int) -> None:
        """A fresh instance at checkpoint ``mark`` (the journal's start, or a state)."""
        if self._replay is not None:
            self._replay.close()
            self._replay = None
        body = self._checkpoints.get(mark)
        start = mark if body is not None else self.first
        replay = Replayer(
            self.factory,
            self._args,
            self._kwargs,
            key=self.key,
            entries=self._entries[start - self.first :],
            start_seq=start,
        )
        if body is not None:
            assert self._snapshots is not None
            replay.restore(self._snapshots, body)
        self._replay = replay
        self.position = start

    def debug(self, seq: int, debugger: Any = None) -> Step:
        """Run step ``seq`` under ``debugger`` (default a new ``pdb.Pdb()``), stopped
        inside the service's own frame (the innermost of its ``yield from`` chain) as
        it takes the request; returns the step with its outcome. Sync services only."""
        from ._drive import _is_async

        entry = self._entry(seq)
        if _is_async(self.factory):  # refused before any replay
            raise JournalError(self.name, self.key, _NO_DEBUG.format(what="is async"))
        self._goto(seq - 1)
        replay = self._replay
        assert replay is not None
        frame = replay.innermost_frame()
        if frame is None:
            raise JournalError(self.name, self.key, _NO_DEBUG.format(what="has finished"))
        if debugger is None:
            import pdb

            debugger = pdb.Pdb()

        def arrive(called: Any, event: str, arg: Any) -> Any:
            if event == "call" and called is frame:
                sys.settrace(None)
                debugger.set_trace(called)
                return debugger.trace_dispatch
            return None

        request = self._request(entry)
        previous = sys.gettrace()
        sys.settrace(arrive)
        try:
            outcome = replay.apply()
        finally:
            sys.settrace(previous)
            self._replay = None  # a debugger may have changed anything: start afresh next time
            replay.close()
            self.position = self.first
        plain = self.step(seq, replay=False)  # not kept: the debugger may have changed it
        return Step(
            seq,
            plain.kind,
            request,
            plain.time,
            replayed=True,
            reply=outcome.reply,
            error=outcome.error,
            matches=outcome.matches,
        )

    # -- questions ----------------------------------------------------------------------

    def diff(self, a: int, b: int) -> list[Change]:
        """The locals that differ between the moments after steps ``a`` and ``b``,
        frame by frame along the chain (frames matched by depth and function)."""
        before = self.at(a).locals()
        after = self.at(b).locals()
        changes = []
        for frame in dict.fromkeys([*before, *after]):
            depth, function = frame.split(" ", 1)
            old, new = before.get(frame, {}), after.get(frame, {})
            for name in dict.fromkeys([*old, *new]):
                if old.get(name) != new.get(name):
                    changes.append(
                        Change(b, int(depth), function, name, old.get(name), new.get(name))
                    )
        return changes

    def changes(self, name: str, *, function: str | None = None) -> list[Change]:
        """The steps at which local ``name`` changed (as shown, redacted) in any frame
        of the chain, or only in frames of ``function``: where did this value come
        from? Reads the whole history once."""
        found: list[Change] = []
        seen: dict[tuple[int, str], str | None] = {}
        for seq in range(self.first, self.last + 1):
            moment = self.at(seq)
            now: dict[tuple[int, str], str | None] = {}
            for depth, view in _frames(moment):
                if function is None or view.function == function:
                    now[(depth, view.function)] = view.locals.get(name)
            for where in dict.fromkeys([*seen, *now]):
                old, new = seen.get(where), now.get(where)
                if old != new and seq != self.first:
                    found.append(Change(seq, where[0], where[1], name, old, new))
            seen = now
        return found

    # -- branching off ------------------------------------------------------------------

    def fork(
        self, seq: int, key: str, *, store: JournalStore | None = None, snapshots: Any = None
    ) -> Any:
        """A live durable handle on a copy of this journal up to step ``seq``, under the
        new ``key`` (in ``store``, default this history's): it continues from there,
        and the original journal is untouched. For an async service, await it."""
        if seq != self.first:
            self._entry(seq)
        target = store if store is not None else self.store
        found = target.entries(key)
        if found.snapshot is not None or found.entries:
            raise JournalError(self.name, key, "the key to fork to already has a journal")
        base = self._checkpoints.get(self.first) if self.first else None
        if base is not None:
            target.save_snapshot(key, self.first, base)
        for entry in self._entries[: seq - self.first]:
            target.append(key, entry.seq, entry.kind, entry.body, entry.digest)
        target.flush()
        snaps = snapshots if snapshots is not None else self._snapshots
        from ._drive import _is_async

        if _is_async(self.factory):
            from ._async import adurable

            return adurable(
                self.factory, *self._args, key=key, store=target, snapshots=snaps, **self._kwargs
            )
        from ._handle import durable

        return durable(
            self.factory, *self._args, key=key, store=target, snapshots=snaps, **self._kwargs
        )

    def diverge(self, edited: Any, *args: Any, **kwargs: Any) -> Divergence | None:
        """Replay this journal into ``edited(*args, **kwargs)`` (default: this history's
        arguments) and find the first step whose outcome differs from the journal's;
        None when the edited code answers every step alike."""
        if not args and not kwargs:
            args, kwargs = self._args, self._kwargs
        other = History(
            edited,
            args,
            kwargs,
            key=self.key,
            store=self.store,
            snapshots=self._snapshots,
            every=self._every,
            force=True,
            redact=self.redact,
        )
        try:
            for seq in range(self.first + 1, self.last + 1):
                other._goto(seq)
                if not other._outcomes[seq].matches:
                    changed = other.at(seq)
                    return Divergence(seq, self.step(seq), other.step(seq), self.at(seq), changed)
            return None
        finally:
            other.close()

    # -- the end ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the replayed instance (the store stays open: it is the caller's)."""
        if self._replay is not None:
            self._replay.close()
            self._replay = None

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<History of {self.name!r} key={self.key!r} steps {self.first + 1}-{self.last}, "
            f"at {self.position}>"
        )
