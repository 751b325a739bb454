"""Test helpers for the people service: a pure-Python reference model of the query
language, Hypothesis strategies for queries (valid and hostile), and the SQL
whitelist check."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from typing import Any

from hypothesis import strategies as st

from nanoservices.services.people import COLUMNS, Person, Query
from nanoservices.services.people._schema import TEXT_COLUMNS
from nanoservices.services.people._seed import CITIES, FIRST_NAMES, LAST_NAMES

# Every word that may appear in built SQL: the table, its columns, fixed keywords.
ALLOWED_WORDS = frozenset(COLUMNS) | {
    "people", "SELECT", "FROM", "WHERE", "AND", "IN", "NOT", "LIKE", "ESCAPE",
    "ORDER", "BY", "ASC", "DESC", "LIMIT", "OFFSET", "FALSE",
}  # fmt: skip


def assert_whitelisted(sql: str, params: tuple[object, ...], placeholder: str) -> None:
    """The SQL text holds only whitelisted words, placeholders and fixed punctuation."""
    assert sql.count(placeholder) == len(params)
    rest = sql.replace(placeholder, " ")
    assert re.fullmatch(r"[A-Za-z_ (),=<>]*", rest), sql  # no quotes, ;, --, digits
    words = set(re.findall(r"[A-Za-z_]+", rest))
    assert words <= ALLOWED_WORDS, words - ALLOWED_WORDS


def _like_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            parts.append(re.escape(next(chars)))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def _matches(person: Person, column: str, operator: str, value: Any) -> bool:
    field = getattr(person, column)
    if operator == "=":
        return bool(field == value)
    if operator == "!=":
        return bool(field != value)
    if operator == "<":
        return bool(field < value)
    if operator == "<=":
        return bool(field <= value)
    if operator == ">":
        return bool(field > value)
    if operator == ">=":
        return bool(field >= value)
    if operator == "in":
        return field in value
    if operator == "not in":
        return field not in value
    if operator == "like":
        return _like_regex(value).fullmatch(field) is not None
    if operator == "startswith":
        return bool(field.startswith(value))
    raise AssertionError(operator)


def model(query: Query, people: Iterable[Person]) -> list[Person]:
    """What the database must answer for ``query``, computed in Python."""
    rows = [
        p
        for p in people
        if all(_matches(p, c.column, c.operator, c.value) for c in query.conditions)
    ]
    rows.sort(key=lambda p: p.id)
    for key in reversed(query.order):  # stable sorts, last key first
        rows.sort(key=lambda p, c=key.column: getattr(p, c), reverse=key.descending)
    rows = rows[query.offset :]
    return rows if query.limit is None else rows[: query.limit]


# -- strategies ---------------------------------------------------------------

HOSTILE = st.sampled_from(
    [
        "'", '"', ";", "--", "/*", "*/", "' OR '1'='1", "'; DROP TABLE people; --",
        "Robert'); DROP TABLE people;--", "\\", "%", "_", "\0", "ä", "😀", "\u202e", "`",
        "people", "id", "$order", "-id", "1=1", "x' --", "NULL", "\n", "\t",
    ]
)  # fmt: skip
_clean_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=12
)
_TEXT_SAMPLES = {
    "first_name": FIRST_NAMES,
    "last_name": LAST_NAMES,
    "city": CITIES,
    "email": ("reuven.lerner1@example.com",),
}


def _text_value(column: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(_TEXT_SAMPLES[column]),
        _clean_text,
        st.lists(HOSTILE.filter(lambda s: s != "\0"), max_size=3).map("".join),
    )


def column_value(column: str) -> st.SearchStrategy[Any]:
    """A valid value for ``column``."""
    if column == "id":
        return st.integers(-5, 2100)
    if column == "birth_date":
        dates = st.dates(datetime.date(1925, 1, 1), datetime.date(2015, 1, 1))
        return st.one_of(dates, dates.map(datetime.date.isoformat))
    return _text_value(column)


def _like_pattern(column: str) -> st.SearchStrategy[str]:
    pieces = st.one_of(
        st.sampled_from(["%", "_", "\\%", "\\_", "\\\\", "a", "e", "Le", "-", "."]),
        _text_value(column).map(lambda s: s[:3].replace("\\", "\\\\")),
    )
    return st.lists(pieces, max_size=4).map("".join)


@st.composite
def _condition(draw: st.DrawFn, column: str) -> Any:
    operators = ["=", "!=", "<", "<=", ">", ">=", "in", "not in"]
    if column in TEXT_COLUMNS:
        operators += ["like", "startswith"]
    spec: dict[str, Any] = {}
    for operator in draw(st.lists(st.sampled_from(operators), min_size=1, max_size=2, unique=True)):
        if operator in ("in", "not in"):
            spec[operator] = draw(st.lists(column_value(column), max_size=4))
        elif operator == "like":
            spec[operator] = draw(_like_pattern(column))
        else:
            spec[operator] = draw(column_value(column))
    if list(spec) == ["="] and draw(st.booleans()):
        return spec["="]  # the short form
    return spec


@st.composite
def valid_queries(draw: st.DrawFn) -> dict[str, Any]:
    """Queries inside the language: they must run and match the model."""
    query: dict[str, Any] = {}
    for column in draw(st.lists(st.sampled_from(COLUMNS), max_size=3, unique=True)):
        query[column] = draw(_condition(column))
    if draw(st.booleans()):
        order = draw(st.lists(st.sampled_from(COLUMNS), max_size=3, unique=True))
        query["$order"] = [c if draw(st.booleans()) else "-" + c for c in order]
    if draw(st.booleans()):
        query["$limit"] = draw(st.integers(0, 50))
    if draw(st.booleans()):
        query["$offset"] = draw(st.integers(0, 3000))
    return query


_json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | HOSTILE | st.dates(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text() | HOSTILE, inner, max_size=3)
    ),
    max_leaves=8,
)
_keys = st.one_of(
    st.sampled_from([*COLUMNS, "$order", "$limit", "$offset"]),
    st.text(),
    HOSTILE,
    st.lists(HOSTILE, min_size=1, max_size=3).map("".join),
    st.sampled_from(COLUMNS).flatmap(lambda c: HOSTILE.map(lambda h: c + h)),
)
_operator_specs = st.dictionaries(
    st.sampled_from(["=", "!=", "<", "in", "not in", "like", "startswith"]) | HOSTILE | st.text(),
    _json_like,
    max_size=2,
)

#: Anything at all, shaped roughly like a query: most are refused, none may break SQL.
hostile_queries = st.one_of(
    st.dictionaries(_keys, _json_like | _operator_specs, max_size=4),
    valid_queries(),
    _json_like,
)


def stream_and_list_peaks(handle: Any) -> tuple[int, int, int, int]:
    """Stream every person, then list them all, under tracemalloc.

    Returns (streamed, listed, peak while streaming, peak while listing): a
    stream that holds one batch at a time peaks far below the list.
    """
    import tracemalloc

    tracemalloc.start()
    try:
        streamed = sum(1 for _ in handle.stream({}))
        _, stream_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        listed = len(list(handle.stream({})))
        _, list_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return streamed, listed, stream_peak, list_peak
