"""The demo's section for the talk's own generators, hosted unchanged with ``nanoservices.raw``.

``times_five`` and ``md5_service`` as written on the slides, the weather
service abandoned mid-stream with ``DifferentCity``, and the combined menu
service that delegates with ``yield from``.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

import nanoservices
from nanoservices.examples import talk

from ._demo_context import DemoContext

__all__ = ["talk_section"]


class _Transcript:
    """A two-column table of what was sent and what came back."""

    def __init__(self, title: str) -> None:
        self.table = Table("send", "reply", title=title)

    def add(self, request: object, reply: object) -> None:
        self.table.add_row(escape(repr(request)), escape(_short(reply)))


def _short(value: object) -> str:
    if isinstance(value, dict) and "forecastDate" in value:
        return f"{value['forecastDate']} {value['weather']} max {value['maxTemp']} °C"
    return repr(value)


def talk_section(ctx: DemoContext) -> None:
    """The talk's raw generators: send, falsy end, DifferentCity, the menu."""
    console = ctx.console

    five = ctx.track(nanoservices.raw(talk.times_five, name="talk.times_five")())
    shown = _Transcript("times_five(), the talk's first coroutine")
    for request in (10, 23, "abc", None):
        shown.add(request, five.call(request))
    console.print(shown.table)
    console.print(f"after the falsy request, times_five is [bold]{five.state.value}[/]")

    md5 = ctx.track(nanoservices.raw(talk.md5_service, name="talk.md5_service")())
    console.print(f"md5_service() as on the slide: send('hello') -> {md5.call('hello')!r}")

    weather = ctx.track(
        nanoservices.raw(talk.forecasts, reset_with=talk.DifferentCity, name="talk.forecasts")(
            ctx.fetch_json
        )
    )
    days = weather.stream(44)
    taken = [next(days)["forecastDate"], next(days)["forecastDate"]]
    days.cancel()  # throws DifferentCity in: the generator goes back to asking for a city
    console.print(
        f"[bold]reset mid-stream[/] with DifferentCity after Tel Aviv's {', '.join(taken)}: "
        f"forecasts is {weather.state.value}; 252 next -> "
        f"{_short(next(iter(weather.stream(252))))}"
    )

    menu = ctx.track(
        nanoservices.raw(talk.combined, reset_with=talk.DifferentCity, name="talk.combined")(
            ctx.fetch_json
        )
    )
    console.print(f"combined() greets: {menu.greeting!r}")
    shown = _Transcript("combined(): sub-coroutines through yield from")
    for request in (2, "hello", None, 1):
        shown.add(request, menu.call(request))
    days_44: list[Any] = list(menu.stream(44))
    shown.add(44, f"(a stream of {len(days_44)} days, first {_short(days_44[0])})")
    for request in (None, None):
        shown.add(request, menu.call(request))
    console.print(shown.table)
    console.print(f"the menu service is [bold]{menu.state.value}[/]")
