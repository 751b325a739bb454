"""The stored entry: its checksum is the on-disk format, and the hot paths' kinds are
plain ints equal to the ``Kind`` members (stored and compared alike)."""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Generator
from contextlib import closing
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from nanoservices import service
from nanoservices.durable import SQLiteStore, durable
from nanoservices.durable._entries import CALL, ITEM, UNCHECKED, Kind, row, row_crc


def _format(seq: int, kind: int, body: bytes, digest: int) -> int:
    """The checksum as journals on disk hold it: the seed masked to 32 bits."""
    return zlib.crc32(body, (seq * 2654435761 + kind * 97 + digest) & 0xFFFFFFFF)


@given(
    seq=st.integers(min_value=0, max_value=2**63),
    kind=st.integers(min_value=0, max_value=9),
    body=st.binary(max_size=64),
    digest=st.one_of(st.just(UNCHECKED), st.integers(min_value=0, max_value=2**32 - 1)),
)
def test_the_checksum_is_the_stored_format(seq: int, kind: int, body: bytes, digest: int) -> None:
    assert row("k", seq, kind, body, digest) == (
        "k",
        seq,
        kind,
        body,
        digest,
        _format(seq, kind, body, digest),
    )
    assert row_crc(seq, kind, body, digest) == _format(seq, kind, body, digest)


def test_the_hot_paths_kinds_are_the_kinds_as_ints() -> None:
    assert (CALL, ITEM) == (Kind.CALL, Kind.ITEM)
    assert type(CALL) is int
    assert type(ITEM) is int


@service
def adder() -> Generator[int, int, None]:
    total = 0
    while True:
        total += yield total


def test_a_batched_journal_reopens_from_rows_of_plain_kinds(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with SQLiteStore(path, "batched", batch=3) as store, durable(adder, key="k", store=store) as h:
        for i in range(7):
            h.call(i)
    # closing(): a connection's own with-block only commits (3.13 warns of the unclosed one)
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute(
            "SELECT seq, kind, body, digest, crc FROM journal ORDER BY seq"
        ).fetchall()
    assert [(seq, kind) for seq, kind, *_ in rows] == [(i, int(Kind.CALL)) for i in range(1, 8)]
    assert all(crc == _format(seq, kind, body, digest) for seq, kind, body, digest, crc in rows)
    with SQLiteStore(path) as store, durable(adder, key="k", store=store) as h:
        assert h.stats.replayed == 7
        assert h.call(0) == sum(range(7))
