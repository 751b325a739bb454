"""``nanoservices journal``: list, show, compact and delete, run as a real command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from nanoservices.durable import SQLiteStore, durable

from .services import Add, Count, Get, counter, snapshots

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = snapshots(every=10**9)  # for --snapshots: compaction only when asked


def journal(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return subprocess.run(
        [sys.executable, "-m", "nanoservices", "journal", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
        timeout=120,
    )


def fill(path: Path) -> None:
    with SQLiteStore(path) as store, durable(counter, key="acct-1", store=store) as handle:
        handle.call(Add(5))
        stream = handle.stream(Count(3))
        next(stream)
        stream.cancel()
        handle.call(Add(7))


def test_list_and_show(journal_path: Path) -> None:
    fill(journal_path)
    listed = journal("list", "--store", str(journal_path))
    assert listed.returncode == 0, listed.stderr
    assert "acct-1" in listed.stdout
    assert " 5 " in listed.stdout  # five entries: call, stream, item, cancel, call
    shown = journal("show", "acct-1", "--store", str(journal_path))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert [line.split()[3] for line in lines] == ["call", "stream", "item", "cancel", "call"]
    assert "{'type': 'Add', 'n': 5}" in lines[0]
    missing = journal("show", "nobody", "--store", str(journal_path))
    assert missing.returncode == 1
    assert "no journal for key 'nobody'" in missing.stderr


def test_compact_folds_the_journal_into_a_snapshot(journal_path: Path) -> None:
    fill(journal_path)
    done = journal(
        "compact",
        "acct-1",
        "--service",
        "tests.durable.services:counter",
        "--snapshots",
        "tests.durable.test_cli_journal:SNAPSHOTS",
        "--store",
        str(journal_path),
    )
    assert done.returncode == 0, done.stderr
    assert "compacted key 'acct-1': 5 entries" in done.stdout
    with SQLiteStore(journal_path) as store:
        (info,) = store.list_keys()
        assert (info.entries, info.snapshot_seq) == (0, 5)
        with durable(counter, key="acct-1", store=store, snapshots=SNAPSHOTS) as handle:
            assert handle.call(Get()) == [2, 13]


def test_delete_is_explicit_and_logged(journal_path: Path) -> None:
    fill(journal_path)
    refused = journal("delete", "acct-1", "--store", str(journal_path))
    assert refused.returncode == 2
    assert "--yes" in refused.stderr
    with SQLiteStore(journal_path) as store, durable(counter, key="acct-1", store=store):
        busy = journal("delete", "acct-1", "--yes", "--store", str(journal_path))
        assert busy.returncode == 1
        assert "is open" in busy.stderr
    deleted = journal("delete", "acct-1", "--yes", "--store", str(journal_path))
    assert deleted.returncode == 0, deleted.stderr
    assert "deleted key 'acct-1' (5 entries)" in deleted.stdout
    assert "journal of key 'acct-1' deleted" in deleted.stderr  # the log line
    with SQLiteStore(journal_path) as store:
        assert store.list_keys() == []


def test_a_missing_store_is_a_usage_error(tmp_path: Path) -> None:
    result = journal("list", "--store", str(tmp_path / "none.sqlite"))
    assert result.returncode == 2
    assert "no journal store" in result.stderr
