"""Reading requests and factory arguments: JSON or Python literals, never evaluated."""

from __future__ import annotations

import pytest

from nanoservices._cli._literal import LiteralError, parse_factory_args, parse_literal


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"hello"', "hello"),
        ("'hello'", "hello"),
        ("44", 44),
        ("null", None),
        ("None", None),
        ('{"last_name": "Lerner"}', {"last_name": "Lerner"}),
        ("{'a': (1, 2)}", {"a": (1, 2)}),
        ("b'raw'", b"raw"),
        ("  [1, true]  ", [1, True]),
        ("-1.5", -1.5),
    ],
)
def test_json_and_python_literals(text: str, value: object) -> None:
    assert parse_literal(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os').system('true')", "only literals"),
        ("hello", "quote it: 'hello'"),
        ("{'a': ", "syntax error"),
        ("   ", "empty request"),
    ],
)
def test_anything_else_is_refused_with_a_hint(text: str, message: str) -> None:
    with pytest.raises(LiteralError, match=message):
        parse_literal(text)


def test_factory_arguments() -> None:
    args, kwargs = parse_factory_args(["sha256", "5", "people.db", "timeout=2.5", "x=[1]"])
    assert args == ["sha256", 5, "people.db"]
    assert kwargs == {"timeout": 2.5, "x": [1]}


def test_a_value_with_an_equals_sign_but_no_name_is_positional() -> None:
    args, kwargs = parse_factory_args(["postgresql://h/db?sslmode=off", "a b=c"])
    assert args == ["postgresql://h/db?sslmode=off", "a b=c"]
    assert kwargs == {}
