"""The query language: validate a request dict against a table, then build parameterized SQL.

The language itself (columns, value types, operators, ``$order``, ``$limit``,
``$offset``) is described in the package docstring
([`nanoservices.services.people`][]) and in ``docs/services/people.md``;
``parse_query`` is its executable definition.

Why two steps: [`parse_query`][] checks everything the caller sent against
the [`Table`][._table.Table] read from the database's catalog, and normalizes it
into a [`Query`][] of catalog column names and typed values; [`build_sql`][]
then writes SQL text only from the table's quoted names (quoted by the backend
when the service started) and the fixed operator table below, with a
placeholder for every value. No caller string is ever formatted into SQL text.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Callable, Mapping
from typing import Final

from nanoservices import InvalidRequestError
from nanoservices.core import short_repr

from ._schema import PEOPLE
from ._table import Column, Kind, Table

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

#: What each kind of column takes. Booleans have no order; patterns need text.
_ORDERED: Final = frozenset(_COMPARISONS) | _LISTS
_KIND_OPERATORS: Final[Mapping[Kind, frozenset[str]]] = {
    Kind.TEXT: OPERATORS,
    Kind.INTEGER: _ORDERED,
    Kind.REAL: _ORDERED,
    Kind.DATE: _ORDERED,
    Kind.BOOLEAN: frozenset({"=", "!="}) | _LISTS,
    Kind.OTHER: frozenset(),
}
_OPERATOR_ORDER: Final = ("=", "!=", "<", "<=", ">", ">=", "in", "not in", "like", "startswith")

Value = int | float | bool | str | datetime.date | None


@dataclasses.dataclass(frozen=True, slots=True)
class Condition:
    """``column operator value``; ``value`` is already checked and normalized.

    ``None`` (only with ``=`` and ``!=``, on nullable columns) means SQL NULL.
    """

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
    """A validated query: only catalog names, only checked values."""

    conditions: tuple[Condition, ...] = ()
    order: tuple[OrderKey, ...] = ()
    limit: int | None = None
    offset: int = 0
    table: Table = dataclasses.field(default=PEOPLE, repr=False)


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


def parse_query(request: object, table: Table = PEOPLE, service: str = SERVICE) -> Query:
    """Check ``request`` against the query language on ``table`` and return it normalized.

    ``table`` is what the service read from the catalog at start (default: the
    demo ``people`` table).

    Raises:
        InvalidRequestError: for anything outside the language: not a dict,
            unknown column, option or operator, an operator or a value that does
            not fit the column's type. The reason lists what the table has.
    """
    try:
        return _parse(request, table)
    except _Refused as refusal:
        raise InvalidRequestError(service, request, str(refusal)) from None


def _parse(request: object, table: Table) -> Query:
    if not isinstance(request, Mapping):
        raise _Refused(
            f"a query is a dict of column -> value, not {type(request).__name__}; "
            f"for example {{{table.queryable()[0].name!r}: ...}}"
        )
    conditions: list[Condition] = []
    for key, spec in request.items():
        if not isinstance(key, str):
            raise _Refused(f"query keys are strings, got {short_repr(key)}")
        if key.startswith("$"):
            if key not in _OPTIONS:
                raise _Refused(
                    f"unknown option {short_repr(key)}; options are {', '.join(_OPTIONS)}"
                )
            continue
        conditions.extend(_conditions(_column(table, key, "unknown column"), spec))
    return Query(
        conditions=tuple(conditions),
        order=_order(table, request.get("$order", ())),
        limit=_count("$limit", request.get("$limit")),
        offset=_count("$offset", request.get("$offset")) or 0,
        table=table,
    )


def _column(table: Table, name: str, unknown: str) -> Column:
    """The queryable column called ``name``, or a refusal listing the table's columns."""
    column = table.by_name.get(name)
    if column is None:
        raise _Refused(f"{unknown} {short_repr(name)}; {_has(table)}")
    if column.kind is Kind.OTHER:
        raise _Refused(
            f"column {name!r} has type {column.type_name or 'none'}, which queries cannot "
            f"use; {_has(table)}"
        )
    return column


def _has(table: Table) -> str:
    return f"table {table.name!r} has columns {table.describe()}"


def _conditions(column: Column, spec: object) -> list[Condition]:
    if not isinstance(spec, Mapping):
        return [Condition(column.name, "=", _operand(column, "=", spec))]
    if not spec:
        raise _Refused(f"no operator given for column {column.name!r}")
    conditions = []
    allowed = _KIND_OPERATORS[column.kind]
    for operator, operand in spec.items():
        if operator not in OPERATORS:
            raise _Refused(
                f"unknown operator {short_repr(operator)} for column {column.name!r}; "
                f"operators are {', '.join(_OPERATOR_ORDER)}"
            )
        if operator not in allowed:
            takes = ", ".join(op for op in _OPERATOR_ORDER if op in allowed)
            raise _Refused(
                f"operator {operator!r} does not fit column {column.name!r} "
                f"({column.kind.value}); {column.kind.value} columns take {takes}"
            )
        if operator in _LISTS:
            value: Value | tuple[Value, ...] = _values(column, operator, operand)
        elif operator in _PATTERNS:
            value = _pattern(column, operator, operand)
        else:
            value = _operand(column, operator, operand)
        conditions.append(Condition(column.name, operator, value))
    return conditions


def _operand(column: Column, operator: str, value: object) -> Value:
    """One comparison operand: a value, or None (= NULL) for ``=``/``!=`` on nullable columns."""
    if value is None:
        if not column.nullable:
            raise _Refused(f"column {column.name!r} is never NULL: None matches nothing")
        if operator not in ("=", "!="):
            raise _Refused(
                f"None (NULL) works with '=' and '!=' only, not {operator!r} "
                f"(column {column.name!r})"
            )
        return None
    return _value(column, value)


def _value(column: Column, value: object) -> Value:
    """Check one value against its column's kind; ISO date strings become dates."""
    name, kind = column.name, column.kind
    if kind is Kind.INTEGER:
        if type(value) is not int:  # bool is an int subclass but never a count or an id
            raise _Refused(f"column {name!r} takes an int, got {short_repr(value)}")
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise _Refused(f"column {name!r}: {short_repr(value)} is out of the 64-bit range")
        return value
    if kind is Kind.REAL:
        if type(value) not in (int, float):
            raise _Refused(f"column {name!r} takes a number, got {short_repr(value)}")
        assert isinstance(value, int | float)
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise _Refused(f"column {name!r} takes a finite number, got {short_repr(value)}")
        return number
    if kind is Kind.BOOLEAN:
        if type(value) is not bool:
            raise _Refused(f"column {name!r} takes True or False, got {short_repr(value)}")
        return value
    if kind is Kind.DATE:
        if isinstance(value, datetime.datetime):  # a date subclass, but its time would be lost
            raise _Refused(f"column {name!r} takes a date, not a datetime")
        if isinstance(value, datetime.date):
            return value
        if isinstance(value, str):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                pass
        raise _Refused(
            f"column {name!r} takes a date or an ISO date string 'YYYY-MM-DD', "
            f"got {short_repr(value)}"
        )
    return _text(name, value)


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise _Refused(f"column {name!r} takes a str, got {short_repr(value)}")
    if len(value) > MAX_TEXT:
        raise _Refused(f"column {name!r}: value longer than {MAX_TEXT} characters")
    if "\0" in value:  # PostgreSQL text cannot hold NUL; refuse it on every backend alike
        raise _Refused(f"column {name!r}: NUL characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Refused(f"column {name!r}: not valid Unicode (lone surrogate)") from None
    return value


def _values(column: Column, operator: str, operand: object) -> tuple[Value, ...]:
    if not isinstance(operand, list | tuple | set | frozenset):
        raise _Refused(
            f"operator {operator!r} on column {column.name!r} takes a list of values, "
            f"got {short_repr(operand)}"
        )
    if len(operand) > MAX_IN:
        raise _Refused(f"operator {operator!r} takes at most {MAX_IN} values")
    if any(item is None for item in operand):
        raise _Refused(
            f"operator {operator!r} takes no None (NULL never equals anything); "
            f"use {{{column.name!r}: None}} for NULL"
        )
    # dict.fromkeys: drop duplicates, keep the caller's order (stable SQL text).
    return tuple(dict.fromkeys(_value(column, item) for item in operand))


def _pattern(column: Column, operator: str, operand: object) -> str:
    text = _text(column.name, operand)
    if operator == "like":
        # Both backends refuse or disagree on a pattern ending in a bare escape.
        index = 0
        while index < len(text):
            if text[index] == _ESCAPE:
                if index + 1 == len(text):
                    raise _Refused(f"like pattern for {column.name!r} ends with a lone '\\'")
                index += 1
            index += 1
    return text


def _order(table: Table, spec: object) -> tuple[OrderKey, ...]:
    names = [spec] if isinstance(spec, str) else spec
    if not isinstance(names, list | tuple):
        raise _Refused(f"$order takes a column name or a list of them, got {short_repr(spec)}")
    keys: list[OrderKey] = []
    for name in names:
        if not isinstance(name, str):
            raise _Refused(f"$order takes column names, got {short_repr(name)}")
        descending = name.startswith("-")
        column = _column(table, name[1:] if descending else name, "$order: unknown column")
        if any(key.column == column.name for key in keys):
            raise _Refused(f"$order: column {column.name!r} given twice")
        keys.append(OrderKey(column.name, descending=descending))
    return tuple(keys)


def _count(option: str, value: object) -> int | None:
    if value is None:
        return None
    if type(value) is not int or not 0 <= value <= _INT64_MAX:
        raise _Refused(f"{option} takes a non-negative int, got {short_repr(value)}")
    return value


def build_sql(query: Query, dialect: Dialect) -> tuple[str, tuple[object, ...]]:
    """The SELECT for ``query`` in ``dialect``, and its parameters.

    The SQL text holds only the table's quoted catalog names, fixed keywords and
    placeholders. The table's key columns end every ORDER BY: results are
    deterministic and ``$offset`` paging is stable.
    """
    table = query.table
    columns = table.by_name
    params: list[object] = []
    sql = f"SELECT {table.select} FROM {table.sql}"
    where = [_condition_sql(c, columns[c.column], dialect, params) for c in query.conditions]
    where = [clause for clause in where if clause]
    if where:
        sql += " WHERE " + " AND ".join(where)
    keys = list(query.order)
    ordered = {key.column for key in keys}
    keys += [OrderKey(name) for name in table.key if name not in ordered]
    sql += " ORDER BY " + ", ".join(_order_sql(key, columns[key.column]) for key in keys)
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


def _order_sql(key: OrderKey, column: Column) -> str:
    direction = "DESC" if key.descending else "ASC"
    if not column.nullable:
        return f"{column.sql} {direction}"
    # NULL sorts first, as SQLite does by default; PostgreSQL puts it last unless told.
    return f"{column.sql} {direction} NULLS {'LAST' if key.descending else 'FIRST'}"


def _condition_sql(
    condition: Condition, column: Column, dialect: Dialect, params: list[object]
) -> str:
    operator, value, name = condition.operator, condition.value, column.sql
    mark = dialect.placeholder
    if value is None:
        return f"{name} IS NULL" if operator == "=" else f"{name} IS NOT NULL"
    if isinstance(value, tuple):
        if not value:  # IN () is a syntax error in PostgreSQL
            return "FALSE" if operator == "in" else ""
        params.extend(_adapt(item, dialect) for item in value)
        keyword = "IN" if operator == "in" else "NOT IN"
        return f"{name} {keyword} ({', '.join([mark] * len(value))})"
    if operator in _PATTERNS:
        assert isinstance(value, str)
        if operator == "startswith":
            value = _escape_like(value) + "%"
        params.extend((value, _ESCAPE))
        return f"{name} LIKE {mark} ESCAPE {mark}"
    params.append(_adapt(value, dialect))
    return f"{name} {_COMPARISONS[operator]} {mark}"


def _adapt(value: Value, dialect: Dialect) -> object:
    return dialect.adapt_date(value) if isinstance(value, datetime.date) else value


def _escape_like(text: str) -> str:
    return (
        text.replace(_ESCAPE, _ESCAPE * 2).replace("%", _ESCAPE + "%").replace("_", _ESCAPE + "_")
    )
