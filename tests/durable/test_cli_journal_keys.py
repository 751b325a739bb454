"""``nanoservices journal`` takes a key as its user knows it: a session opened through
``serve`` is stored as ``service/key``, and ``journal show cust-9`` finds
``cart/cust-9`` when it is the only one, names the candidates when there are
several, and suggests the stored name when nothing matches."""

from __future__ import annotations

from pathlib import Path

from nanoservices.durable import SQLiteStore, durable

from .services import Add, counter
from .test_cli_journal import journal


def fill(path: Path, *keys: str) -> None:
    with SQLiteStore(path) as store:
        for key in keys:
            with durable(counter, key=key, store=store) as handle:
                handle.call(Add(5))


def test_a_short_key_finds_the_one_served_key(journal_path: Path) -> None:
    fill(journal_path, "cart/cust-9", "cart/cust-10")
    shown = journal("show", "cust-9", "--store", str(journal_path))
    assert shown.returncode == 0, shown.stderr
    assert [line.split()[3] for line in shown.stdout.splitlines()] == ["call"]
    assert "cart/cust-9" in shown.stderr  # says which key it shows


def test_a_short_key_of_several_services_names_them(journal_path: Path) -> None:
    fill(journal_path, "cart/cust-9", "orders/cust-9")
    shown = journal("show", "cust-9", "--store", str(journal_path))
    assert shown.returncode == 1
    assert "'cart/cust-9'" in shown.stderr
    assert "'orders/cust-9'" in shown.stderr
    assert "--service" in shown.stderr
    picked = journal("show", "cust-9", "--service", "orders", "--store", str(journal_path))
    assert picked.returncode == 0, picked.stderr


def test_no_match_suggests_the_stored_name(journal_path: Path) -> None:
    fill(journal_path, "cart/cust-9")
    shown = journal("show", "cust9", "--store", str(journal_path))
    assert shown.returncode == 1
    assert "no journal for key 'cust9'" in shown.stderr
    assert "did you mean 'cart/cust-9'?" in shown.stderr


def test_delete_takes_only_the_stored_name(journal_path: Path) -> None:
    fill(journal_path, "cart/cust-9")
    refused = journal("delete", "cust-9", "--yes", "--store", str(journal_path))
    assert refused.returncode == 1
    assert "'cart/cust-9'" in refused.stderr
    with SQLiteStore(journal_path) as store:
        assert store.entries("cart/cust-9").entries  # nothing deleted
