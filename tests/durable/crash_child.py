"""The child process of the crash tests: serves durable counters under load and
acknowledges each reply on stdout, until the parent kills it with SIGKILL.

``python -m tests.durable.crash_child PATH_OR_DSN MODE SEED BATCH DIE_AFTER`` (0: never).
What it does to
each key is :func:`ops_for` (deterministic from the seed), in an order drawn
from the seed too, so the parent can rebuild the model of every key.
"""

from __future__ import annotations

import os
import random
import signal
import sys
from typing import Any

from nanoservices.durable import durable

from .conftest import open_store
from .services import Add, Count, counter

KEYS = ("acct-0", "acct-1", "acct-2")
OPS_PER_KEY = 400

Op = tuple[str, int, int]  # ("add", n, 0) or ("stream", upto, items read)


def ops_for(seed: int, key: str) -> list[Op]:
    rng = random.Random(f"{seed}/{key}")
    ops: list[Op] = []
    for _ in range(OPS_PER_KEY):
        if rng.random() < 0.15:
            upto = rng.randint(1, 6)
            ops.append(("stream", upto, rng.randint(0, upto)))
        else:
            ops.append(("add", rng.randint(1, 10**6), 0))
    return ops


def run(path: str, mode: Any, seed: int, batch: int, die_after: int = 0) -> None:
    store = open_store(path, mode, batch=batch, interval=3600)
    handles = {key: durable(counter, key=key, store=store) for key in KEYS}
    plans = {key: ops_for(seed, key) for key in KEYS}
    done = dict.fromkeys(KEYS, 0)
    order = random.Random(seed)
    out = sys.stdout
    while True:
        key = order.choice(KEYS)
        kind, a, b = plans[key][done[key]]
        handle = handles[key]
        if kind == "add":
            handle.call(Add(a))
        else:
            stream = handle.stream(Count(a))
            for _ in range(b):
                next(stream)
            stream.cancel()
        done[key] += 1
        out.write(f"{key} {done[key]}\n")
        out.flush()  # acknowledged: the parent has seen this reply
        die_after -= 1
        if die_after == 0:  # a kill at an exact point: the collected group is lost
            os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    path, mode, seed, batch, die_after = sys.argv[1:]
    run(path, mode, int(seed), int(batch), int(die_after))
