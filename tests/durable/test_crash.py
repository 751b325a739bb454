"""Durable counters in a child process killed with SIGKILL at random points.

The parent reads each acknowledgement the child writes, kills it after a number
of them drawn from the seed, reads what was acknowledged before it died, then
opens the same keys in this (another) process and checks every key's state
against a model: in ``sync`` mode not one acknowledged request is lost; in
``batched`` mode at most ``batch`` entries are.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nanoservices.durable import durable

from .conftest import open_store
from .crash_child import KEYS, Op, ops_for
from .services import Get, counter

ROOT = Path(__file__).resolve().parents[2]


def model_states(ops: list[Op]) -> list[tuple[float, tuple[int, int]]]:
    """Every state a key passes through: (ops done, state); ``j - 0.5`` marks a state
    inside op ``j`` (a stream read item by item)."""
    count = total = 0
    states: list[tuple[float, tuple[int, int]]] = [(0, (0, 0))]
    for j, (kind, a, b) in enumerate(ops, start=1):
        if kind == "add":
            count += 1
            total += a
        else:
            for i in range(1, b + 1):
                total += i
                states.append((j - 0.5, (count, total)))
        states.append((j, (count, total)))
    return states


def crash_once(
    path: str | Path, mode: str, seed: int, batch: int, die_after: int = 0
) -> dict[str, int]:
    """Run the child, kill it after a seeded number of acknowledgements (or let it kill
    itself after ``die_after`` of them); what it acknowledged."""
    kill_after = random.Random(seed).randint(30, 400)
    acked = dict.fromkeys(KEYS, 0)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.durable.crash_child",
            str(path),
            mode,
            str(seed),
            str(batch),
            str(die_after),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    ) as child:
        assert child.stdout is not None
        for seen, line in enumerate(child.stdout, start=1):
            key, done = line.split()
            acked[key] = int(done)
            if seen == kill_after:
                child.send_signal(signal.SIGKILL)
                break
        for line in child.stdout:  # written before it died: acknowledged too
            key, done = line.split()
            acked[key] = int(done)
        assert child.wait() == -signal.SIGKILL
    return acked


@pytest.mark.parametrize(("mode", "batch"), [("sync", 1), ("batched", 64)], ids=["sync", "batched"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_acknowledged_requests_survive_sigkill(
    location: str, mode: str, batch: int, seed: int
) -> None:
    path = location
    acked = crash_once(path, mode, seed, batch)
    lost_bound = 0 if mode == "sync" else batch
    with open_store(path) as store:
        for key in KEYS:
            with durable(counter, key=key, store=store) as handle:
                count, total = handle.call(Get())
            done = [at for at, state in model_states(ops_for(seed, key)) if state == (count, total)]
            assert done, f"{key}: state {(count, total)} is no state of the model"
            # At most the op in flight when the child died is ahead of what was acked.
            assert any(acked[key] - lost_bound <= at <= acked[key] + 1 for at in done), (
                f"{key}: acked {acked[key]}, journal holds {done}"
            )


def test_batched_mode_loses_at_most_the_collected_group(location: str) -> None:
    """The child kills itself right after an acknowledgement: whatever the group being
    collected held is lost, and never more than ``batch`` entries."""
    path = location
    seed, batch = 5, 16
    acked = crash_once(path, "batched", seed, batch, die_after=25)
    assert sum(acked.values()) == 25
    lost = 0
    with open_store(path) as store:
        entries = sum(k.last_seq for k in store.list_keys())  # before the checks add any
        for key in KEYS:
            with durable(counter, key=key, store=store) as handle:
                state = tuple(handle.call(Get()))
            done = [at for at, s in model_states(ops_for(seed, key)) if s == state]
            assert done
            assert max(done) <= acked[key]
            lost += acked[key] - int(max(done))
    assert lost > 0  # this kill point falls inside a group
    assert entries % batch == 0  # only whole groups were committed
    assert lost <= batch
