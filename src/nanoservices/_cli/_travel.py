"""What the time travel commands share: opening a key's history from the command
line, finding a key as the user knows it, and showing steps as text or JSON."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import typer

from nanoservices.durable import History, JournalError, JournalStore, Kind, Step, history

from . import _target
from ._keys import stored_key

__all__ = [
    "as_json",
    "load_factory",
    "load_snapshots",
    "open_history",
    "resolve_key",
    "shown_time",
]

_json = msgspec.json.Encoder(enc_hook=repr)


def as_json(value: object) -> str:
    """``value`` as one line of JSON; what JSON cannot hold is written as its ``repr``."""
    return _json.encode(msgspec.to_builtins(value, enc_hook=repr)).decode()


def shown_time(at: float | None) -> str:
    """An entry's time in UTC to the millisecond (``-`` when the store did not date it)."""
    if at is None:
        return "-"
    moment = datetime.datetime.fromtimestamp(at, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def load_factory(spec: str) -> Any:
    """The service factory ``MODULE:FACTORY`` names (sync or async), or exit 2."""
    try:
        found = _target.load_services(spec, taker="--service")
    except _target.TargetError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if ":" not in spec or len(found) != 1:
        typer.echo(f"expected MODULE:FACTORY naming one service, got {spec!r}", err=True)
        raise typer.Exit(2)
    return next(iter(found.values()))


def load_snapshots(spec: str | None) -> Any:
    """The ``durable.Snapshots`` ``MODULE:NAME`` names (None: no snapshots), or exit 2."""
    if spec is None:
        return None
    module, _, name = spec.partition(":")
    try:
        return _target._lookup(_target._import(module), name, spec)
    except _target.TargetError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def resolve_key(store: JournalStore, key: str, service: str | None) -> str:
    """``key`` as stored (see [`stored_key`][nanoservices._cli._keys.stored_key]): a key
    opened through ``serve`` is stored as ``service/key``."""
    return stored_key(store, key, service)


@contextmanager
def open_history(
    store: JournalStore, key: str, service: str, snapshots: str | None, force: bool = False
) -> Iterator[History]:
    """The history of ``key`` replayed into ``service``; a journal error exits 1."""
    factory = load_factory(service)
    snaps = load_snapshots(snapshots)
    stored = resolve_key(store, key, factory.spec.name)
    try:
        opened = history(factory, key=stored, store=store, snapshots=snaps, force=force)
    except JournalError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    try:
        yield opened
    except (JournalError, IndexError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    finally:
        opened.close()


def kind_name(kind: int) -> str:
    """An entry kind's name as ``journal show`` prints it."""
    return Kind(kind).name.lower() if kind in Kind._value2member_map_ else "result"


def step_record(step: Step) -> dict[str, Any]:
    """A step as JSON data: number, kind, time, request, and its reply or error."""
    record: dict[str, Any] = {
        "seq": step.seq,
        "kind": step.kind,
        "time": step.time,
        "request": step.request,
    }
    if step.replayed:
        if step.error is not None:
            record["error"] = f"{type(step.error).__name__}: {step.error}"
        else:
            record["reply"] = step.reply
        if not step.matches:
            record["matches"] = False
    return record
