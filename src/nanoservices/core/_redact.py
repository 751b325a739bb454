"""Showing variables without showing secrets: which names to hide, bounded reprs.

Inspection and failure reports print a service's local variables; services hold
passwords, tokens and DSNs. Names that look secret are hidden by default, and
passwords inside URLs (``postgresql://user:pw@host``) are masked in any value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Final, TypeAlias

from ._errors import BoundedRepr

__all__ = [
    "DEFAULT_SECRET_NAMES",
    "HIDDEN",
    "Redact",
    "masked_repr",
    "redacted",
    "safe_repr",
    "secret_test",
    "show_locals",
]

#: Names containing one of these (any case) are hidden by default.
DEFAULT_SECRET_NAMES: Final = re.compile(
    r"pass(word|wd|phrase)?|pwd|secret|token|key|dsn|credential|auth",
    re.IGNORECASE,
)
HIDDEN: Final = "<hidden>"

#: What to hide: a pattern searched in names, a predicate on names, names
#: (exact), or None to hide nothing.
Redact: TypeAlias = "re.Pattern[str] | Callable[[str], bool] | Iterable[str] | None"

_URL_PASSWORD: Final = re.compile(r"(?P<head>[a-zA-Z][\w+.-]*://[^:/@\s]*:)[^@\s]+@")
_repr = BoundedRepr()
_repr.maxstring = 80
_repr.maxother = 80
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 8


def secret_test(redact: Redact) -> Callable[[str], bool]:
    """A predicate saying whether a variable name must be hidden."""
    if redact is None:
        return lambda name: False
    if isinstance(redact, re.Pattern):
        pattern = redact
        return lambda name: pattern.search(name) is not None
    if callable(redact):
        return redact
    names = frozenset(redact)
    return names.__contains__


def safe_repr(value: object) -> str:
    """A bounded repr that never raises and masks passwords in URLs."""
    try:
        text = _repr.repr(value)
    except Exception as exc:  # a broken __repr__ must not break a report
        text = f"<{type(value).__name__} (repr raised {type(exc).__name__})>"
    return _URL_PASSWORD.sub(r"\g<head>***@", text)


class _Hidden(str):
    """[`HIDDEN`][] standing for a value: shown bare in a repr, a string in JSON."""

    def __repr__(self) -> str:
        return HIDDEN


_HIDDEN_VALUE: Final = _Hidden(HIDDEN)


def redacted(value: object, *, plain: bool = False) -> object:
    """``value`` with the values under secret-looking keys of its dicts hidden, at any
    depth of dicts, lists and tuples: the one rule for a request shown in a log or
    sent back in a problem document. ``value`` itself when nothing is hidden.
    ``plain``: hide them as the plain string ``"<hidden>"`` (for JSON), not as a
    value whose repr is ``<hidden>``."""
    hidden = HIDDEN if plain else _HIDDEN_VALUE
    try:
        return _redacted(value, hidden)
    except RecursionError:  # nested past what can be walked: show none of it
        return hidden


def _redacted(value: object, hidden: str) -> object:
    if isinstance(value, dict):
        shown = {
            key: hidden
            if isinstance(key, str) and DEFAULT_SECRET_NAMES.search(key)
            else _redacted(item, hidden)
            for key, item in value.items()
        }
        same = all(shown[key] is item for key, item in value.items())
        return value if same else shown
    if isinstance(value, list | tuple):
        items = [_redacted(item, hidden) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    return value


def masked_repr(value: object) -> str:
    """[`safe_repr`][] of [`redacted`][] ``value``: for a request written to a log or
    an answer (``{'user': 'ada', 'password': <hidden>}``)."""
    return safe_repr(redacted(value))


def show_locals(variables: Mapping[str, object], redact: Redact) -> dict[str, str]:
    """``variables`` as name -> repr, secret-looking names hidden."""
    hide = secret_test(redact)
    return {
        name: HIDDEN if hide(name) else safe_repr(value)
        for name, value in variables.items()
        if not (name.startswith("__") and name.endswith("__"))
    }
