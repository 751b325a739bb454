"""Test helpers for the query services: a pure-Python reference model of the query
language over any table, Hypothesis strategies for queries (valid and hostile),
and the SQL whitelist check."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec
from hypothesis import strategies as st

from nanoservices.services.people import PEOPLE, Column, Kind, Query, Table
from nanoservices.services.people._seed import CITIES, FIRST_NAMES, LAST_NAMES

# Every word that may appear in built SQL besides the table's quoted names.
ALLOWED_WORDS = {
    "SELECT", "FROM", "WHERE", "AND", "IN", "NOT", "LIKE", "ESCAPE", "IS", "NULL",
    "ORDER", "BY", "ASC", "DESC", "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "FALSE",
}  # fmt: skip


def assert_whitelisted(
    sql: str, params: tuple[object, ...], placeholder: str, table: Table = PEOPLE
) -> None:
    """The SQL text holds only the table's catalog names (quoted at start),
    fixed keywords, placeholders and fixed punctuation: nothing from the request."""
    assert sql.count(placeholder) == len(params)
    rest = sql.replace(placeholder, " ").replace(table.select, " ", 1).replace(table.sql, " ", 1)
    for column in sorted(table.columns, key=lambda c: -len(c.sql)):
        rest = rest.replace(column.sql, " ")
    assert re.fullmatch(r"[A-Z ,()=<>]*", rest), (sql, rest)  # no quotes, ;, --, digits
    words = set(re.findall(r"[A-Z]+", rest))
    assert words <= ALLOWED_WORDS, words - ALLOWED_WORDS


def as_dict(record: Any, table: Table) -> dict[str, Any]:
    """A record's values by column name (attributes may be made-up identifiers)."""
    names = [column.name for column in table.columns]
    return dict(zip(names, msgspec.structs.astuple(record), strict=True))


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


def _matches(field: Any, operator: str, value: Any) -> bool:
    if value is None:  # only = and != take None: IS NULL, IS NOT NULL
        return (field is None) == (operator == "=")
    if operator == "not in" and not value:  # no clause at all: NULL rows pass too
        return True
    if field is None:  # SQL: NULL compares to nothing, not even in NOT IN
        return False
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


def _null_first(value: Any) -> tuple[bool, Any]:
    return (value is not None, value)


def model(query: Query, records: Iterable[Any]) -> list[Any]:
    """What the database must answer for ``query``, computed in Python."""
    table = query.table
    rows = [(record, as_dict(record, table)) for record in records]
    rows = [
        (record, values)
        for record, values in rows
        if all(_matches(values[c.column], c.operator, c.value) for c in query.conditions)
    ]
    ordered = {key.column for key in query.order}
    keys = [(key.column, key.descending) for key in query.order]
    keys += [(name, False) for name in table.key if name not in ordered]
    for column, descending in reversed(keys):  # stable sorts, last key first
        rows.sort(key=lambda row, c=column: _null_first(row[1][c]), reverse=descending)
    found = [record for record, _ in rows][query.offset :]
    return found if query.limit is None else found[: query.limit]


# -- strategies ---------------------------------------------------------------

HOSTILE = st.sampled_from(
    [
        "'", '"', ";", "--", "/*", "*/", "' OR '1'='1", "'; DROP TABLE people; --",
        "Robert'); DROP TABLE people;--", "\\", "%", "_", "\0", "ä", "😀", "\u202e", "`",
        "people", "id", "$order", "-id", "1=1", "x' --", "NULL", "\n", "\t", '" OR "1"="1',
        '"; DROP TABLE "my ""odd"" table"; --', "[", "]", "c1 [nanoservices_date]",
    ]
)  # fmt: skip
_clean_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=12
)
#: Values found in the demo table's text columns, so equality finds someone.
PEOPLE_SAMPLES: Mapping[str, Sequence[Any]] = {
    "first_name": FIRST_NAMES,
    "last_name": LAST_NAMES,
    "city": CITIES,
    "email": ("reuven.lerner1@example.com",),
}


def _text_value(samples: Sequence[Any]) -> st.SearchStrategy[str]:
    found = [s for s in samples if isinstance(s, str)]
    return st.one_of(
        *([st.sampled_from(found)] if found else []),
        _clean_text,
        st.lists(HOSTILE.filter(lambda s: s != "\0"), max_size=3).map("".join),
    )


def column_value(column: Column, samples: Sequence[Any] = ()) -> st.SearchStrategy[Any]:
    """A valid (non-None) value for ``column``; ``samples`` are values the table holds."""
    present = [s for s in samples if s is not None]
    found: list[st.SearchStrategy[Any]] = [st.sampled_from(present)] if present else []
    if column.kind is Kind.INTEGER:
        return st.one_of(*found, st.integers(-5, 2100))
    if column.kind is Kind.REAL:
        return st.one_of(
            *found, st.integers(-5, 300), st.floats(-1e3, 1e3, allow_nan=False, width=32)
        )
    if column.kind is Kind.BOOLEAN:
        return st.booleans()
    if column.kind is Kind.DATE:
        dates = st.dates(datetime.date(1925, 1, 1), datetime.date(2015, 1, 1))
        either = st.one_of(*found, dates)
        return st.one_of(either, either.map(datetime.date.isoformat))
    return _text_value(present)


def _like_pattern(samples: Sequence[Any]) -> st.SearchStrategy[str]:
    pieces = st.one_of(
        st.sampled_from(["%", "_", "\\%", "\\_", "\\\\", "a", "e", "Le", "-", "."]),
        _text_value(samples).map(lambda s: s[:3].replace("\\", "\\\\")),
    )
    return st.lists(pieces, max_size=4).map("".join)


@st.composite
def _condition(draw: st.DrawFn, column: Column, samples: Sequence[Any]) -> Any:
    if column.kind is Kind.BOOLEAN:
        operators = ["=", "!=", "in", "not in"]
    else:
        operators = ["=", "!=", "<", "<=", ">", ">=", "in", "not in"]
    if column.kind is Kind.TEXT:
        operators += ["like", "startswith"]
    spec: dict[str, Any] = {}
    for operator in draw(st.lists(st.sampled_from(operators), min_size=1, max_size=2, unique=True)):
        if operator in ("in", "not in"):
            spec[operator] = draw(st.lists(column_value(column, samples), max_size=4))
        elif operator == "like":
            spec[operator] = draw(_like_pattern(samples))
        elif operator in ("=", "!=") and column.nullable and draw(st.integers(0, 4)) == 0:
            spec[operator] = None
        else:
            spec[operator] = draw(column_value(column, samples))
    if list(spec) == ["="] and draw(st.booleans()):
        return spec["="]  # the short form
    return spec


@st.composite
def valid_queries(
    draw: st.DrawFn,
    table: Table = PEOPLE,
    samples: Mapping[str, Sequence[Any]] = PEOPLE_SAMPLES,
    max_offset: int = 3000,
) -> dict[str, Any]:
    """Queries inside the language on ``table``: they must run and match the model."""
    names = [column.name for column in table.queryable()]
    query: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(names), max_size=3, unique=True)):
        query[name] = draw(_condition(table.by_name[name], samples.get(name, ())))
    if draw(st.booleans()):
        order = draw(st.lists(st.sampled_from(names), max_size=3, unique=True))
        query["$order"] = [c if draw(st.booleans()) else "-" + c for c in order]
    if draw(st.booleans()):
        query["$limit"] = draw(st.integers(0, 50))
    if draw(st.booleans()):
        query["$offset"] = draw(st.integers(0, max_offset))
    return query


_json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | HOSTILE | st.dates(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text() | HOSTILE, inner, max_size=3)
    ),
    max_leaves=8,
)
_operator_specs = st.dictionaries(
    st.sampled_from(["=", "!=", "<", "in", "not in", "like", "startswith"]) | HOSTILE | st.text(),
    _json_like,
    max_size=2,
)


def hostile_queries(
    table: Table = PEOPLE, samples: Mapping[str, Sequence[Any]] = PEOPLE_SAMPLES
) -> st.SearchStrategy[Any]:
    """Anything at all, shaped roughly like a query on ``table``: most are refused,
    none may break SQL."""
    names = [column.name for column in table.columns]
    keys = st.one_of(
        st.sampled_from([*names, "$order", "$limit", "$offset"]),
        st.text(),
        HOSTILE,
        st.lists(HOSTILE, min_size=1, max_size=3).map("".join),
        st.sampled_from(names).flatmap(lambda c: HOSTILE.map(lambda h: c + h)),
        st.sampled_from([column.sql for column in table.columns]),  # already quoted
    )
    return st.one_of(
        st.dictionaries(keys, _json_like | _operator_specs, max_size=4),
        valid_queries(table, samples),
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
