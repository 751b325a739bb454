"""Stream a whole ``people`` table through the people service, on SQLite and PostgreSQL.

For each backend: fill a fresh database with ``--rows`` generated people
(not timed), then stream every row four ways, timed in turn (``--repeat``
rounds, each path once per round, the best pass counts: on a loaded machine
the paths see the same load):

* ``driver``: the bare database cursor (tuples), the floor;
* ``backend``: the backend's ``rows()`` (``Person`` records, no service);
* ``service``: ``people(...).stream({})``, what a caller of the service pays;
* ``table``: ``table(..., "people").stream({})``, the any-table service on the
  same table (records built from the catalog's columns).

``x driver`` is the path's rate over the driver's (1.00 = as fast as a bare
cursor loop); ``x drv cpu`` the same from this process's CPU time, steadier on a
loaded machine (for SQLite, where all the work is in this process; for
PostgreSQL it leaves out the server's share, so read ``x driver`` there).
Then one more ``service`` pass under tracemalloc gives the peak Python
memory, and the RSS high-water mark growth during another shows what the
process really took. Constant memory means both stay flat as ``--rows``
grows. PostgreSQL runs in a throwaway cluster this script starts
(``tests/services/pgcluster.py``), unless ``--postgres-dsn`` names an empty database.

    python benchmarks/people_stream.py                 # 1,000,000 rows, both backends
    python benchmarks/people_stream.py --rows 1000     # a quick smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nanoservices.services.people import create_demo_database, parse_query, people, table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "services"))
from pgcluster import find_bindir, throwaway_cluster

SELECT_ALL = "SELECT id, first_name, last_name, birth_date, city, email FROM people ORDER BY id"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the report."""

    backend: str
    path: str
    rows: int
    seconds: float
    peak_bytes: int | None = None
    rss_growth_bytes: int | None = None
    #: This process's CPU time for the pass (best of the rounds): steadier than
    #: wall time on a loaded machine, but blind to the PostgreSQL server's share.
    cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def _rss_bytes() -> int:
    """Current resident set size (Linux /proc; 0 elsewhere)."""
    with contextlib.suppress(OSError), open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()
    return 0


def _reset_rss_peak() -> bool:
    """Reset the kernel's RSS high-water mark (Linux >= 4.0): True if it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def _rss_peak_bytes() -> int:
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _count(items: Iterable[object]) -> int:
    count = 0
    for _ in items:
        count += 1
    return count


def _race(backend: str, paths: dict[str, Callable[[], Iterable[object]]], repeat: int) -> list[Row]:
    """The best of ``repeat`` full passes per path (wall and CPU), the paths taking turns."""
    best = dict.fromkeys(paths, float("inf"))
    best_cpu = dict.fromkeys(paths, float("inf"))
    counts = dict.fromkeys(paths, 0)
    for _ in range(repeat):
        for path, run in paths.items():
            cpu, start = time.process_time(), time.perf_counter()
            counts[path] = _count(run())
            best[path] = min(best[path], time.perf_counter() - start)
            best_cpu[path] = min(best_cpu[path], time.process_time() - cpu)
    return [
        Row(backend, path, counts[path], best[path], cpu_seconds=best_cpu[path]) for path in paths
    ]


def _memory(handle: Any) -> tuple[int, int | None]:
    """(tracemalloc peak, RSS high-water growth) of streaming everything once each."""
    baseline = _rss_bytes()
    reset = _reset_rss_peak()
    _count(handle.stream({}))
    growth = max(0, _rss_peak_bytes() - baseline) if reset else None
    tracemalloc.start()
    try:
        _count(handle.stream({}))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, growth


def _bench(
    backend: str,
    target: str,
    driver: Callable[[], Iterable[object]],
    rows_backend: Any,
    repeat: int,
) -> list[Row]:
    query = parse_query({}, rows_backend.table)
    with people(target) as service, table(target, "people") as any_table:
        rows = _race(
            backend,
            {
                "driver": driver,
                "backend": lambda: rows_backend.rows(query),
                "service": lambda: service.stream({}),
                "table": lambda: any_table.stream({}),
            },
            repeat,
        )
        peak, growth = _memory(service)
    rows_backend.close()
    return [
        Row(row.backend, row.path, row.rows, row.seconds, peak, growth, row.cpu_seconds)
        if row.path == "service"
        else row
        for row in rows
    ]


def bench_sqlite(count: int, workdir: Path, repeat: int = 1) -> list[Row]:
    """Driver, backend, service and table rows for SQLite."""
    from nanoservices.services.people._sqlite import SQLiteBackend

    path = workdir / "people.sqlite3"
    started = time.perf_counter()
    create_demo_database(path, count=count, seed=1)
    print(f"sqlite: seeded {count:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return _bench(
            "sqlite",
            str(path),
            lambda: connection.execute(SELECT_ALL),
            SQLiteBackend(path),
            repeat,
        )


def bench_postgres(count: int, dsn: str, repeat: int = 1) -> list[Row]:
    """Driver, backend, service and table rows for PostgreSQL."""
    import psycopg

    from nanoservices.services.people._postgres import ITERSIZE, PostgresBackend

    started = time.perf_counter()
    create_demo_database(dsn, count=count, seed=1)
    print(f"postgres: seeded {count:,} rows in {time.perf_counter() - started:.1f} s", flush=True)

    def driver() -> Iterator[object]:
        with psycopg.connect(dsn) as connection, connection.cursor(name="bench") as cursor:
            cursor.itersize = ITERSIZE
            cursor.execute(SELECT_ALL)
            yield from cursor

    return _bench("postgres", dsn, driver, PostgresBackend(dsn), repeat)


def _kib(value: int | None) -> str:
    return "-" if value is None else f"{value / 1024:,.0f} KiB"


def report(rows: Sequence[Row]) -> None:
    """Print the table: rate, ratio to the driver (wall, and this process's CPU), memory."""
    print(
        f"\n{'backend':<9} {'path':<8} {'rows':>10} {'seconds':>8} {'rows/s':>11} "
        f"{'x driver':>8} {'x drv cpu':>9} {'tracemalloc peak':>17} {'RSS growth':>11}"
    )
    drivers = {row.backend: row for row in rows if row.path == "driver"}
    for row in rows:
        driver = drivers[row.backend]
        ratio = row.rate / driver.rate
        cpu_ratio = driver.cpu_seconds / row.cpu_seconds if row.cpu_seconds else float("inf")
        print(
            f"{row.backend:<9} {row.path:<8} {row.rows:>10,} {row.seconds:>8.2f} "
            f"{row.rate:>11,.0f} {ratio:>8.2f} {cpu_ratio:>9.2f} {_kib(row.peak_bytes):>17} "
            f"{_kib(row.rss_growth_bytes):>11}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when every backend streamed every row."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000, help="people to stream")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds; the best counts")
    parser.add_argument("--postgres-dsn", help="an empty database to use instead of a cluster")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="people-bench-") as workdir:
        if args.backend in ("sqlite", "both"):
            rows += bench_sqlite(args.rows, Path(workdir), args.repeat)
        if args.backend in ("postgres", "both"):
            if args.postgres_dsn:
                rows += bench_postgres(args.rows, args.postgres_dsn, args.repeat)
            elif find_bindir() is None:
                print("postgres: skipped, no PostgreSQL server binaries found", file=sys.stderr)
            else:
                with throwaway_cluster() as cluster:
                    rows += bench_postgres(args.rows, cluster.dsn, args.repeat)
    report(rows)
    return 0 if all(row.rows == args.rows for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
