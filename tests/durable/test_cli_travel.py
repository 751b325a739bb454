"""``nanoservices journal`` time travel, run as real commands: show (times, replies,
paging, JSON), inspect --at, step (piped, and once in a real terminal), debug, diverge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pexpect  # type: ignore[import-untyped]
import pytest

from nanoservices.durable import JournalStore, SQLiteStore, durable
from nanoservices.examples.ledger import Audit, Balance, Check, Close, Deposit, Withdraw, ledger

from .conftest import open_store

ROOT = Path(__file__).resolve().parents[2]
LEDGER = "nanoservices.examples.ledger:ledger"
FIXED = "nanoservices.examples.ledger:fixed_ledger"


def _env() -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return env


def journal(*args: str, input: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nanoservices", "journal", *args],
        input=input,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        check=False,
        timeout=120,
    )


def fill(store: JournalStore, key: str = "acme") -> None:
    """The ledger's bug: the balance goes negative at step 5, inside the audit."""
    with durable(ledger, [].append, key=key, store=store) as h:
        for request in (Deposit(100), Withdraw(30), Audit(fee=40)):
            h.call(request)
        for request in (Check("rent"), Check("food"), Close(), Balance()):
            h.call(request)


@pytest.fixture
def where(journal_path: Path) -> list[str]:
    """The --store option of a filled SQLite store."""
    with SQLiteStore(journal_path) as store:
        fill(store)
    return ["--store", str(journal_path)]


def test_show_gives_times_and_pages(where: list[str]) -> None:
    shown = journal("show", "acme", *where)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["1", "2", "3", "4", "5", "6", "7"]
    assert all(line.split()[3] == "call" for line in lines)
    day, clock = lines[0].split()[1:3]
    assert len(day) == 10
    assert day[4] == "-"
    assert len(clock) == 12
    assert "{'type': 'Deposit', 'amount': 100}" in lines[0]
    paged = journal("show", "acme", *where, "--from", "2", "--limit", "2")
    assert [line.split()[0] for line in paged.stdout.splitlines()] == ["2", "3"]
    tail = journal("show", "acme", *where, "--tail", "3")
    assert [line.split()[0] for line in tail.stdout.splitlines()] == ["5", "6", "7"]
    bad = journal("show", "acme", *where, "--limit", "-1")
    assert bad.returncode == 2
    assert "--limit must be a positive number" in bad.stderr


def test_show_with_the_service_gives_typed_requests_and_replies(where: list[str]) -> None:
    shown = journal("show", "acme", *where, "--service", LEDGER, "--tail", "3")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].endswith("call     Check(entry='food') -> -10")
    assert lines[1].endswith("Close() -> -10")
    as_json = journal("show", "acme", *where, "--service", LEDGER, "--json", "--limit", "3")
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [r["reply"] for r in records] == [100, 70, "audit open, fee 40"]
    assert records[1]["request"] == {"type": "Withdraw", "amount": 30}
    assert all(isinstance(r["time"], float) for r in records)


def test_inspect_at_a_step_shows_the_chain(where: list[str]) -> None:
    shown = journal("inspect", "acme", "--at", "5", "--service", LEDGER, *where)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert text.startswith("after step 5: call Check(entry='food') -> -10")
    assert "└─ audit" in text
    assert "balance = -10" in text
    as_json = journal("inspect", "acme", "--at", "5", "--service", LEDGER, "--json", *where)
    data = json.loads(as_json.stdout)
    assert [f["function"] for f in data["chain"]] == ["ledger", "_ledger", "audit"]
    assert data["chain"][2]["locals"]["balance"] == "-10"
    beyond = journal("inspect", "acme", "--at", "8", "--service", LEDGER, *where)
    assert beyond.returncode == 1
    assert "step 8 is not in the journal" in beyond.stderr


STEP_SESSION = "next\nn 3\nchanges balance\ndiff 3\nback\nlocals\ngoto 9\nquit\n"


def test_step_reads_commands_from_a_pipe(where: list[str]) -> None:
    done = journal("step", "acme", "--service", LEDGER, *where, input=STEP_SESSION)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "ledger, key 'acme': steps 1 to 7" in out
    assert "(step 0/7) next\nstep 1: call Deposit(amount=100) -> 100" in out
    assert "(step 1/7) n 3\nstep 4: call Check(entry='rent') -> 30" in out
    assert "  step 5: audit.balance: 30 -> -10" in out
    assert "  audit.balance: 70 -> 30" in out  # diff 3 against step 4
    assert "(step 4/7) back\nstep 3: call Audit(fee=40)" in out
    assert "      balance = 70" in out  # locals: the audit's, at step 3
    assert "error: step 9 is not in the journal" in out
    assert out.rstrip().endswith("(step 3/7) quit")


def test_step_in_a_real_terminal(where: list[str]) -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "nanoservices", "journal", "step", "acme", "--service", LEDGER, *where],
        env=_env(),
        cwd=str(ROOT),
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 120),
    )
    try:
        child.expect(r"\(step 0/7\) ")
        child.sendline("goto 5")
        child.expect(r"step 5: call Check\(entry='food'\) -> -10")
        child.expect(r"audit  \S+ledger\.py:\d+  > request = yield reply")
        child.expect(r"\(step 5/7\) ")
        child.sendline("back")
        child.expect(r"step 4: call Check\(entry='rent'\) -> 30")
        child.expect(r"\(step 4/7\) ")
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_debug_stops_in_the_services_frame(where: list[str]) -> None:
    done = journal(
        "debug", "acme", "--at", "5", "--service", LEDGER, *where, input="p balance, fee\nc\n"
    )
    assert done.returncode == 0, done.stderr
    assert "ledger.py" in done.stdout
    assert "audit()" in done.stdout
    assert "(30, 40)" in done.stdout  # the audit's locals as it takes step 5
    assert "step 5: call Check(entry='food') -> -10" in done.stdout


def test_diverge_finds_the_step_the_fix_changes(where: list[str]) -> None:
    done = journal("diverge", "acme", "--service", LEDGER, "--with", FIXED, *where)
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("step 5 diverges: call Check(entry='food')")
    assert "edited code:     -> 30" in done.stdout
    assert "└─ fixed_audit" in done.stdout
    same = journal("diverge", "acme", "--service", LEDGER, "--with", LEDGER, *where)
    assert same.returncode == 0
    assert "answers all 7 steps as the journal does" in same.stdout


def test_a_served_key_is_found_by_its_short_name(journal_path: Path) -> None:
    with SQLiteStore(journal_path) as store:
        fill(store, key="ledger/acme")  # as serve stores it
    done = journal(
        "inspect", "acme", "--at", "1", "--service", LEDGER, "--store", str(journal_path)
    )
    assert done.returncode == 0, done.stderr
    assert "after step 1: call Deposit(amount=100) -> 100" in done.stdout


def test_bad_service_is_a_usage_error(where: list[str]) -> None:
    done = journal("inspect", "acme", "--at", "1", "--service", "nowhere:nothing", *where)
    assert done.returncode == 2


@pytest.mark.postgres
def test_step_on_postgres(pg_cluster: object) -> None:
    dsn = pg_cluster.create_database(f"c{uuid.uuid4().hex[:12]}")  # type: ignore[attr-defined]
    with open_store(dsn) as store:
        fill(store)
    done = journal("step", "acme", "--service", LEDGER, "--dsn", dsn, input="goto 5\nwhere\n")
    assert done.returncode == 0, done.stderr
    assert "step 5: call Check(entry='food') -> -10" in done.stdout


def test_another_factory_is_refused_unless_forced(where: list[str]) -> None:
    done = journal("inspect", "acme", "--at", "5", "--service", FIXED, *where)
    assert done.returncode == 1
    assert "written by nanoservices.examples.ledger:ledger" in done.stderr
    assert "--force" in done.stderr
    forced = journal("inspect", "acme", "--at", "5", "--service", FIXED, "--force", *where)
    assert forced.returncode == 0, forced.stderr
    assert "after step 5: call Check(entry='food') -> 30" in forced.stdout


def test_a_refused_step_command_leaves_the_session_where_it_was() -> None:
    """A ``diff`` or ``goto`` naming a step beyond the journal is an error, and
    the session stays at the step it was at (the prompt says so)."""
    from nanoservices._cli._stepper import Stepper
    from nanoservices.durable import MemoryStore, history

    store = MemoryStore()
    fill(store)
    shown: list[str] = []
    with history(ledger, [].append, key="acme", store=store) as hist:
        stepper = Stepper(hist, shown.append)
        stepper.execute("goto 2")
        for refused in ("diff 1 50", "diff 50", "goto 50", "next 9", "back 5"):
            stepper.execute(refused)
            assert shown[-1].startswith("error: step "), refused
            assert stepper.prompt() == "(step 2/7) ", refused


def test_debug_of_a_step_beyond_the_journal_says_so_first(where: list[str]) -> None:
    done = journal("debug", "acme", "--at", "9", "--service", LEDGER, *where)
    assert done.returncode == 1
    assert done.stdout == ""  # no "replayed to step 8": nothing was replayed
    assert "step 9 is not in the journal of key 'acme' (steps 1 to 7)" in done.stderr


def test_a_service_option_naming_no_factory_names_the_journal_command(where: list[str]) -> None:
    done = journal("inspect", "acme", "--at", "1", "--service", f"{LEDGER[:-7]}:Deposit", *where)
    assert done.returncode == 2
    assert "Deposit is a StructMeta, not a service factory" in done.stderr
    assert "serve" not in done.stderr


def test_debug_of_an_async_service_is_refused_before_it_announces_pdb(
    journal_path: Path,
) -> None:
    import asyncio

    from nanoservices.durable import adurable

    from .aservices import acounter
    from .services import Add

    async def write() -> None:
        with SQLiteStore(journal_path) as store:
            h = await adurable(acounter, key="a", store=store)
            await h.call(Add(1))
            await h.aclose()

    asyncio.run(write())
    service = "tests.durable.aservices:acounter"
    done = journal("debug", "a", "--at", "1", "--service", service, "--store", str(journal_path))
    assert done.returncode == 1
    assert done.stdout == ""  # no "pdb stops in the service's frame": it will not
    assert "journal inspect --at N" in done.stderr


@pytest.mark.parametrize("service", [[], ["--service", LEDGER]])
def test_show_past_the_end_says_where_the_journal_ends(
    where: list[str], service: list[str]
) -> None:
    done = journal("show", "acme", "--from", "9", *service, *where)
    assert done.returncode == 0  # an empty page, not an error
    assert done.stdout == ""
    assert "no entries from 9: the journal holds entries 1 to 7" in done.stderr
