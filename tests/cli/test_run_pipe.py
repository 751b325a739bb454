"""``nanoservices run`` without a terminal: JSON lines through a subprocess, end to end."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .conftest import RunCli

MD5 = "nanoservices.services.hashing:md5"
ODD = "tests/cli/services_for_cli.py:odd"
LETTERS = "tests/cli/services_for_cli.py:letters"
HELLO_MD5 = "5d41402abc4b2a76b9719d911017c592"


def records(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_replies_are_json_lines_in_order(run_cli: RunCli) -> None:
    done = run_cli("run", MD5, input="\"hello\"\n'hello'\n")
    assert done.returncode == 0, done.stderr
    assert records(done.stdout) == [{"reply": HELLO_MD5}, {"reply": HELLO_MD5}]
    assert done.stderr == ""


def test_blank_and_comment_lines_are_skipped(run_cli: RunCli) -> None:
    done = run_cli("run", MD5, input='\n# a comment\n"hello"\n   \n')
    assert records(done.stdout) == [{"reply": HELLO_MD5}]


def test_text_mode_sends_each_line_as_a_string(run_cli: RunCli) -> None:
    done = run_cli("run", "--text", MD5, input="hello\n:state\n")
    assert done.returncode == 0, done.stderr
    state_md5 = hashlib.md5(b":state").hexdigest()  # no commands in text mode
    assert records(done.stdout) == [{"reply": HELLO_MD5}, {"reply": state_md5}]


def test_a_refused_request_is_an_error_record_and_the_session_goes_on(run_cli: RunCli) -> None:
    done = run_cli("run", MD5, input='42\n"hello"\n')
    assert done.returncode == 1
    error, reply = records(done.stdout)
    assert error["error"]["type"] == "InvalidRequestError"
    assert error["error"]["service"] == "md5"
    assert error["error"]["line"] == 1
    assert "expected str | bytes" in error["error"]["message"]
    assert reply == {"reply": HELLO_MD5}
    assert "line 1: InvalidRequestError: service 'md5'" in done.stderr


def test_input_that_is_not_a_literal_is_refused_never_evaluated(run_cli: RunCli) -> None:
    done = run_cli("run", MD5, input='__import__("os").getcwd()\nhello\n')
    assert done.returncode == 1
    first, second = records(done.stdout)
    assert first["error"]["type"] == "LiteralError"
    assert "only literals" in first["error"]["message"]
    assert "quote it: 'hello'" in second["error"]["message"]


def test_fail_fast_stops_at_the_first_failed_line(run_cli: RunCli) -> None:
    done = run_cli("run", "--fail-fast", MD5, input='42\n"hello"\n')
    assert done.returncode == 1
    assert len(records(done.stdout)) == 1


def test_a_native_streamed_reply_is_items_then_an_end_marker(run_cli: RunCli) -> None:
    done = run_cli("run", "nanoservices.examples.basics:countdown", input="3\n")
    assert done.returncode == 0, done.stderr
    assert records(done.stdout) == [
        {"item": 3},
        {"item": 2},
        {"item": 1},
        {"end": True, "items": 3},
    ]


def test_a_stream_built_by_a_helper_is_items_too(run_cli: RunCli) -> None:
    done = run_cli("run", "nanoservices.examples.basics:relay", input='2\n"x"\n')
    assert done.returncode == 0, done.stderr
    assert records(done.stdout) == [
        {"item": 2},
        {"item": 1},
        {"end": True, "items": 2},
        {"reply": "x"},
    ]


def test_max_items_stops_an_endless_stream_and_the_service_serves_on(run_cli: RunCli) -> None:
    done = run_cli("run", "--max-items", "2", ODD, input='"inf"\n"x"\n')
    assert done.returncode == 0, done.stderr
    assert records(done.stdout) == [
        {"item": 1},
        {"item": 2},
        {"end": True, "items": 2, "stopped": True},
        {"reply": "'x'"},
    ]


def test_a_stream_failing_midway_keeps_its_items_and_reports_the_cause(run_cli: RunCli) -> None:
    done = run_cli("run", ODD, input='["broken", 2]\n"after"\n')
    assert done.returncode == 1
    out = records(done.stdout)
    assert out[:2] == [{"item": 0}, {"item": 1}]
    assert out[2]["error"]["type"] == "ServiceFailedError"
    assert out[2]["error"]["cause"] == "ValueError: broke after 2 items"
    assert out[3] == {"reply": "'after'"}


def test_a_failed_service_says_so_and_reset_restarts_it(run_cli: RunCli) -> None:
    done = run_cli("run", ODD, input='"boom"\n:state\n"x"\n:reset\n:state\n"x"\n')
    out = records(done.stdout)
    assert out[0]["error"]["type"] == "ServiceFailedError"
    assert out[0]["error"]["cause"] == "RuntimeError: boom requested"
    assert out[1] == {"state": "failed"}
    assert "failed earlier and was not restarted" in out[2]["error"]["message"]
    assert out[3:] == [{"reset": True}, {"state": "ready"}, {"reply": "'x'"}]
    assert done.returncode == 1


def test_factory_arguments_are_literals_and_keywords(run_cli: RunCli) -> None:
    done = run_cli("run", ODD, "prefix=>> ", input="[1, 2]\n")
    assert records(done.stdout) == [{"reply": ">> [1, 2]"}]
    sha = run_cli("run", "nanoservices.services.hashing:hasher", "sha256", input='"hello"\n')
    assert records(sha.stdout)[0]["reply"].startswith("2cf24dba5fb0a30e")


def test_stream_commands_and_the_stream_option(run_cli: RunCli) -> None:
    done = run_cli("run", "--raw", LETTERS, input=':stream "ab"\n')
    assert records(done.stdout) == [{"item": "a"}, {"item": "b"}, {"end": True, "items": 2}]
    done = run_cli("run", "--raw", "--stream", LETTERS, input='"ab"\n"c"\n')
    assert records(done.stdout) == [
        {"item": "a"},
        {"item": "b"},
        {"end": True, "items": 2},
        {"item": "c"},
        {"end": True, "items": 1},
    ]


def test_raw_generators_keep_the_talk_semantics(run_cli: RunCli) -> None:
    done = run_cli(
        "run", "--raw", "nanoservices.examples.talk:times_five", input="10\n23\n'abc'\nNone\n5\n"
    )
    out = records(done.stdout)
    assert out[:3] == [{"reply": 50}, {"reply": 115}, {"reply": "abc" * 5}]
    assert out[3] == {"reply": None, "closed": True}
    assert out[4]["error"]["type"] == "ServiceClosedError"
    assert done.returncode == 1


def test_raw_reset_with_throws_the_talk_exception_on_early_exit(run_cli: RunCli) -> None:
    done = run_cli(
        "run",
        "--raw",
        "--reset-with",
        "Skip",
        "--max-items",
        "1",
        LETTERS,
        input=':stream "abc"\n:state\n:stream "xy"\n',
    )
    assert done.returncode == 0, done.stderr
    assert records(done.stdout) == [
        {"item": "a"},
        {"end": True, "items": 1, "stopped": True},
        {"state": "ready"},
        {"item": "x"},
        {"end": True, "items": 1, "stopped": True},
    ]


def test_throw_raises_an_exception_from_the_service_module(run_cli: RunCli) -> None:
    done = run_cli("run", "--raw", LETTERS, input="'abc'\n:throw Skip\n:throw Nope\n")
    out = records(done.stdout)
    assert out[0] == {"reply": "a"}
    assert out[1] == {"thrown": "Skip", "reply": None}
    assert "no exception class 'Nope'" in out[2]["error"]["message"]


def test_close_then_requests_are_closed_errors(run_cli: RunCli) -> None:
    done = run_cli("run", MD5, input=':close\n"hello"\n:state\n')
    out = records(done.stdout)
    assert out[0] == {"closed": True}
    assert out[1]["error"]["type"] == "ServiceClosedError"
    assert out[2] == {"state": "closed"}


def test_stats_and_inspect_records(run_cli: RunCli) -> None:
    done = run_cli("run", MD5, input='"a"\n"b"\n42\n:stats\n:inspect\n:help\n')
    out = records(done.stdout)
    stats = out[3]["stats"]
    assert stats is not None, out[3].get("note")
    assert (stats["service"], stats["requests"], stats["errors"]) == ("md5", 3, 1)
    assert out[4]["inspect"]["service"] == "md5"
    assert ":stream" in out[5]["commands"]


def test_unknown_commands_are_error_records(run_cli: RunCli) -> None:
    done = run_cli("run", MD5, input=":frobnicate\n:stream\n:state now\n")
    messages = [r["error"]["message"] for r in records(done.stdout)]
    assert "unknown command :frobnicate" in messages[0]
    assert ":stream needs REQUEST" in messages[1]
    assert ":state takes no argument" in messages[2]


def test_quit_stops_reading(run_cli: RunCli) -> None:
    done = run_cli("run", MD5, input='"a"\n:quit\n"b"\n')
    assert len(records(done.stdout)) == 1
    assert done.returncode == 0


def test_rich_replies_become_json(run_cli: RunCli) -> None:
    done = run_cli("run", "nanoservices.examples.basics:echo", input="(1, 2)\n{1}\nb'hi'\nNone\n")
    assert [r["reply"] for r in records(done.stdout)] == [[1, 2], [1], "aGk=", None]


def test_exit_status_2_when_the_target_is_unusable(run_cli: RunCli) -> None:
    for target, message in [
        ("nope_no_such_module:x", "no module named 'nope_no_such_module'"),
        ("nanoservices.services.hashing:nope", "has no attribute 'nope'"),
        ("nanoservices.services.hashing", "expected MODULE:FACTORY"),
        ("nanoservices.examples.talk:times_five", "run --raw nanoservices.examples.talk:"),
        ("tests/cli/missing.py:x", "no such file"),
    ]:
        done = run_cli("run", target)
        assert done.returncode == 2, (target, done.stderr)
        assert message in done.stderr, (target, done.stderr)
        assert done.stdout == ""


def test_exit_status_3_when_the_service_does_not_start(run_cli: RunCli) -> None:
    done = run_cli("run", "nanoservices.services.hashing:hasher", "nope")
    assert done.returncode == 3
    assert "unknown hash algorithm 'nope'" in done.stderr
    done = run_cli("run", "tests/cli/services_for_cli.py:not_a_service")
    assert done.returncode == 3
    assert "not a service handle" in done.stderr


def test_throw_takes_built_in_exceptions_too(run_cli: RunCli) -> None:
    """An uncaught built-in exception thrown in fails the service, reported as JSON."""
    done = run_cli("run", MD5, input=':throw ValueError\n"hello"\n')
    out = records(done.stdout)
    assert out[0]["error"]["type"] == "ServiceFailedError"
    assert "did not catch ValueError" in out[0]["error"]["message"]
    assert out[1]["error"]["type"] == "ServiceFailedError"  # md5 has no restart policy


CART = "tests/_cart_services.py:cart"


def test_explain_and_traceback_say_where_the_last_error_happened(run_cli: RunCli) -> None:
    done = run_cli(
        "run", CART, input=":explain\n'start'\n'BOGUS'\n:inspect\n:explain\n:traceback\n"
    )
    before, started, failed, inspected, explained, traced = records(done.stdout)
    assert before == {"explain": None, "note": "nothing has failed yet"}
    assert started == {"reply": 30}
    assert failed["error"]["type"] == "ServiceFailedError"
    assert inspected["inspect"]["service"] == "cart"
    text = explained["explain"]
    assert text.startswith("service 'cart' failed on request 'BOGUS'\n  KeyError: 'BOGUS'")
    for frame in ("└─ cart", "└─ checkout", "└─ coupon_value (called)"):
        assert frame in text
    assert "> return COUPONS[code]" in text  # the line that raised, not the yield from
    assert "locals in coupon_value:\n  code = 'BOGUS'" in text
    traceback = traced["traceback"]
    assert traceback.startswith("Traceback (most recent call last):")
    assert "in coupon_value\n    return COUPONS[code]" in traceback
    assert "KeyError: 'BOGUS'" in traceback
    assert "ServiceFailedError: service 'cart': failed on request 'BOGUS'" in traceback
    assert "the service failed in coupon_value() at " in traceback
    assert done.returncode == 1  # the failed request; :explain and :traceback are not failures


def test_explain_after_a_restart_says_what_the_failure_did(run_cli: RunCli) -> None:
    """``:explain`` tells the last error as it happened: a later ``:restart`` makes the
    service ready, but the failure still left it FAILED (cart has no restart policy)."""
    done = run_cli("run", CART, input="'start'\n'BOGUS'\n:restart\n:explain\n")
    started, failed, restarted, explained = records(done.stdout)
    assert started == {"reply": 30}
    assert failed["error"]["type"] == "ServiceFailedError"
    assert restarted == {"restarted": True}
    text = explained["explain"]
    assert "restart policy: not restarted: no restart policy, the service is failed" in text
    assert "only this request's stream failed" not in text
