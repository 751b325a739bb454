"""What durability costs: a durable call on SQLite (sync, batched) against a plain
call and against the bare cost of the store; replay speed and reopen time.

Standalone: ``python benchmarks/durable.py`` (``--quick`` for a smoke run;
``--entries N`` for the reopen rows, default 100,000). All rows come from one run.

* bare committed insert: one ``BEGIN; INSERT; COMMIT`` per request (fsynced,
  ``synchronous=FULL``, WAL), the floor of ``sync`` mode;
* bare batched insert: rows collected, one transaction per ``batch`` rows (the
  floor of ``batched`` mode): 1-byte rows, and the very rows a durable call
  journals (the request's MessagePack, a 32-bit digest and checksum, made
  before the clock starts), which cost the store more to write;
* durable call: encode the request, run it, digest the reply, journal the entry.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import tempfile
import time
import zlib
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

from nanoservices import service
from nanoservices.durable import Snapshots, SQLiteStore, durable
from nanoservices.durable._entries import encode, row_crc
from nanoservices.durable._sqlite import _INSERT, _SCHEMA

BATCH = 1000


@service
def adder() -> Generator[int, int, None]:
    total = 0
    while True:
        total += yield total


def _restore(handle: Any, state: int) -> None:
    handle.call(state - handle.call(0))


SNAPSHOTS = Snapshots(take=lambda h: h.call(0), restore=_restore, every=10**12, state_type=int)


def _rate(n: int, run: Callable[[int], None], repeats: int) -> float:
    """The best of ``repeats`` runs, in requests per second."""
    return _rates(n, [run], repeats)[0]


def _rates(n: int, runs: list[Callable[[int], None]], repeats: int) -> list[float]:
    """The best of ``repeats`` rounds of each run, in requests per second; the runs
    alternate within a round so that a noisy moment (fsync, other processes) hits
    both sides of a ratio alike."""
    best = [float("inf")] * len(runs)
    for _ in range(repeats):
        for i, run in enumerate(runs):
            os.sync()  # the last run's files written back now, not during this run
            start = time.perf_counter()
            run(n)
            best[i] = min(best[i], time.perf_counter() - start)
    return [n / b for b in best]


def _bare_db(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(_SCHEMA)
    return db


def main(argv: list[str] | None = None) -> list[tuple[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run: few requests")
    parser.add_argument("--entries", type=int, default=100_000, help="journal size to reopen")
    args = parser.parse_args(argv)
    n_sync = 50 if args.quick else 1000
    n_fast = 2000 if args.quick else 200_000
    entries = 2000 if args.quick else args.entries
    repeats = 1 if args.quick else 3
    rows: list[tuple[str, float]] = []
    tmp = Path(tempfile.mkdtemp(prefix="nanoservices-bench-durable-"))
    runs = iter(range(10**9))

    def fresh() -> Path:
        return tmp / f"j{next(runs)}.sqlite"

    # -- a plain call -----------------------------------------------------------------
    plain = adder()

    def plain_run(n: int) -> None:
        call = plain.call
        for i in range(n):
            call(i)

    rows.append(("plain call", _rate(n_fast, plain_run, repeats)))

    # -- sync: one committed insert per request ------------------------------------------
    def bare_sync(n: int) -> None:
        db = _bare_db(fresh())
        for i in range(n):
            db.execute("BEGIN IMMEDIATE")
            db.execute(_INSERT, ("k", i, 1, b"\x01", 0, 0))
            db.execute("COMMIT")
        db.close()

    def durable_sync(n: int) -> None:
        with SQLiteStore(fresh(), "sync") as store, durable(adder, key="k", store=store) as h:
            call = h.call
            for i in range(n):
                call(i)

    bare, durable_ = _rates(n_sync, [bare_sync, durable_sync], repeats + 2)
    rows.append(("bare committed insert", bare))
    rows.append(("durable call, sync", durable_))

    # -- batched: one transaction per BATCH requests ------------------------------------
    def bare_batched(n: int) -> None:
        db = _bare_db(fresh())
        pending: list[tuple[Any, ...]] = []
        for i in range(n):
            pending.append(("k", i, 1, b"\x01", 0, 0))
            if len(pending) >= BATCH:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(_INSERT, pending)
                db.execute("COMMIT")
                pending = []
        db.close()

    # The same rows as a durable call journals (the request's MessagePack, a 32-bit
    # digest and checksum), their fields made before the clock starts: the store's
    # own cost for them, collected and committed as the 1-byte rows are.
    fields = [
        (body, zlib.crc32(body), row_crc(i + 1, 1, body, zlib.crc32(body)))
        for i in range(n_fast)
        for body in (encode(i),)
    ]

    def bare_batched_same(n: int) -> None:
        db = _bare_db(fresh())
        pending: list[tuple[Any, ...]] = []
        for i in range(n):
            body, digest, crc = fields[i]
            pending.append(("k", i + 1, 1, body, digest, crc))
            if len(pending) >= BATCH:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(_INSERT, pending)
                db.execute("COMMIT")
                pending = []
        db.close()

    def durable_batched(n: int) -> None:
        store = SQLiteStore(fresh(), "batched", batch=BATCH)
        with store, durable(adder, key="k", store=store) as h:
            call = h.call
            for i in range(n):
                call(i)

    bare, same, durable_ = _rates(
        n_fast, [bare_batched, bare_batched_same, durable_batched], repeats + 2
    )
    rows.append(("bare batched insert (1-byte rows)", bare))
    rows.append(("bare batched insert (the journal's rows)", same))
    rows.append(("durable call, batched", durable_))

    # -- replay: reopen a key with a long journal, with and without a snapshot ------------
    path = fresh()
    with SQLiteStore(path, "batched", batch=BATCH) as store:
        with durable(adder, key="long", store=store) as h:
            for i in range(entries):
                h.call(i % 7)
        with durable(adder, key="snap", store=store, snapshots=SNAPSHOTS) as h:
            for i in range(entries):
                h.call(i % 7)
            h.snapshot()
            for i in range(100):
                h.call(i % 7)
    with SQLiteStore(path) as store:
        start = time.perf_counter()
        with durable(adder, key="long", store=store) as h:
            replay = h.stats.replay_seconds
        reopen_long = time.perf_counter() - start
        start = time.perf_counter()
        with durable(adder, key="snap", store=store, snapshots=SNAPSHOTS) as h:
            pass
        reopen_snap = time.perf_counter() - start
    rows.append((f"replay, entries/s ({entries:,} entries)", entries / replay))
    rows.append((f"reopen {entries:,} entries, no snapshot (ms)", reopen_long * 1000))
    rows.append((f"reopen {entries:,} entries, snapshot + 100 (ms)", reopen_snap * 1000))

    shutil.rmtree(tmp, ignore_errors=True)
    _print(rows)
    return rows


def _print(rows: list[tuple[str, float]]) -> None:
    values = dict(rows)
    ratios = {
        "durable call, sync": ["bare committed insert"],
        "durable call, batched": [
            "bare batched insert (the journal's rows)",
            "bare batched insert (1-byte rows)",
        ],
    }
    print(f"{'':46} {'value':>14}  ratio")
    for name, value in rows:
        ratio = ""
        if name in ratios:
            ratio = ", ".join(
                f"{values[base] / value:.2f}x {base.removeprefix('bare ')}" for base in ratios[name]
            )
        unit = "ms" if "(ms)" in name else ("entries/s" if "entries/s" in name else "req/s")
        print(f"{name:46} {value:>14,.1f} {unit:9} {ratio}")


if __name__ == "__main__":
    main()
