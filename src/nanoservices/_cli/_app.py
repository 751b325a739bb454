"""The typer application every ``nanoservices`` sub-command registers itself on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="nanoservices",
    help="Generator coroutines as tiny stateful services: demo, run, serve, bench.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    # Plain click help: rich mode would print a type column (<bool> beside every
    # flag, <str> beside every argument) and join epilog lines into one paragraph.
    rich_markup_mode=None,
)
