"""The typer application every ``nanoservices`` sub-command registers itself on."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    name="nanoservices",
    help="Generator coroutines as tiny stateful services: demo, run, serve, bench, journal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    # Plain click help: rich mode would print a type column (<bool> beside every
    # flag, <str> beside every argument) and join epilog lines into one paragraph.
    rich_markup_mode=None,
)

#: The options ``run`` and ``serve`` share for talk-style (raw) generators.
RawOption = Annotated[
    bool, typer.Option("--raw", help="Host a talk-style generator with nanoservices.raw.")
]
ResetWithOption = Annotated[
    str | None,
    typer.Option(
        "--reset-with",
        metavar="NAME",
        help="With --raw: the exception that abandons a stream (a name in the module, or "
        "MODULE:NAME).",
    ),
]
