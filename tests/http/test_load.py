"""Load: 50 concurrent clients x 200 calls on loopback; no reply lost or mismatched."""

from __future__ import annotations

import statistics
import threading
import time

import pytest

from nanoservices.http import connect

pytestmark = [pytest.mark.http, pytest.mark.slow]

CLIENTS = 50
CALLS = 200


def test_concurrent_clients_get_their_own_replies(url: str) -> None:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start_line = threading.Barrier(CLIENTS)

    def client(n: int) -> None:
        mine: list[float] = []
        try:
            with connect(url, "counter", n * 1_000_000) as h:
                start_line.wait()
                for i in range(1, CALLS + 1):
                    t0 = time.perf_counter()
                    total = h(1)
                    mine.append(time.perf_counter() - t0)
                    if total != n * 1_000_000 + i:
                        errors.append(f"client {n} call {i}: got {total}")
        except Exception as exc:  # recorded, asserted below
            errors.append(f"client {n}: {exc!r}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    elapsed = time.perf_counter() - began
    assert errors == []
    assert len(latencies) == CLIENTS * CALLS
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"\n{CLIENTS}x{CALLS} calls in {elapsed:.1f}s ({len(latencies) / elapsed:,.0f}/s): "
        f"p50 {cuts[49] * 1e3:.2f} ms, p99 {cuts[98] * 1e3:.2f} ms"
    )
