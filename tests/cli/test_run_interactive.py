"""``nanoservices run`` at a terminal, driven through a pseudo-terminal (pexpect)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect  # type: ignore[import-untyped]
import pytest

from .conftest import ROOT

Spawn = Callable[..., pexpect.spawn]


@pytest.fixture
def spawn(cli_env: dict[str, str]) -> Iterator[Spawn]:
    """Start ``nanoservices ARGS...`` in a pseudo-terminal; closed after the test."""
    children: list[pexpect.spawn] = []
    env = dict(cli_env)  # TERM=dumb: no escape codes in the way, 80 columns

    def start(*args: str) -> pexpect.spawn:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "nanoservices", *args],
            env=env,
            cwd=str(ROOT),
            encoding="utf-8",
            timeout=20,
            dimensions=(50, 80),
        )
        children.append(child)
        return child

    yield start
    for child in children:
        child.close(force=True)


def leave(child: pexpect.spawn) -> int:
    """End the session with Ctrl-D; its exit status."""
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    status: int = child.exitstatus
    return status


def test_a_session_shows_replies_and_errors_and_goes_on(spawn: Spawn) -> None:
    child = spawn("run", "nanoservices.services.hashing:md5")
    child.expect("nanoservices run")
    child.expect("lists commands")
    child.expect("md5> ")
    child.sendline("'hello'")
    child.expect("5d41402abc4b2a76b9719d911017c592")
    child.expect("md5> ")
    child.sendline("42")
    child.expect("InvalidRequestError")
    child.expect("service 'md5'")
    child.expect("md5> ")
    child.sendline("hello")
    child.expect("quote it: 'hello'")
    child.expect("md5> ")
    child.sendline(":frob")
    child.expect("unknown command :frob")
    child.expect("md5> ")
    child.sendline('"world"')
    child.expect("7d793037a0760186574b0282f2f435e7")
    child.expect("md5> ")
    assert leave(child) == 0


def test_streams_one_by_one_all_or_stopped_early(spawn: Spawn) -> None:
    child = spawn("run", "nanoservices.examples.basics:countdown")
    child.expect("countdown> ")
    child.sendline(":stream 3")
    child.expect("1 3")
    child.expect("more\\?")
    child.sendline("")
    child.expect("2 2")
    child.expect("more\\?")
    child.sendline("q")
    child.expect("stopped after 2 item")
    child.expect("countdown> ")
    child.sendline("4")  # a native streamed reply is paged too
    child.expect("a streamed reply")
    child.expect("more\\?")
    child.sendline("a")
    child.expect("4 1")
    child.expect("end of stream \\(4 item")
    child.expect("countdown> ")
    child.sendline("-1")  # which streams had their source closed: both
    child.expect("\\[3, 4\\]")
    child.expect("countdown> ")
    assert leave(child) == 0


def test_ctrl_c_stops_an_endless_stream(spawn: Spawn) -> None:
    child = spawn("run", "tests/cli/services_for_cli.py:odd")
    child.expect("odd> ")
    child.sendline(":all 'inf'")
    child.expect(" 200 200")
    child.sendintr()
    child.expect("stopped after \\d+ item")
    child.expect("odd> ")
    child.sendline(":state")
    child.expect("odd is ready")
    child.expect("odd> ")
    child.sendline("'x'")
    child.expect("\"'x'\"")
    assert leave(child) == 0


def test_commands_state_reset_close_stats_inspect(spawn: Spawn) -> None:
    child = spawn("run", "tests/cli/services_for_cli.py:odd")
    child.expect("odd> ")
    child.sendline("'boom'")
    child.expect("ServiceFailedError")
    child.expect("boom requested")
    child.expect("odd \\[failed\\]> ")
    child.sendline(":reset")
    child.expect("reset: odd is ready")
    child.expect("odd> ")
    child.sendline(":stats")
    child.expect("statistics of odd")
    child.expect("odd> ")
    child.sendline(":inspect")
    child.expect("inspect odd")
    child.expect("services_for_cli.py")
    child.expect("odd> ")
    child.sendline(":help")
    child.expect(":throw NAME")
    child.expect("odd> ")
    child.sendline(":close")
    child.expect("closed odd")
    child.expect("odd \\[closed\\]> ")
    child.sendline("1")
    child.expect("ServiceClosedError")
    child.expect("odd \\[closed\\]> ")
    child.sendline(":quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_raw_talk_generator_with_its_reset_exception(spawn: Spawn) -> None:
    child = spawn("run", "--raw", "--reset-with", "Skip", "tests/cli/services_for_cli.py:letters")
    child.expect("\\(raw\\)")
    child.expect("letters> ")
    child.sendline(":stream 'abc'")
    child.expect("1 'a'")
    child.expect("more\\?")
    child.sendline("q")
    child.expect("stopped after 1 item")
    child.expect("letters> ")
    child.sendline(":all 'xy'")
    child.expect("2 'y'")
    child.expect("end of stream \\(2 item")
    child.expect("letters> ")
    child.sendline("''")  # the talk's falsy request ends the generator
    child.expect("letters has ended")
    child.expect("letters \\[closed\\]> ")
    assert leave(child) == 0


def test_history_is_kept_in_the_xdg_state_dir_without_stream_answers(
    spawn: Spawn, cli_env: dict[str, str]
) -> None:
    child = spawn("run", "nanoservices.examples.basics:countdown")
    child.expect("countdown> ")
    child.sendline("2")
    child.expect("more\\?")
    child.sendline("q")
    child.expect("countdown> ")
    child.sendline(":state")
    child.expect("countdown> ")
    assert leave(child) == 0
    history = Path(cli_env["XDG_STATE_HOME"]) / "nanoservices" / "run_history"
    lines = history.read_text().split()
    assert lines[-2:] == ["2", ":state"]
    assert "q" not in lines

    child = spawn("run", "nanoservices.examples.basics:countdown")
    child.expect("countdown> ")
    child.send("\x1b[A")  # arrow up: the last line of the previous session
    child.send("\r")
    child.expect("countdown is ready")
    assert leave(child) == 0
