"""The run as rich tables (speed, memory, targets) and a terminal bar chart.

Everything renders to a rich ``Console``; ``render_text`` records it as plain
text for the ``bench.txt`` file the CLI writes beside the JSON.
"""

from __future__ import annotations

import io
import math

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from .results import BenchResult, SpeedRow

__all__ = ["print_report", "render_text", "speed_bars", "tables"]

_GROUP_STYLE = {"baseline": "cyan", "nanoservices": "green", "alternative": "magenta"}


def fmt_ns(ns: float) -> str:
    """Nanoseconds, with one decimal below 1 µs."""
    return f"{ns:,.1f}" if ns < 1000 else f"{ns:,.0f}"


def fmt_ratio(ratio: float | None) -> str:
    """A ratio to bare send: ``1.27x``, ``1,248x``."""
    if ratio is None or math.isnan(ratio):
        return "-"
    return f"{ratio:.2f}x" if ratio < 100 else f"{ratio:,.0f}x"


def fmt_bytes(size: float | None) -> str:
    """Bytes, with a unit past 10 KiB."""
    if size is None:
        return "-"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= 10 * scale:
            return (
                f"{size / scale:,.1f} {unit}"
                if size < 100 * scale
                else f"{size / scale:,.0f} {unit}"
            )
    return f"{size:,.0f} B"


def _number_columns(table: Table, *names: str) -> None:
    """Add right-aligned columns of figures, each kept on one line."""
    for name in names:
        table.add_column(name, justify="right", no_wrap=True)


def speed_table(result: BenchResult) -> Table:
    """Median ns per request and the ratio to a bare ``gen.send``, every row."""
    table = Table(
        title=(
            f"Per-request cost, Python {result.environment['python']} "
            f"({result.config.mode} run, median of rounds)"
        ),
        box=box.SIMPLE_HEAD,
    )
    table.add_column("mechanism", no_wrap=True)
    table.add_column("ns/request", justify="right")
    table.add_column("IQR (ns)", justify="right")
    table.add_column("x gen.send", justify="right")
    table.add_column("net x", justify="right")
    for row in result.speed:
        table.add_row(
            Text(row.label, style=_GROUP_STYLE.get(row.group, "")),
            fmt_ns(row.median_ns),
            f"{fmt_ns(row.q1_ns)}-{fmt_ns(row.q3_ns)}",
            fmt_ratio(row.ratio),
            fmt_ratio(row.net_ratio),
        )
    table.caption = (
        "net x: the empty loop's cost taken off both sides; (faster): a faster path "
        "than the default the docs show"
    )
    return table


def memory_table(result: BenchResult) -> Table:
    """Bytes per live idle instance, by tracemalloc and by RSS growth."""
    table = Table(title="Memory per live idle instance", box=box.SIMPLE_HEAD)
    table.add_column("instance", no_wrap=True)
    _number_columns(table, "count", "traced", "RSS", "x gen")
    for row in result.memory:
        table.add_row(
            row.label,
            f"{row.count:,}",
            fmt_bytes(row.traced_bytes),
            fmt_bytes(row.rss_bytes),
            fmt_ratio(row.ratio),
        )
    for million, what in (
        (result.million, "live services"),
        (result.million_md5, "live md5 services"),
    ):
        if million is not None:
            rss = fmt_bytes(million.rss_delta_bytes)
            table.add_row(f"{what}, in all", f"{million.count:,}", "-", rss, "-")
    table.caption = "traced: tracemalloc (Python heap); RSS: growth of a fresh process"
    return table


def targets_table(result: BenchResult) -> Table:
    """PASS or MISS for every goal the project holds itself to, with the measured value."""
    table = Table(title="Goals", box=box.SIMPLE_HEAD)
    table.add_column("goal", no_wrap=True)
    _number_columns(table, "measured", "limit")
    table.add_column("verdict", no_wrap=True)
    for target in result.targets:
        if target.unit == "bytes":
            measured, limit = fmt_bytes(target.measured), fmt_bytes(target.limit)
        elif target.unit == "sends":
            measured, limit = f"{target.measured:+.2f}", f"{target.limit:+.2f}"
        else:
            measured, limit = fmt_ratio(target.measured), fmt_ratio(target.limit)
        style = "bold green" if target.passed else "bold red"
        table.add_row(target.name, measured, limit, Text(target.verdict, style=style))
    table.caption = (
        "(C): graded with the C accelerator only (pure Python is the reference path, "
        "timed beside it); sends: bare sends added to a direct call"
    )
    return table


def speed_bars(rows: list[SpeedRow], width: int = 40) -> Table:
    """A terminal bar chart of ns per request, log scale (the loop row left out)."""
    shown = [row for row in rows if row.key != "loop"]
    table = Table(title="ns per request (log scale)", show_header=False, box=None)
    table.add_column("mechanism", no_wrap=True)
    table.add_column("bar", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    if not shown:
        return table
    low = math.log10(min(row.median_ns for row in shown) / 2)
    high = math.log10(max(row.median_ns for row in shown))
    span = max(high - low, 1e-9)
    for row in shown:
        cells = max(1, round((math.log10(row.median_ns) - low) / span * width))
        table.add_row(
            row.label,
            Text("█" * cells, style=_GROUP_STYLE.get(row.group, "")),
            f"{fmt_ns(row.median_ns)} ns  {fmt_ratio(row.ratio)}",
        )
    return table


def tables(result: BenchResult) -> Group:
    """The whole report: speed, memory, goals, skipped rows."""
    parts: list[Table | Text] = [speed_table(result), memory_table(result), targets_table(result)]
    for key, why in result.skipped.items():
        parts.append(Text(f"skipped {key}: {why}", style="yellow"))
    env = result.environment
    parts.append(
        Text(f"Python {env['python']} on {env['platform']}, {env['cpus']} CPUs", style="dim")
    )
    return Group(*parts)


def print_report(result: BenchResult, console: Console | None = None, bars: bool = True) -> None:
    """Print the tables (and the terminal chart) to ``console``."""
    console = console or Console()
    console.print(tables(result))
    if bars:
        console.print(speed_bars(result.speed, width=max(10, min(40, console.width - 50))))


def render_text(result: BenchResult, width: int = 110) -> str:
    """The report as plain text (for ``bench.txt``)."""
    console = Console(file=io.StringIO(), record=True, width=width, color_system=None)
    print_report(result, console)
    return console.export_text()
