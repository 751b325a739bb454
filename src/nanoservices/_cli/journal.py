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

from nanoservices.durable import JournalError, JournalStore, Kind, SQLiteStore, durable

from . import _target
from ._app import app

__all__ = ["journal"]

journal = typer.Typer(help="Durable services' journals: list, show, compact, delete.")
app.add_typer(journal, name="journal")

log = logging.getLogger("nanoservices.durable")

StoreOption = Annotated[Path, typer.Option("--store", help="The SQLite journal file.")]
DsnOption = Annotated[
    str | None, typer.Option("--dsn", help="A PostgreSQL store instead (psycopg conninfo).")
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
) -> None:
    """A key's journal, entry by entry (requests decoded as plain data)."""
    with _open(store, dsn) as opened:
        loaded = opened.entries(key)
    if loaded.snapshot is None and not loaded.entries:
        typer.echo(f"no journal for key {key!r}", err=True)
        raise typer.Exit(1)
    if loaded.snapshot is not None:
        state = msgspec.msgpack.decode(loaded.snapshot)
        typer.echo(f"snapshot at entry {loaded.snapshot_seq}: {state!r}")
    for entry in loaded.entries:
        kind = Kind(entry.kind).name.lower() if entry.kind in Kind._value2member_map_ else "result"
        body: Any = msgspec.msgpack.decode(entry.body) if entry.body else ""
        typer.echo(f"{entry.seq:>8} {kind:8} {entry.digest:#010x} {body!r}")


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
        try:
            count = opened.delete(key)
        except BlockingIOError:
            typer.echo(f"key {key!r} is open in another handle: close it first", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"deleted key {key!r} ({count} entries)")
