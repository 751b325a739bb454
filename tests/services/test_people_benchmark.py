"""A tiny-count run of benchmarks/people_stream.py, so the benchmark cannot rot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pgcluster import find_bindir

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "people_stream.py"


def run_benchmark(*args: str) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--rows", "300", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_sqlite_smoke() -> None:
    out = run_benchmark("--backend", "sqlite")
    assert "sqlite    service         300" in out


@pytest.mark.postgres
@pytest.mark.skipif(find_bindir() is None, reason="no PostgreSQL server binaries on this machine")
def test_postgres_smoke() -> None:
    out = run_benchmark("--backend", "postgres")
    assert "postgres  service         300" in out
