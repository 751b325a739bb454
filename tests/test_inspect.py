"""Inspection: where a live service is suspended, its locals, its yield-from chain."""

from __future__ import annotations

import re

from rich.console import Console

from nanoservices import State
from nanoservices.observe import inspect_service, live_services, measure

from . import _observe_services as services
from ._observe_services import calc, echo


def test_where_a_service_is_suspended() -> None:
    h = echo()
    h("x")
    view = inspect_service(h)
    assert view.service == "echo"
    assert view.state is State.READY
    (frame,) = view.chain
    assert frame.function == "echo"
    assert frame.filename == services.__file__
    assert frame.source == "request = yield request"
    assert frame.status == "suspended"
    assert frame.locals["request"] == "'x'"


def test_the_yield_from_chain_is_followed() -> None:
    h = calc()
    h("0")
    h("2")
    view = inspect_service(h)
    assert [f.function for f in view.chain] == ["calc", "adder"]
    assert view.chain[0].source == "yield from adder()"
    assert view.chain[1].source == "text = yield total"
    assert view.chain[1].locals["total"] == "2"


def test_secret_looking_names_are_hidden_by_default() -> None:
    h = calc()
    h("0")
    h("2")
    adder = inspect_service(h).chain[1]
    assert adder.locals["api_token"] == "<hidden>"
    echo_locals = inspect_service(echo("pw")).chain[0].locals
    assert echo_locals["password"] == "<hidden>"


def test_redaction_is_a_parameter() -> None:
    h = calc()
    h("0")
    h("2")
    shown = inspect_service(h, redact=None).chain[1].locals
    assert shown["api_token"] == "'tok-123'"
    hidden = inspect_service(h, redact={"total"}).chain[1].locals
    assert hidden["total"] == "<hidden>"
    by_regex = inspect_service(h, redact=re.compile("^te")).chain[1].locals
    assert by_regex["text"] == "<hidden>"
    assert inspect_service(h, locals=False).chain[1].locals == {}


def test_passwords_in_urls_are_masked_in_any_value() -> None:
    from nanoservices.core._redact import safe_repr

    assert safe_repr("postgresql://bob:s3cret@db/people") == "'postgresql://bob:***@db/people'"


def test_an_open_stream_shows_its_source() -> None:
    h = echo()
    items = h.stream(("rows", 5))
    next(items)
    view = inspect_service(h)
    assert view.state is State.STREAMING
    assert [f.function for f in view.stream] == ["rows"]
    assert view.stream[0].source == "yield i"
    items.cancel()
    assert inspect_service(h).stream == ()


def test_a_closed_service_has_no_chain() -> None:
    h = echo()
    h.close()
    view = inspect_service(h)
    assert view.state is State.CLOSED
    assert view.chain == ()


def test_plain_text_tree() -> None:
    h = calc()
    measure(h)
    h("0")
    h("2")
    text = str(inspect_service(h))
    lines = text.splitlines()
    assert lines[0] == "calc: ready (native protocol), 2 request(s), 0 error(s)"
    assert lines[1].startswith("└─ calc  ")
    assert "> yield from adder()" in text
    assert "   └─ adder  " in text
    assert "api_token = <hidden>" in text
    assert str(inspect_service(h)) == text


def test_rich_tree() -> None:
    h = calc()
    h("0")
    h("2")
    console = Console(width=120, record=True)
    console.print(inspect_service(h).tree())
    out = console.export_text()
    assert "calc ready (native)" in out
    assert "> text = yield total" in out


def test_live_services_lists_handles_without_registering_them() -> None:
    a, b = echo(), calc()
    closed = echo()
    closed.close()
    live = live_services()
    assert any(h is a for h in live)
    assert any(h is b for h in live)
    assert not any(h is closed for h in live)
    assert any(h is closed for h in live_services(include_closed=True))


def test_dropped_handles_are_not_listed() -> None:
    import gc

    h = echo()
    h.rename("short-lived")
    del h
    gc.collect()
    assert all(h.name != "short-lived" for h in live_services(include_closed=True))
