"""A journal's key as its user knows it, for every ``nanoservices journal`` subcommand.

A session opened through ``serve`` is stored under ``service/key`` (``cart/cust-9``),
while its client knows ``cust-9``. [`stored_key`][] finds the stored name: the key
itself, the key under the named service, or the one stored key it is the short
form of; else it says why not (several services hold it, or nothing does, with
the nearest stored names).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import typer

from nanoservices.durable import JournalStore

__all__ = ["KeyNotFound", "match_key", "stored_key"]


class KeyNotFound(LookupError):
    """No stored key is the one asked for; the message says what is there instead."""


def match_key(keys: Iterable[str], key: str, service: str | None = None) -> str:
    """The stored name of ``key`` among ``keys`` (see the module), or KeyNotFound."""
    stored = set(keys)
    if key in stored:
        return key
    if service is not None:
        if f"{service}/{key}" in stored:
            return f"{service}/{key}"
        raise KeyNotFound(f"no journal for key {key!r} of service {service!r}{_near(stored, key)}")
    served = sorted(k for k in stored if k.partition("/")[2] == key)
    if len(served) == 1:
        return served[0]
    if served:
        names = ", ".join(repr(k) for k in served)
        raise KeyNotFound(
            f"key {key!r} is stored for several services: {names}; give the stored name, "
            "or the service's with --service NAME"
        )
    raise KeyNotFound(f"no journal for key {key!r}{_near(stored, key)}")


def _near(stored: set[str], key: str) -> str:
    """A hint: the stored names nearest ``key`` (or its short forms), or where to look."""
    by_short = {k.partition("/")[2] or k: k for k in sorted(stored)}
    near = difflib.get_close_matches(key, sorted(stored), n=3) or [
        by_short[k] for k in difflib.get_close_matches(key, sorted(by_short), n=3)
    ]
    if near:
        return "; did you mean " + " or ".join(repr(k) for k in near) + "?"
    return " (nanoservices journal list shows the keys)" if stored else " (the store is empty)"


def stored_key(
    store: JournalStore, key: str, service: str | None = None, *, exact: bool = False
) -> str:
    """``key``'s stored name in ``store``, said on stderr when it differs; with ``exact``
    (for what cannot be undone) only the stored name itself is taken. Exits 1 with
    the reason when there is none."""
    keys = [info.key for info in store.list_keys()]
    try:
        found = match_key(keys, key, service)
    except KeyNotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if found != key:
        if exact:
            typer.echo(f"key {key!r} is stored as {found!r}: give that name", err=True)
            raise typer.Exit(1)
        typer.echo(f"key {key!r}: the journal of {found!r}", err=True)
    return found
