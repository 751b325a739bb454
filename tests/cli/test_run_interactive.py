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
            timeout=60,  # generous: a loaded 2-core machine can be slow to start a process
            dimensions=(50, 80),
        )
        children.append(child)
        return child

    yield start
    for child in children:
        child.close(force=True)


def expect(child: pexpect.spawn, *patterns: str) -> None:
    """Wait for each pattern in turn (regular expressions, as ``child.expect`` takes)."""
    for pattern in patterns:
        child.expect(pattern)


def say(child: pexpect.spawn, line: str, *patterns: str) -> None:
    """Type ``line`` and Enter, then wait for each pattern in turn."""
    child.sendline(line)
    expect(child, *patterns)


def leave(child: pexpect.spawn) -> int:
    """End the session with Ctrl-D; its exit status.

    Call it only once the prompt is shown: a Ctrl-D typed before readline has
    taken the terminal (between a reply and the next prompt) can be lost.
    """
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    status: int = child.exitstatus
    return status


def test_a_session_shows_replies_and_errors_and_goes_on(spawn: Spawn) -> None:
    child = spawn("run", "nanoservices.services.hashing:md5")
    expect(child, "nanoservices run", "lists commands", "md5> ")
    say(child, "'hello'", "5d41402abc4b2a76b9719d911017c592", "md5> ")
    say(child, "42", "InvalidRequestError", "service 'md5'", "md5> ")
    say(child, "hello", "quote it: 'hello'", "md5> ")
    say(child, ":frob", "unknown command :frob", "md5> ")
    say(child, '"world"', "7d793037a0760186574b0282f2f435e7", "md5> ")
    assert leave(child) == 0


def test_streams_one_by_one_all_or_stopped_early(spawn: Spawn) -> None:
    child = spawn("run", "nanoservices.examples.basics:countdown")
    expect(child, "countdown> ")
    say(child, ":stream 3", "1 3", "more\\?")
    say(child, "", "2 2", "more\\?")
    say(child, "q", "stopped after 2 item", "countdown> ")
    say(child, "4", "a streamed reply", "more\\?")  # a native streamed reply is paged too
    say(child, "a", "4 1", "end of stream \\(4 item", "countdown> ")
    say(child, "-1", "\\[3, 4\\]", "countdown> ")  # which streams had their source closed: both
    assert leave(child) == 0


def test_ctrl_c_stops_an_endless_stream(spawn: Spawn) -> None:
    child = spawn("run", "tests/cli/services_for_cli.py:odd")
    expect(child, "odd> ")
    say(child, ":all 'inf'", " 200 200")
    child.sendintr()
    expect(child, "stopped after \\d+ item", "odd> ")
    say(child, ":state", "odd is ready", "odd> ")
    say(child, "'x'", "\"'x'\"", "odd> ")
    assert leave(child) == 0


def test_commands_state_reset_close_stats_inspect(spawn: Spawn) -> None:
    child = spawn("run", "tests/cli/services_for_cli.py:odd")
    expect(child, "odd> ")
    say(child, "'boom'", "ServiceFailedError", "boom requested", "odd \\[failed\\]> ")
    say(child, ":reset", "reset: odd is ready", "odd> ")
    say(child, ":stats", "statistics of odd", "odd> ")
    say(child, ":inspect", "inspect odd", "services_for_cli.py", "odd> ")
    say(child, ":help", ":throw NAME", "odd> ")
    say(child, ":close", "closed odd", "odd \\[closed\\]> ")
    say(child, "1", "ServiceClosedError", "odd \\[closed\\]> ")
    say(child, ":quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_explain_and_traceback_after_a_failure(spawn: Spawn) -> None:
    child = spawn("run", "tests/_cart_services.py:cart")
    expect(child, "cart> ")
    say(child, ":explain", "nothing has failed yet", "cart> ")
    say(child, "'start'", "30", "cart> ")
    say(child, "'BOGUS'", "ServiceFailedError", "cart \\[failed\\]> ")
    say(child, ":inspect", "inspect cart", ":explain says where", "cart \\[failed\\]> ")
    say(child, ":explain", "failed on request 'BOGUS'", "coupon_value", "return COUPONS",
        "cart \\[failed\\]> ")  # fmt: skip
    say(child, ":traceback", "Traceback", "in coupon_value", "KeyError: 'BOGUS'",
        "cart \\[failed\\]> ")  # fmt: skip
    assert leave(child) == 0


def test_raw_talk_generator_with_its_reset_exception(spawn: Spawn) -> None:
    child = spawn("run", "--raw", "--reset-with", "Skip", "tests/cli/services_for_cli.py:letters")
    expect(child, "\\(raw\\)", "letters> ")
    say(child, ":stream 'abc'", "1 'a'", "more\\?")
    say(child, "q", "stopped after 1 item", "letters> ")
    say(child, ":all 'xy'", "2 'y'", "end of stream \\(2 item", "letters> ")
    # the talk's falsy request ends the generator
    say(child, "''", "letters has ended", "letters \\[closed\\]> ")
    assert leave(child) == 0


def test_history_is_kept_in_the_xdg_state_dir_without_stream_answers(
    spawn: Spawn, cli_env: dict[str, str]
) -> None:
    child = spawn("run", "nanoservices.examples.basics:countdown")
    expect(child, "countdown> ")
    say(child, "2", "more\\?")
    say(child, "q", "countdown> ")
    say(child, ":state", "countdown> ")
    assert leave(child) == 0
    history = Path(cli_env["XDG_STATE_HOME"]) / "nanoservices" / "run_history"
    lines = history.read_text().split()
    assert lines[-2:] == ["2", ":state"]
    assert "q" not in lines

    child = spawn("run", "nanoservices.examples.basics:countdown")
    expect(child, "countdown> ")
    child.send("\x1b[A")  # arrow up: the last line of the previous session
    child.send("\r")
    expect(child, "countdown is ready", "countdown> ")  # readline owns the terminal again
    assert leave(child) == 0


def test_a_command_at_the_more_prompt_is_not_taken_for_next(spawn: Spawn) -> None:
    child = spawn("run", "--no-history", "tests/cli/services_for_cli.py:odd")
    expect(child, "odd> ")
    say(child, ':stream ["broken", 5]', "1 0", "more\\?")
    say(child, ":state", "stopped after 1 item", "odd is ready", "odd> ")
    say(child, ':stream ["broken", 5]', "1 0", "more\\?")
    child.sendline(":quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
