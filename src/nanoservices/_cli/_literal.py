"""Reading requests and factory arguments typed by a person: JSON or Python literals.

Both are parsed safely: ``json.loads`` first (what pipelines send), then
``ast.literal_eval`` (what a Python programmer types: ``'hello'``, ``(1, 2)``,
``{'last_name': 'Lerner'}``, ``b'raw'``). Nothing is ever evaluated: a name or
a call is refused, never looked up or run.
"""

from __future__ import annotations

import ast
import json
from typing import Any

__all__ = ["LiteralError", "parse_factory_args", "parse_literal"]

#: How a literal that is not a bare word starts (a bare word gets a quoting hint).
_NOT_BARE = "[{(\"'-+.0123456789"


class LiteralError(ValueError):
    """The text is neither JSON nor a Python literal; the message says how to fix it."""


def parse_literal(text: str) -> Any:
    """The value written in ``text``: JSON, or else a Python literal.

    Raises:
        LiteralError: neither parser accepts it (the message quotes the text
            and hints at quoting bare words).
    """
    stripped = text.strip()
    if not stripped:
        raise LiteralError("empty request (type None, null or '' to send those)")
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    try:
        return ast.literal_eval(stripped)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        hint = ""
        if stripped[0] not in _NOT_BARE:
            hint = f"; to send a string, quote it: {stripped!r}"
        reason = (
            f"syntax error: {exc.msg}"
            if isinstance(exc, SyntaxError)
            else "only literals: no names, calls or operators"
        )
        raise LiteralError(
            f"not a JSON or Python literal ({reason}): {_clip(stripped)}{hint}"
        ) from None


def parse_factory_args(words: list[str]) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments for a service factory, from command-line words.

    ``name=value`` (``name`` an identifier) is a keyword argument; anything
    else is positional. Each value is read as a literal (``5``, ``'x'``,
    ``[1, 2]``); a value that is not one is taken as the string it is, so
    paths and URLs need no quoting (``people.db``, ``http://127.0.0.1:8000``).
    """
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for word in words:
        name, sep, value = word.partition("=")
        if sep and name.isidentifier():
            kwargs[name] = _value(value)
        else:
            args.append(_value(word))
    return args, kwargs


def _value(word: str) -> Any:
    try:
        return parse_literal(word)
    except LiteralError:
        return word


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
