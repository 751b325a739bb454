"""``nanoservices journal``: list, show, compact and delete durable services' journals.

Reads the store named by ``--store`` (an SQLite file; default the one
``durable()`` uses) or ``--dsn`` (PostgreSQL). ``compact`` needs the service
and its snapshot functions (compaction stores the service's state, which only
the service can give); ``delete`` needs ``--yes`` and is logged, because nothing
brings a deleted journal back.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer

from nanoservices.durable import JournalError, JournalStore, SQLiteStore, durable

from . import _target, _travel
from ._app import app
from ._keys import stored_key

__all__ = ["journal"]

journal = typer.Typer(
    help="Durable services' journals: list, show, compact, delete, and time travel "
    "(inspect, step, debug, diverge)."
)
app.add_typer(journal, name="journal")

log = logging.getLogger("nanoservices.durable")

StoreOption = Annotated[Path, typer.Option("--store", help="The SQLite journal file.")]
DsnOption = Annotated[
    str | None, typer.Option("--dsn", help="A PostgreSQL store instead (psycopg conninfo).")
]
ServiceOption = Annotated[
    str | None,
    typer.Option(
        "--service",
        metavar="MODULE:FACTORY|NAME",
        help="The service, to replay the key; or only its name, to find a key served "
        "under it (serve stores KEY as NAME/KEY).",
    ),
]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replay even a journal written by another factory, or by the service's code "
        "before it changed.",
    ),
]
SnapshotsOption = Annotated[
    str | None,
    typer.Option(
        "--snapshots",
        metavar="MODULE:NAME",
        help="Its durable.Snapshots (for a journal that starts from a snapshot).",
    ),
]


def _open(store: Path, dsn: str | None) -> JournalStore:
    if dsn is not None:
        from nanoservices.durable.postgres import PostgresStore

        return PostgresStore(dsn)
    if not store.exists():
        typer.echo(f"no journal store at {store}", err=True)
        raise typer.Exit(2)
    return SQLiteStore(store)


@journal.command("list")
def list_keys(
    store: StoreOption = Path("nanoservices-journal.sqlite"), dsn: DsnOption = None
) -> None:
    """Every key: entries to replay, last entry, snapshot."""
    with _open(store, dsn) as opened:
        keys = opened.list_keys()
    typer.echo(f"{'key':30} {'entries':>8} {'last':>8} {'snapshot':>9}")
    for info in keys:
        typer.echo(f"{info.key:30} {info.entries:>8} {info.last_seq:>8} {info.snapshot_seq:>9}")


@journal.command()
def show(
    key: str,
    store: StoreOption = Path("nanoservices-journal.sqlite"),
    dsn: DsnOption = None,
    service: ServiceOption = None,
    snapshots: SnapshotsOption = None,
    start: Annotated[
        int | None, typer.Option("--from", metavar="N", help="Start at entry N.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", metavar="N", help="Show at most N entries.")
    ] = None,
    tail: Annotated[
        int | None, typer.Option("--tail", metavar="N", help="Show the last N entries.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    force: ForceOption = False,
) -> None:
    """A key's journal, entry by entry: number, time (UTC), kind and request; with
    --service, requests as the service's types and each reply or error (replayed)."""
    with _open(store, dsn) as opened:
        if service is not None and ":" in service:
            with _travel.open_history(opened, key, service, snapshots, force) as hist:
                first, last = _window(hist.first + 1, hist.last, start, limit, tail)
                for step in hist.steps(first, last):
                    _show_step(_travel.step_record(step), as_json)
            return
        key = stored_key(opened, key, service)
        loaded = opened.entries(key)
        times = opened.entry_times(key)
    if loaded.snapshot is not None and start is None and tail is None:
        state = msgspec.msgpack.decode(loaded.snapshot)
        if as_json:
            typer.echo(_travel.as_json({"snapshot": loaded.snapshot_seq, "state": state}))
        else:
            typer.echo(f"snapshot at entry {loaded.snapshot_seq}: {state!r}")
    entries = loaded.entries
    if entries:
        first, last = _window(entries[0].seq, entries[-1].seq, start, limit, tail)
        entries = [e for e in entries if first <= e.seq <= last]
    for entry in entries:
        body: Any = msgspec.msgpack.decode(entry.body) if entry.body else None
        record = {
            "seq": entry.seq,
            "kind": _travel.kind_name(entry.kind),
            "time": times.get(entry.seq),
            "request": body,
            "digest": entry.digest,
        }
        _show_step(record, as_json)


def _window(
    first: int, last: int, start: int | None, limit: int | None, tail: int | None
) -> tuple[int, int]:
    """The entries to show, from ``first`` to ``last``, as ``--from``, ``--limit`` and
    ``--tail`` narrow them."""
    for name, value in (("--from", start), ("--limit", limit), ("--tail", tail)):
        if value is not None and value < (1 if name == "--from" else 0):
            typer.echo(f"{name} must be a positive number, not {value}", err=True)
            raise typer.Exit(2)
    held = first, last
    if tail is not None:
        first = max(first, last - tail + 1)
    if start is not None:
        first = max(first, start)
    if limit is not None:
        last = min(last, first + limit - 1)
    if start is not None and start > held[1] >= held[0]:  # an empty page: say why
        typer.echo(
            f"no entries from {start}: the journal holds entries {held[0]} to {held[1]}",
            err=True,
        )
    return first, last


def _show_step(record: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(_travel.as_json(record))
        return
    request = "" if record["request"] is None else repr(record["request"])
    line = f"{record['seq']:>8} {_travel.shown_time(record['time'])} {record['kind']:8} {request}"
    if "digest" in record:
        line += f" {record['digest']:#010x}"
    elif "error" in record:
        line += f" !! {record['error']}"
    elif "reply" in record and record["kind"] in ("call", "throw", "item", "result"):
        line += f" -> {record['reply']!r}"
    if record.get("matches") is False:
        line += "  (differs from the journal)"
    typer.echo(line.rstrip())


@journal.command()
def compact(
    key: str,
    service: Annotated[str, typer.Option("--service", help="MODULE:FACTORY of the service.")],
    snapshots: Annotated[
        str, typer.Option("--snapshots", help="MODULE:NAME of its durable.Snapshots.")
    ],
    store: StoreOption = Path("nanoservices-journal.sqlite"),
    dsn: DsnOption = None,
) -> None:
    """Replay KEY, store its state as a snapshot and drop the entries it covers."""
    try:
        target = _target.load_target(service)
        module, _, name = snapshots.partition(":")
        snaps = _target._lookup(_target._import(module), name, snapshots)
    except _target.TargetError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    with _open(store, dsn) as opened:
        key = stored_key(opened, key, target.factory.spec.name)
        try:
            with durable(target.factory, key=key, store=opened, snapshots=snaps) as handle:
                before = handle.stats.journal_length
                if not handle.snapshot():
                    typer.echo(f"key {key!r} cannot be snapshotted now ({handle.state.value})")
                    raise typer.Exit(1)
        except JournalError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
    typer.echo(f"compacted key {key!r}: {before} entries folded into a snapshot")


@journal.command()
def delete(
    key: str,
    yes: Annotated[
        bool, typer.Option("--yes", help="Really delete: nothing brings it back.")
    ] = False,
    store: StoreOption = Path("nanoservices-journal.sqlite"),
    dsn: DsnOption = None,
) -> None:
    """Delete KEY's journal and snapshot (needs --yes; refused while the key is open)."""
    if not yes:
        typer.echo(f"deleting key {key!r} loses its state for good: pass --yes", err=True)
        raise typer.Exit(2)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    with _open(store, dsn) as opened:
        key = stored_key(opened, key, exact=True)
        try:
            count = opened.delete(key)
        except BlockingIOError:
            typer.echo(f"key {key!r} is open in another handle: close it first", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"deleted key {key!r} ({count} entries)")
