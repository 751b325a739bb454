"""Hypothesis: random request sequences, with snapshots, compactions and reopenings
at random points, leave a durable service in the state of a plain live one."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nanoservices import ServiceError
from nanoservices.durable import SQLiteStore, durable

from .services import Add, Boom, Count, Get, counter, snapshots

ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(-3, 50)),  # negative: the body raises
        st.tuples(st.just("stream"), st.integers(0, 5), st.integers(0, 6)),
        st.tuples(st.just("throw")),
        st.tuples(st.just("reset")),
        st.tuples(st.just("restart")),
        st.tuples(st.just("snapshot")),
        st.tuples(st.just("reopen")),
    ),
    max_size=40,
)


def apply(handle: Any, op: tuple[Any, ...]) -> object:
    """Do ``op``; what it gave (a reply, items, or the error's type)."""
    try:
        if op[0] == "add":
            return handle.call(Add(op[1]))
        if op[0] == "stream":
            stream = handle.stream(Count(op[1]))
            items = [item for _, item in zip(range(op[2]), stream, strict=False)]
            stream.cancel()
            return items
        if op[0] == "get":
            return handle.call(Get())
        if op[0] == "throw":
            return handle.throw(Boom)
        if op[0] == "reset":
            handle.reset()
        elif op[0] == "restart":
            handle.restart()
    except ServiceError as exc:
        return type(exc)
    return None


@settings(max_examples=60, deadline=None)
@given(ops, st.sampled_from([None, 1, 3, 8]))
def test_replay_reaches_the_live_state(sequence: list[tuple[Any, ...]], every: int | None) -> None:
    snaps = None if every is None else snapshots(every)
    with tempfile.TemporaryDirectory() as tmp, SQLiteStore(Path(tmp) / "j.sqlite") as store:
        live = counter()
        handle = durable(counter, key="k", store=store, snapshots=snaps)
        try:
            for op in sequence:
                if op[0] == "snapshot":
                    handle.snapshot()
                elif op[0] == "reopen":
                    handle.close()
                    handle = durable(counter, key="k", store=store, snapshots=snaps)
                    assert handle.state is live.state
                else:
                    assert apply(handle, op) == apply(live, op)
            handle.close()
            handle = durable(counter, key="k", store=store, snapshots=snaps)
            assert handle.state is live.state
            assert apply(handle, ("get",)) == apply(live, ("get",))
        finally:
            handle.close()
            live.close()
