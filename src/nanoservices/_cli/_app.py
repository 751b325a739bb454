"""The typer application every ``nanoservices`` sub-command registers itself on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="nanoservices",
    help="Generator coroutines as tiny stateful services: demo, run, serve, bench.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
