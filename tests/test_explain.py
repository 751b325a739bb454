"""Readable failures: service, request, where (yield-from chain), policy, one screen."""

from __future__ import annotations

import sys
import traceback

import pytest
from rich.console import Console

from nanoservices import (
    InvalidRequestError,
    OnFailure,
    RestartLimitError,
    ServiceClosedError,
    ServiceFailedError,
    service,
)
from nanoservices.observe import explain, install_excepthook, uninstall_excepthook

from . import _observe_services as services
from ._observe_services import Boom, calc, echo, numbers


def _failure(fn: object, *args: object) -> BaseException:
    try:
        fn(*args)  # type: ignore[operator]
    except BaseException as exc:
        return exc
    raise AssertionError("did not fail")


def test_says_which_service_which_request_and_the_original_error() -> None:
    h = calc()
    h("0")
    error = _failure(h, "one")
    text = str(explain(error))
    first, second = text.splitlines()[:2]
    assert first == "service 'calc' failed on request 'one'"
    assert second.strip() == "ValueError: invalid literal for int() with base 10: 'one'"


def test_shows_the_yield_from_chain_down_to_the_raising_line() -> None:
    h = calc()
    h("0")
    ex = explain(_failure(h, "one"))
    assert [f.function for f in ex.frames] == ["calc", "adder", "parse"]
    assert [f.status for f in ex.frames] == ["generator", "generator", "function"]
    assert ex.frames[0].source == "yield from adder()"
    assert ex.frames[1].source == "total += parse(text)"
    assert ex.frames[2].source == "return int(text)"
    assert all(f.filename == services.__file__ for f in ex.frames)
    assert ex.frames[-1].locals == {"text": "'one'"}  # locals where it raised, only there


def test_library_frames_are_left_out_but_the_traceback_is_kept() -> None:
    error = _failure(echo(), "boom")
    text = str(explain(error))
    assert "_handle.py" not in text
    assert isinstance(error.__cause__, Boom)
    full = "".join(traceback.format_exception(error))
    assert "_handle.py" in full


def test_says_the_service_was_restarted() -> None:
    h = echo()
    text = str(explain(_failure(h, "boom"), h))
    assert "restart policy: restarted from its factory" in text
    assert "(1 failure(s), 1 restart(s) so far)" in text


def test_says_the_service_was_not_restarted_without_a_policy() -> None:
    h = calc()
    h("0")
    text = str(explain(_failure(h, "x"), h))
    assert "not restarted: no restart policy, the service is failed" in text
    assert "call restart()" in text


def test_tells_the_state_the_failure_left_even_after_a_restart() -> None:
    h = calc()
    h("0")
    error = _failure(h, "x")
    h.restart()  # READY again: the failure still left it failed
    text = str(explain(error, h))
    assert "not restarted: no restart policy, the service is failed" in text
    assert "still ready" not in text


def test_says_when_the_policy_gave_up() -> None:
    @service(restart=OnFailure(1, per=60.0))
    def fragile() -> object:
        yield None
        raise Boom("always")

    h = fragile()
    _failure(h, 1)
    error = _failure(h, 1)
    assert isinstance(error, RestartLimitError)
    assert "gave up after 1 restart(s)" in str(explain(error))


def test_a_failed_stream_leaves_the_service_ready() -> None:
    h = echo()
    error = _failure(lambda: list(h.stream(("rows", 100))))
    text = str(explain(error, h))
    assert "only this request's stream failed, the service is still ready" in text
    assert '> raise Boom("row 99")' in text


def test_the_handle_is_found_by_name_when_unique() -> None:
    h = echo()
    h.rename("unique-echo-name")
    text = str(explain(_failure(h, "boom")))
    assert "(1 failure(s), 1 restart(s) so far)" in text


def test_secrets_in_locals_and_requests_are_masked() -> None:
    @service
    def login() -> object:
        request = yield None
        password = "hunter2"  # noqa: F841
        raise Boom(f"cannot log in to {request}")

    h = login()
    text = str(explain(_failure(h, "postgresql://bob:s3cret@db/x")))
    assert "hunter2" not in text.split("\n", 1)[1]
    assert "password = <hidden>" in text
    assert text.splitlines()[0] == "service 'login' failed on request 'postgresql://bob:***@db/x'"


def test_a_failure_caused_by_another_service_explains_both() -> None:
    inner = calc()
    inner("0")

    @service
    def outer() -> object:
        request = yield None
        while True:
            request = yield inner(request)

    text = str(explain(_failure(outer(), "nope")))
    assert text.splitlines()[0] == "service 'outer' failed on request 'nope'"
    assert "because another service failed:" in text
    assert "  service 'calc' failed on request 'nope'" in text


def test_other_service_errors_get_a_hint() -> None:
    h = echo()
    h.close()
    assert "make a new one from its factory" in str(explain(_failure(h, 1)))
    assert isinstance(_failure(h, 1), ServiceClosedError)
    invalid = _failure(numbers(1), "x")
    assert isinstance(invalid, InvalidRequestError)
    assert "refused before the service saw it" in str(explain(invalid))


def test_any_exception_can_be_explained() -> None:
    text = str(explain(_failure(services.parse, "x")))
    assert text.splitlines()[0] == "ValueError: invalid literal for int() with base 10: 'x'"
    assert "> return int(text)" in text


def test_fits_on_one_screen() -> None:
    h = calc()
    h("0")
    assert len(str(explain(_failure(h, "one"))).splitlines()) <= 24


def test_rich_panel() -> None:
    h = calc()
    h("0")
    console = Console(width=120, record=True)
    console.print(explain(_failure(h, "one")).rich())
    out = console.export_text()
    assert "service 'calc' failed on request 'one'" in out
    assert "> total += parse(text)" in out


def test_excepthook_is_opt_in_and_undone(capsys: pytest.CaptureFixture[str]) -> None:
    original = sys.excepthook
    install_excepthook(rich=False)
    try:
        assert sys.excepthook is not original
        error = _failure(echo(), "boom")
        sys.excepthook(type(error), error, error.__traceback__)
        err = capsys.readouterr().err
        assert err.startswith("service 'echo' failed on request 'boom'")
        assert "Traceback" not in err
    finally:
        uninstall_excepthook()
    assert sys.excepthook is original


def test_excepthook_leaves_other_errors_to_the_previous_hook(
    capsys: pytest.CaptureFixture[str],
) -> None:
    install_excepthook(rich=False)
    try:
        error = _failure(services.parse, "x")
        sys.excepthook(type(error), error, error.__traceback__)
        assert "Traceback (most recent call last)" in capsys.readouterr().err
    finally:
        uninstall_excepthook()


def test_failed_error_keeps_cause() -> None:
    error = _failure(echo(), "boom")
    assert isinstance(error, ServiceFailedError)
    assert isinstance(error.__cause__, Boom)
