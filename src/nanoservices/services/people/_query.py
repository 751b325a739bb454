"""The people query language: validate a request dict, then build parameterized SQL.

The language itself (columns, value types, operators, ``$order``, ``$limit``,
``$offset``) is described in the package docstring
(:mod:`nanoservices.services.people`) and in ``docs/services/people.md``;
``parse_query`` is its executable definition.

Why two steps: :func:`parse_query` checks everything the caller sent and
normalizes it into a :class:`Query` of whitelisted names and typed values;
:func:`build_sql` then writes SQL text only from the names in :mod:`._schema`
and the fixed operator table below, with a placeholder for every value. No
caller string is ever formatted into SQL text, so there is nothing to escape.
"""

from __future__ import annotations

import dataclasses
import datetime
import reprlib
from collections.abc import Callable, Mapping
from typing import Final

from nanoservices import InvalidRequestError

from ._schema import COLUMNS, DATE_COLUMNS, INT_COLUMNS, TABLE, TEXT_COLUMNS

__all__ = [
    "OPERATORS",
    "POSTGRES",
    "SERVICE",
    "SQLITE",
    "Condition",
    "Dialect",
    "OrderKey",
    "Query",
    "build_sql",
    "parse_query",
]

SERVICE: Final = "people"

MAX_TEXT: Final = 1000
MAX_IN: Final = 1000
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_ESCAPE: Final = "\\"

# Query operator -> SQL operator. The SQL side is the only operator text that
# ever reaches SQL; ``in``, ``not in``, ``like`` and ``startswith`` have their
# own renderings in _condition_sql.
_COMPARISONS: Final = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_LISTS: Final = frozenset({"in", "not in"})
_PATTERNS: Final = frozenset({"like", "startswith"})
OPERATORS: Final = frozenset(_COMPARISONS) | _LISTS | _PATTERNS
_OPTIONS: Final = ("$order", "$limit", "$offset")

_repr = reprlib.Repr()
_repr.maxstring = 40
_repr.maxother = 40

Value = int | str | datetime.date


@dataclasses.dataclass(frozen=True, slots=True)
class Condition:
    """``column operator value``; ``value`` is already checked and normalized."""

    column: str
    operator: str
    value: Value | tuple[Value, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class OrderKey:
    """One ``ORDER BY`` key."""

    column: str
    descending: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Query:
    """A validated query: only whitelisted names, only checked values."""

    conditions: tuple[Condition, ...] = ()
    order: tuple[OrderKey, ...] = ()
    limit: int | None = None
    offset: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between the SQL the backends accept."""

    name: str
    placeholder: str
    #: SQLite only accepts OFFSET after a LIMIT; -1 there means "no limit".
    offset_needs_limit: bool
    #: How a date becomes a parameter (SQLite stores ISO text).
    adapt_date: Callable[[datetime.date], object]


SQLITE: Final = Dialect("sqlite", "?", offset_needs_limit=True, adapt_date=datetime.date.isoformat)
POSTGRES: Final = Dialect("postgresql", "%s", offset_needs_limit=False, adapt_date=lambda d: d)


class _Refused(Exception):
    """Internal: a reason to refuse; parse_query turns it into InvalidRequestError."""


def parse_query(request: object) -> Query:
    """Check ``request`` against the query language and return it normalized.

    Raises:
        InvalidRequestError: for anything outside the language: not a dict,
            unknown column, option or operator, or a value of the wrong type.
    """
    try:
        return _parse(request)
    except _Refused as refusal:
        raise InvalidRequestError(SERVICE, request, str(refusal)) from None


def _parse(request: object) -> Query:
    if not isinstance(request, Mapping):
        raise _Refused(
            f"a query is a dict of column -> value, not {type(request).__name__}; "
            'for example {"last_name": "Lerner"}'
        )
    conditions: list[Condition] = []
    for key, spec in request.items():
        if not isinstance(key, str):
            raise _Refused(f"query keys are strings, got {_repr.repr(key)}")
        if key.startswith("$"):
            if key not in _OPTIONS:
                raise _Refused(
                    f"unknown option {_repr.repr(key)}; options are {', '.join(_OPTIONS)}"
                )
            continue
        if key not in COLUMNS:
            raise _Refused(f"unknown column {_repr.repr(key)}; columns are {', '.join(COLUMNS)}")
        conditions.extend(_conditions(key, spec))
    return Query(
        conditions=tuple(conditions),
        order=_order(request.get("$order", ())),
        limit=_count("$limit", request.get("$limit")),
        offset=_count("$offset", request.get("$offset")) or 0,
    )


def _conditions(column: str, spec: object) -> list[Condition]:
    if not isinstance(spec, Mapping):
        return [Condition(column, "=", _value(column, spec))]
    if not spec:
        raise _Refused(f"no operator given for column {column!r}")
    conditions = []
    for operator, operand in spec.items():
        if operator not in OPERATORS:
            raise _Refused(
                f"unknown operator {_repr.repr(operator)} for column {column!r}; "
                f"operators are {', '.join(sorted(OPERATORS))}"
            )
        if operator in _LISTS:
            conditions.append(Condition(column, operator, _values(column, operator, operand)))
        elif operator in _PATTERNS:
            conditions.append(Condition(column, operator, _pattern(column, operator, operand)))
        else:
            conditions.append(Condition(column, operator, _value(column, operand)))
    return conditions


def _value(column: str, value: object) -> Value:
    """Check one value against its column's type; ISO date strings become dates."""
    if column in INT_COLUMNS:
        if type(value) is not int:  # bool is an int subclass but never an id
            raise _Refused(f"column {column!r} takes an int, got {_repr.repr(value)}")
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise _Refused(f"column {column!r}: {value} is out of the 64-bit range")
        return value
    if column in DATE_COLUMNS:
        if isinstance(value, datetime.datetime):  # a date subclass, but its time would be lost
            raise _Refused(f"column {column!r} takes a date, not a datetime")
        if isinstance(value, datetime.date):
            return value
        if isinstance(value, str):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                pass
        raise _Refused(
            f"column {column!r} takes a date or an ISO date string 'YYYY-MM-DD', "
            f"got {_repr.repr(value)}"
        )
    return _text(column, value)


def _text(column: str, value: object) -> str:
    if not isinstance(value, str):
        raise _Refused(f"column {column!r} takes a str, got {_repr.repr(value)}")
    if len(value) > MAX_TEXT:
        raise _Refused(f"column {column!r}: value longer than {MAX_TEXT} characters")
    if "\0" in value:  # PostgreSQL text cannot hold NUL; refuse it on every backend alike
        raise _Refused(f"column {column!r}: NUL characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Refused(f"column {column!r}: not valid Unicode (lone surrogate)") from None
    return value


def _values(column: str, operator: str, operand: object) -> tuple[Value, ...]:
    if not isinstance(operand, list | tuple | set | frozenset):
        raise _Refused(
            f"operator {operator!r} on column {column!r} takes a list of values, "
            f"got {_repr.repr(operand)}"
        )
    if len(operand) > MAX_IN:
        raise _Refused(f"operator {operator!r} takes at most {MAX_IN} values")
    # dict.fromkeys: drop duplicates, keep the caller's order (stable SQL text).
    return tuple(dict.fromkeys(_value(column, item) for item in operand))


def _pattern(column: str, operator: str, operand: object) -> str:
    if column not in TEXT_COLUMNS:
        raise _Refused(
            f"operator {operator!r} works on text columns ({', '.join(sorted(TEXT_COLUMNS))}), "
            f"not {column!r}"
        )
    text = _text(column, operand)
    if operator == "like":
        # Both backends refuse or disagree on a pattern ending in a bare escape.
        index = 0
        while index < len(text):
            if text[index] == _ESCAPE:
                if index + 1 == len(text):
                    raise _Refused(f"like pattern for {column!r} ends with a lone '\\'")
                index += 1
            index += 1
    return text


def _order(spec: object) -> tuple[OrderKey, ...]:
    names = [spec] if isinstance(spec, str) else spec
    if not isinstance(names, list | tuple):
        raise _Refused(f"$order takes a column name or a list of them, got {_repr.repr(spec)}")
    keys: list[OrderKey] = []
    for name in names:
        if not isinstance(name, str):
            raise _Refused(f"$order takes column names, got {_repr.repr(name)}")
        column = name.removeprefix("-")
        if column not in COLUMNS:
            raise _Refused(
                f"$order: unknown column {_repr.repr(column)}; columns are {', '.join(COLUMNS)}"
            )
        if any(key.column == column for key in keys):
            raise _Refused(f"$order: column {column!r} given twice")
        keys.append(OrderKey(column, descending=name.startswith("-")))
    return tuple(keys)


def _count(option: str, value: object) -> int | None:
    if value is None:
        return None
    if type(value) is not int or not 0 <= value <= _INT64_MAX:
        raise _Refused(f"{option} takes a non-negative int, got {_repr.repr(value)}")
    return value


def build_sql(query: Query, dialect: Dialect) -> tuple[str, tuple[object, ...]]:
    """The SELECT for ``query`` in ``dialect``, and its parameters.

    The SQL text holds only whitelisted names, fixed keywords and placeholders.
    """
    params: list[object] = []
    sql = f"SELECT {', '.join(COLUMNS)} FROM {TABLE}"
    where = [_condition_sql(condition, dialect, params) for condition in query.conditions]
    where = [clause for clause in where if clause]
    if where:
        sql += " WHERE " + " AND ".join(where)
    order = [f"{key.column} {'DESC' if key.descending else 'ASC'}" for key in query.order]
    if all(key.column != "id" for key in query.order):
        order.append("id ASC")  # a total order: deterministic results, stable paging
    sql += " ORDER BY " + ", ".join(order)
    limit = query.limit
    if limit is None and query.offset and dialect.offset_needs_limit:
        limit = -1
    if limit is not None:
        sql += f" LIMIT {dialect.placeholder}"
        params.append(limit)
    if query.offset:
        sql += f" OFFSET {dialect.placeholder}"
        params.append(query.offset)
    return sql, tuple(params)


def _condition_sql(condition: Condition, dialect: Dialect, params: list[object]) -> str:
    column, operator, value = condition.column, condition.operator, condition.value
    mark = dialect.placeholder
    if isinstance(value, tuple):
        if not value:  # IN () is a syntax error in PostgreSQL
            return "FALSE" if operator == "in" else ""
        params.extend(_adapt(item, dialect) for item in value)
        keyword = "IN" if operator == "in" else "NOT IN"
        return f"{column} {keyword} ({', '.join([mark] * len(value))})"
    if operator in _PATTERNS:
        assert isinstance(value, str)
        if operator == "startswith":
            value = _escape_like(value) + "%"
        params.extend((value, _ESCAPE))
        return f"{column} LIKE {mark} ESCAPE {mark}"
    params.append(_adapt(value, dialect))
    return f"{column} {_COMPARISONS[operator]} {mark}"


def _adapt(value: Value, dialect: Dialect) -> object:
    return dialect.adapt_date(value) if isinstance(value, datetime.date) else value


def _escape_like(text: str) -> str:
    return (
        text.replace(_ESCAPE, _ESCAPE * 2).replace("%", _ESCAPE + "%").replace("_", _ESCAPE + "_")
    )
