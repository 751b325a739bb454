"""Every ``nanoservices`` subcommand is named in ``--help``, in docs/cli.md and in the README.

The list comes from the command line itself (the typer application after every
command module registered), so a new subcommand that the docs leave out fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import typer.core
import typer.main

from nanoservices._cli import _register_commands, app

from .conftest import RunCli

ROOT = Path(__file__).resolve().parents[2]
NUMBER_WORDS = ("two", "three", "four", "five", "six", "seven", "eight", "nine")


def _group() -> typer.core.TyperGroup:
    _register_commands()
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return group


def commands() -> list[str]:
    """The top-level subcommands, as the command line registers them."""
    return sorted(_group().commands)


def journal_commands() -> list[str]:
    """The subcommands of ``nanoservices journal``."""
    journal = _group().commands["journal"]
    assert isinstance(journal, typer.core.TyperGroup)
    return sorted(journal.commands)


def _section(text: str, heading: str) -> str:
    """The text under the level-2 heading that starts with ``heading``, up to the next one."""
    match = re.search(rf"^## {re.escape(heading)}.*?(?=^## |\Z)", text, re.S | re.M)
    assert match is not None, f"no section '## {heading}...'"
    return match.group(0)


def test_the_command_line_has_the_journal_subcommand() -> None:
    assert "journal" in commands()  # else this file checks less than it says


def test_help_summary_names_every_subcommand(run_cli: RunCli) -> None:
    done = run_cli("--help")
    assert done.returncode == 0, done.stderr
    summary = done.stdout.split("Options")[0]
    for name in commands():
        assert re.search(rf"\b{name}\b", summary), f"--help's summary leaves out {name!r}"


def test_docs_cli_has_a_section_for_every_subcommand() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    for name in commands():
        _section(text, f"`nanoservices {name}")


def test_docs_cli_does_not_count_the_subcommands_wrongly() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    right = len(commands())
    for count, word in enumerate(NUMBER_WORDS, start=2):
        if count != right:
            assert f"{word} subcommands" not in text, f"docs/cli.md says {word} subcommands"


def test_docs_cli_journal_section_shows_every_journal_subcommand() -> None:
    section = _section((ROOT / "docs" / "cli.md").read_text(), "`nanoservices journal")
    for name in journal_commands():
        assert f"nanoservices journal {name}" in section, f"journal {name} is not shown"


def test_readme_command_table_has_a_row_for_every_subcommand() -> None:
    text = (ROOT / "README.md").read_text()
    table = _section(text, "Command line")
    for name in commands():
        assert re.search(rf"^\| `nanoservices {name}\b", table, re.M), name
    for count, word in enumerate(NUMBER_WORDS, start=2):
        if count != len(commands()):
            assert f"all {word} commands" not in table
