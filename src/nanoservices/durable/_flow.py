"""The durable flows: opening, replaying, snapshotting and journalling a step, written once.

Each flow is a generator that decides and journals (through a
[`Journal`][nanoservices.durable._journal.Journal]) and yields what the service
must do as an effect ([`_effects`][nanoservices.durable._effects]). The sync
handle drives them with ``run`` on its local handle, the async engine with
``arun`` on itself: so a key opens, replays and journals alike from either kind
by construction. The sync handle's ``call`` is the one hot path that is written
out (encode, run, digest, [`Journal.append`][nanoservices.durable._journal.Journal.append]),
and it ends in these flows whenever it leaves the plain case.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from nanoservices import ServiceError
from nanoservices.core import during_replay

from . import _effects as fx
from ._entries import END_OK, ITEM, UNCHECKED, Kind, digest_error, digest_reply
from ._errors import JournalError
from ._journal import REFUSALS, Journal
from ._replay import Replay

__all__ = [
    "bring_back",
    "call",
    "cancel_stream",
    "close",
    "entry",
    "failed",
    "journalled",
    "lifecycle",
    "next_item",
    "open_key",
    "open_stream",
    "snapshot_flow",
    "snapshot_if_due",
]

# -- opening ------------------------------------------------------------------------------


def open_key(journal: Journal) -> fx.Flow[None]:
    """Take the key, start the service and bring its state back; on any failure the
    service is closed and the key given back."""
    journal.lock()
    try:
        yield fx.START
        yield from bring_back(journal)
        journal.record_factory()
    except BaseException:
        try:
            yield fx.CLOSE
        except Exception:
            pass
        journal.unlock()
        raise
    journal.bind_replayables()


def bring_back(journal: Journal) -> fx.Flow[None]:
    """Restore the key's snapshot (if any), then replay the entries after it; a stream
    the journal leaves open (its reader died with its process) is cancelled."""
    started = time.perf_counter()
    loaded = journal.store.load(journal.key)
    journal.dropped = loaded.dropped
    journal.seq = journal.snapshot_seq = loaded.snapshot_seq
    snaps = journal.snapshots
    if loaded.snapshot is not None:
        if snaps is None:
            raise JournalError(
                journal.name,
                journal.key,
                f"the journal starts from a snapshot (entry {loaded.snapshot_seq}) "
                "but no snapshots= was given to restore it",
            )
        state = msgspec.msgpack.decode(loaded.snapshot, type=snaps.state_type)
        with during_replay():
            yield fx.Restore(state)
        journal.restored()
    replay = Replay(
        journal.name,
        journal.key,
        loaded.entries,
        journal.spec,
        start_seq=loaded.snapshot_seq,
        replayables=journal.replayables,
    )
    journal.replaying(True)
    try:
        yield from replay.until()
    finally:
        journal.replaying(False)
    journal.replayed = len(loaded.entries)
    journal.seq = replay.seq
    journal.plan_snapshot(loaded.snapshot_seq)
    if replay.cursor is not None and (yield fx.IsOpen(replay.cursor)):
        try:
            yield fx.CancelStream(replay.cursor)
        except ServiceError:
            pass
        journal.append(Kind.CANCEL, b"", 0)
    journal.replay_seconds = time.perf_counter() - started


# -- snapshots ----------------------------------------------------------------------------


def snapshot_flow(journal: Journal) -> fx.Flow[bool]:
    """Store the service's state now and compact the journal to it: False (nothing
    done) without ``snapshots=``, or while a stream is open or the service not ready."""
    snaps = journal.snapshots
    if snaps is None or not (yield fx.QUIET):
        return False
    journal.save_snapshot((yield fx.TAKE))
    return True


def snapshot_if_due(journal: Journal) -> fx.Flow[None]:
    """An entry reached the snapshot mark: snapshot if one is due (count or time)."""
    if journal.snapshot_due():
        yield from snapshot_flow(journal)


def entry(journal: Journal, kind: int, body: bytes, digest: int) -> fx.Flow[None]:
    """Journal one entry, then snapshot if one is due."""
    if journal.append(kind, body, digest):
        yield from snapshot_if_due(journal)


# -- a live step, journalled ----------------------------------------------------------------


def failed(
    journal: Journal, kind: int, body: bytes, request: object, exc: Exception
) -> fx.Flow[None]:
    """A step that raised ``exc``: journalled with the error's digest, unless the
    service never saw it (refused)."""
    if not journal.refused(request, exc):
        yield from entry(journal, kind, body, digest_error(exc))


def journalled(
    journal: Journal, kind: int, body: bytes, effect: fx.Effect, request: object
) -> fx.Flow[Any]:
    """Do ``effect`` (a call or a throw) and journal it with its outcome's digest."""
    try:
        reply = yield effect
    except Exception as exc:
        yield from failed(journal, kind, body, request, exc)
        raise
    yield from entry(journal, kind, body, digest_reply(reply))
    return reply


def call(journal: Journal, request: object) -> fx.Flow[Any]:
    """A call through a flow (the async engine's; the sync handle writes its hot path
    out): a call cancelled mid-request was run by the service, and nobody saw its
    outcome, so it is journalled unchecked."""
    body = journal.body(request)
    try:
        return (yield from journalled(journal, Kind.CALL, body, fx.Call(request), request))
    except Exception:
        raise
    except BaseException:
        if (yield fx.QUIET):
            journal.append(Kind.CALL, body, UNCHECKED)
        raise


def open_stream(journal: Journal, request: object) -> fx.Flow[Any]:
    """Open a streamed reply; journalled once open (no snapshot while it is)."""
    body = journal.body(request)
    try:
        cursor = yield fx.OpenStream(request)
    except Exception as exc:
        yield from failed(journal, Kind.STREAM, body, request, exc)
        raise
    journal.append(Kind.STREAM, body, 0)
    return cursor


def next_item(journal: Journal, cursor: Any) -> fx.Flow[Any]:
    """The stream's next item, journalled by its digest; its end (``END``) or failure
    is journalled too."""
    try:
        item = yield fx.NextItem(cursor)
    except Exception as exc:
        yield from entry(journal, Kind.END, b"", digest_error(exc))
        raise
    if item is fx.END:
        yield from entry(journal, Kind.END, b"", END_OK)
    else:
        journal.append(ITEM, b"", digest_reply(item))
    return item


def cancel_stream(journal: Journal, cursor: Any) -> fx.Flow[None]:
    """Stop an open stream early; journalled even if its source failed to close."""
    try:
        yield fx.CancelStream(cursor)
    finally:
        yield from entry(journal, Kind.CANCEL, b"", 0)


def lifecycle(journal: Journal, kind: int, effect: fx.Effect) -> fx.Flow[None]:
    """Reset or restart the service, journalled (also when it failed, unless refused)."""
    journal.check()
    try:
        yield effect
    except Exception as exc:
        if not isinstance(exc, REFUSALS):
            yield from entry(journal, kind, b"", 0)
        raise
    yield from entry(journal, kind, b"", 0)


def close(journal: Journal, stream_open: bool) -> fx.Flow[None]:
    """Close the service and give the key back (once); the journal stays. A stream left
    open is journalled as cancelled."""
    if journal.released:
        return
    try:
        if stream_open and journal.broken is None:
            journal.append(Kind.CANCEL, b"", 0)
        yield fx.CLOSE
    finally:
        journal.release()
