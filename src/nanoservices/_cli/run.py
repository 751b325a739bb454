"""``nanoservices run MODULE:FACTORY [ARGS...]``: talk to any service, by hand or from a pipe.

At a terminal it is an interactive session (see [`._repl`][]); when stdin is
not a terminal, or with ``--jsonl``, it reads one request per line and writes
JSON lines (see [`._pipe`][] for the record format).

Exit status: 0 all served; 1 some request failed (JSON-lines mode; the
session itself goes on); 2 usage error, or MODULE:FACTORY names nothing
usable; 3 the service did not start (the factory raised); 130 interrupted.
Startup errors (2, 3) are plain text on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ._app import RawOption, ResetWithOption, app
from ._history import default_history_path, history
from ._literal import parse_factory_args
from ._observe import Observer
from ._pipe import PipeOptions, run_pipe
from ._repl import Repl
from ._session import Session
from ._target import StartError, TargetError, load_target, start_service

__all__ = ["run"]

EXIT_USAGE = 2
EXIT_NOT_STARTED = 3
EXIT_INTERRUPTED = 130


@app.command(
    epilog="Examples:\n\n\b\n"
    "  nanoservices run nanoservices.services.hashing:md5\n"
    "  nanoservices run mysvc.py:counter 100\n"
    "  printf '\"hello\"\\n' | nanoservices run nanoservices.services.hashing:hasher sha256\n"
    "  nanoservices run --raw nanoservices.examples.talk:times_five\n"
)
def run(
    target: Annotated[
        str,
        typer.Argument(metavar="MODULE:FACTORY", help="The service factory (or a file.py:name)."),
    ],
    args: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[ARGS]...",
            help="Factory arguments, read as literals (5, 'x', [1]); name=value for keywords; "
            "a word that is not a literal is a string. Put -- before negative numbers.",
        ),
    ] = None,
    raw: RawOption = False,
    reset_with: ResetWithOption = None,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="JSON lines even at a terminal (default when piped).")
    ] = False,
    stream: Annotated[
        bool, typer.Option("--stream", help="Treat every request as a streamed one.")
    ] = False,
    text: Annotated[
        bool, typer.Option("--text", help="JSON lines mode: each line is a string request, as is.")
    ] = False,
    max_items: Annotated[
        int | None,
        typer.Option(
            "--max-items",
            min=1,
            metavar="N",
            help="JSON lines mode: stop each stream after N items.",
        ),
    ] = None,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="JSON lines mode: stop at the first failed line.")
    ] = False,
    history_file: Annotated[
        Path | None,
        typer.Option("--history", metavar="PATH", help="History file (default: XDG state dir)."),
    ] = None,
    no_history: Annotated[bool, typer.Option("--no-history", help="Keep no history file.")] = False,
) -> None:
    """Talk to a service: type requests and see replies, or pipe JSON lines through it."""
    err = Console(stderr=True, soft_wrap=True)
    try:
        found = load_target(target, raw=raw, reset_with=reset_with)
        positional, keywords = parse_factory_args(list(args or ()))
        handle = start_service(found, positional, keywords)
    except TargetError as exc:
        err.print(f"[red]nanoservices run: error:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    except StartError as exc:
        err.print(f"[red]nanoservices run: the service did not start:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_NOT_STARTED) from None
    session = Session(handle, found, Observer(), args=positional, kwargs=keywords)
    try:
        if jsonl or not sys.stdin.isatty():
            options = PipeOptions(
                stream_all=stream, text=text, max_items=max_items, fail_fast=fail_fast
            )
            status = run_pipe(session, sys.stdin, sys.stdout, sys.stderr, options)
        else:
            path = None if no_history else (history_file or default_history_path())
            with history(path):
                status = Repl(session, Console(), stream_all=stream).run()
    except KeyboardInterrupt:
        status = EXIT_INTERRUPTED
    finally:
        try:
            session.close()
        except Exception as exc:  # a service that fails to close must not hide the status
            err.print(f"[yellow]nanoservices run: closing {session.name} failed:[/] {exc}")
    raise typer.Exit(status)
