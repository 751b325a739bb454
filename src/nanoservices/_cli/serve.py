"""``nanoservices serve MODULE[:FACTORY]``: serve services over HTTP.

``MODULE:FACTORY`` serves one service; ``MODULE`` serves every ``@service`` and
``@aservice`` factory it exports. Binds 127.0.0.1 unless ``--host`` says
otherwise; Ctrl-C shuts down gracefully, closing every service.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ._app import app

__all__ = ["serve"]


@app.command(epilog="Example: nanoservices serve nanoservices.examples.basics --port 8000")
def serve(
    target: Annotated[str, typer.Argument(help="MODULE:FACTORY, or a MODULE of services.")],
    name: Annotated[str | None, typer.Option(help="Serve the one service under this name.")] = None,
    host: Annotated[str, typer.Option(help="Address to bind (keep loopback without a token).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    shared: Annotated[
        bool, typer.Option("--shared", help="One instance for all sessions; calls take turns.")
    ] = False,
    token: Annotated[
        list[str] | None, typer.Option(help="Bearer token clients must send (repeatable).")
    ] = None,
    inline: Annotated[
        bool,
        typer.Option("--inline", help="Run sync services on the event loop (quick, pure ones)."),
    ] = False,
    max_sessions: Annotated[int, typer.Option(help="Open sessions allowed at once.")] = 1000,
    idle_timeout: Annotated[float, typer.Option(help="Seconds before an idle session closes.")] = (
        300.0
    ),
    max_body: Annotated[int, typer.Option(help="Largest request body, in bytes.")] = 1 << 20,
) -> None:
    """Serve services over HTTP: sessions, JSON, streams, problem details."""
    from nanoservices.http import Served, discover
    from nanoservices.http import serve as run_server

    try:
        factories = discover(target)
    except (ImportError, AttributeError, LookupError) as exc:
        typer.echo(f"error: cannot load {target!r}: {exc}", err=True)
        raise typer.Exit(2) from None
    if name is not None and len(factories) != 1:
        typer.echo("error: --name needs a single MODULE:FACTORY", err=True)
        raise typer.Exit(2)
    services = [
        Served(f, name=name or "", shared=shared, offload=not inline) for f in factories.values()
    ]
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        typer.echo(f"warning: serving on {host} without --token: anyone can reach it", err=True)
    served_names = ", ".join(name or s.factory.spec.name for s in services)
    typer.echo(f"serving {served_names} (sessions at /services/{{name}}/sessions)", err=True)
    run_server(
        services,
        host=host,
        port=port,
        tokens=token or (),
        max_sessions=max_sessions,
        idle_timeout=idle_timeout,
        max_body=max_body,
    )
