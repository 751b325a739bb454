"""``nanoservices demo`` end to end, in a subprocess, offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nanoservices.services.people import generate_people

from .conftest import ROOT, RunCli

#: One worker of a parallel run, so the demo runs once for the checks below.
pytestmark = pytest.mark.xdist_group("demo")


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One run of the demo, shared by the checks below (it takes a few seconds)."""
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200")
    env["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))
    done = subprocess.run(
        [sys.executable, "-m", "nanoservices", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skipped" not in done.stdout, done.stdout
    return done.stdout


def test_md5_of_hello(demo_output: str) -> None:
    assert "'hello'" in demo_output
    assert "5d41402abc4b2a76b9719d911017c592" in demo_output


def test_forecasts_for_tel_aviv_dar_es_salaam_and_by_name(demo_output: str) -> None:
    assert "Tel Aviv, Israel (44)" in demo_output
    assert "2020-08-06 │ Sunny" in demo_output  # Tel Aviv's first day, bundled data
    assert "Dar Es Salaam" in demo_output
    assert "2020-09-08 │ Light Rain" in demo_output
    assert "by name: weather.stream('Tokyo') -> 2020-07-29" in demo_output
    assert "fetched 1 time(s): the service is a cache" in demo_output


def test_people_rows_from_the_seeded_database(demo_output: str) -> None:
    first = next(iter(generate_people(1000, 0)))
    row = f"│ {first.id} "
    assert any(
        row in line and first.first_name in line and first.last_name in line
        for line in demo_output.splitlines()
    ), demo_output
    assert "0 rows (values are bound parameters)" in demo_output
    assert "unknown column 'shoe_size'" in demo_output


def test_resets_mid_stream(demo_output: str) -> None:
    assert "reset mid-stream after 2 days of Tel Aviv" in demo_output
    assert "forecasts is ready" in demo_output
    assert "reset mid-stream with DifferentCity" in demo_output


def test_the_talks_raw_generators(demo_output: str) -> None:
    assert "'abcabcabcabcabc'" in demo_output
    assert "after the falsy request, times_five is closed" in demo_output
    assert "combined() greets: 'Send 1 for weather, 2 for md5, or None to exit'" in demo_output
    assert "the menu service is closed" in demo_output


def test_statistics_of_the_services_it_ran(demo_output: str) -> None:
    assert "statistics" in demo_output
    for name in ("md5", "forecasts", "people", "talk.times_five", "talk.combined"):
        assert any(line.strip().startswith(name + " ") for line in demo_output.splitlines()), name


def test_a_database_path_is_seeded_once_then_reused(run_cli: RunCli, tmp_path: Path) -> None:
    db = tmp_path / "people.sqlite3"
    first = run_cli("demo", "--db", str(db), "--people", "50", "--seed", "7")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "seeded 50 people (seed 7)" in first.stdout
    assert db.exists()
    again = run_cli("demo", "--db", str(db))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "using the existing database" in again.stdout
