"""The demo's sections for the shipped services: md5, WMO forecasts, people queries.

Each section imports its service when it runs, so a build without one skips
that section with a note instead of failing the demo.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from nanoservices import ServiceError

from ._demo_context import DemoContext, SectionSkipped

__all__ = ["forecast_section", "md5_section", "people_section"]


def md5_section(ctx: DemoContext) -> None:
    """The talk's md5 service, shipped: send a string, get its digest."""
    try:
        from nanoservices.services.hashing import md5
    except ImportError as exc:
        raise SectionSkipped(f"the hashing service is not available ({exc})") from exc
    h = ctx.track(md5())
    table = Table("request", "md5 reply", title="md5(): one request, one reply")
    for text in ("hello", "world", "nanoservices"):
        table.add_row(repr(text), h(text))
    ctx.console.print(table)
    try:
        h(42)  # type: ignore[arg-type]  # on purpose: refused before the service runs
    except ServiceError as exc:
        ctx.console.print(f"[yellow]refused:[/] {escape(str(exc))}")
    ctx.console.print(
        f"and the service is still [bold]{h.state.value}[/]: h('hello') = {h('hello')}"
    )


def _day_row(day: Any) -> tuple[str, str, str, str]:
    low = "-" if day.min_temp_c is None else f"{day.min_temp_c}"
    high = "-" if day.max_temp_c is None else f"{day.max_temp_c}"
    return (day.date.isoformat(), day.weather, low, high)


def _days_table(title: str, days: Iterable[Any]) -> Table:
    table = Table("date", "weather", "min °C", "max °C", title=title)
    for day in days:
        table.add_row(*_day_row(day))
    return table


def forecast_section(ctx: DemoContext) -> None:
    """WMO forecasts from the bundled data, served by the local server: one fetch per city."""
    try:
        from nanoservices.services.forecast import bundled_cities, forecasts
    except ImportError as exc:
        raise SectionSkipped(f"the forecast service is not available ({exc})") from exc
    server = ctx.wmo()
    weather = ctx.track(forecasts(**ctx.forecast_options()))
    cities = bundled_cities()
    for city_id in (44, 252):
        label = str(cities.by_id(city_id) or f"city {city_id}")
        ctx.console.print(
            _days_table(f"weather.stream({city_id}): {label}", weather.stream(city_id))
        )
    first = next(iter(weather.stream("Tokyo")))
    ctx.console.print(f"by name: weather.stream('Tokyo') -> {' '.join(_day_row(first))}")
    list(weather.stream(44))  # again: served from the service's cache
    ctx.console.print(
        f"city 44 asked for twice, fetched {server.requests_for(44)} time(s): "
        "the service is a cache"
    )

    days = weather.stream(44)
    taken = [next(days), next(days)]
    weather.reset()
    ctx.console.print(
        f"[bold]reset mid-stream[/] after {len(taken)} days of Tel Aviv "
        f"(last {taken[-1].date.isoformat()}): forecasts is {weather.state.value}"
    )
    after = next(iter(weather.stream(252)))
    ctx.console.print(f"next city, 252 Dar Es Salaam: {' '.join(_day_row(after))}")


def _people_table(title: str, people: Iterable[Any]) -> Table:
    table = Table("id", "first name", "last name", "birth date", "city", "email", title=title)
    for person in people:
        table.add_row(
            str(person.id),
            person.first_name,
            person.last_name,
            person.birth_date.isoformat(),
            person.city,
            person.email,
        )
    return table


def _seed(ctx: DemoContext, path: Any, create: Any) -> None:
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=ctx.console, transient=True) as progress:
        progress.add_task(f"seeding {ctx.people_count} people into {path}...", total=None)
        start = time.perf_counter()
        create(path, count=ctx.people_count, seed=ctx.seed)
    took = time.perf_counter() - start
    ctx.console.print(
        f"[dim]seeded {ctx.people_count} people (seed {ctx.seed}) into {escape(str(path))} "
        f"in {took:.2f} s[/]"
    )


def people_section(ctx: DemoContext) -> None:
    """Dict queries over a seeded SQLite database, streamed row by row."""
    try:
        from nanoservices.services.people import create_demo_database, people
    except ImportError as exc:
        raise SectionSkipped(f"the people service is not available ({exc})") from exc
    path = ctx.db_path or ctx.workdir / "people.sqlite3"
    if path.exists():
        ctx.console.print(f"[dim]using the existing database {escape(str(path))}[/]")
    else:
        _seed(ctx, path, create_demo_database)
    db = ctx.track(people(str(path)))
    with db.stream({"$limit": 1}) as rows:
        someone = next(rows)
    query: dict[str, Any] = {"last_name": someone.last_name, "$order": "-birth_date", "$limit": 5}
    ctx.console.print(_people_table(f"db.stream({query!r})", db.stream(query)))
    query = {"birth_date": {">=": "1990-01-01", "<": "1991-01-01"}, "$order": "birth_date"}
    with db.stream(query) as rows:
        born = [next(rows, None) for _ in range(3)]
    ctx.console.print(
        _people_table("born in 1990, the first three of a stream", [p for p in born if p])
    )
    attack = {"last_name": "x' OR '1'='1"}
    ctx.console.print(
        f"the talk's SQL injection, {attack!r}: {len(list(db.stream(attack)))} rows "
        "(values are bound parameters)"
    )
    try:
        list(db.stream({"shoe_size": 42}))
    except ServiceError as exc:
        ctx.console.print(f"[yellow]refused:[/] {escape(str(exc))}")
    ctx.console.print(f"and the service is still [bold]{db.state.value}[/]")
