"""``nanoservices serve MODULE[:FACTORY]``: serve services over HTTP.

``MODULE:FACTORY`` (or ``file.py:name``) serves one service; ``MODULE`` (or
``file.py``) serves every ``@service`` and ``@aservice`` factory it exports; with
``--raw``, a talk-style generator function is hosted as written. The current
folder is importable, as with ``python -m``. Binds 127.0.0.1 unless ``--host`` says
otherwise; Ctrl-C shuts down gracefully, closing every service.
"""

from __future__ import annotations

from typing import Annotated

import typer

from nanoservices.core.seam import install_hint

from ._app import RawOption, ResetWithOption, app
from ._target import TargetError, load_services

__all__ = ["serve"]


@app.command(
    epilog="Examples:\n\n\b\n"
    "  nanoservices serve nanoservices.examples.basics --port 8000\n"
    "  nanoservices serve mysvc.py:md5\n"
    "  nanoservices serve --raw nanoservices.examples.talk:md5_service\n"
)
def serve(
    target: Annotated[
        str,
        typer.Argument(
            metavar="MODULE[:FACTORY]",
            help="MODULE:FACTORY (or file.py:name), or a MODULE (or file.py) of services.",
        ),
    ],
    name: Annotated[str | None, typer.Option(help="Serve the one service under this name.")] = None,
    raw: RawOption = False,
    reset_with: ResetWithOption = None,
    host: Annotated[str, typer.Option(help="Address to bind (keep loopback without a token).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8000,
    shared: Annotated[
        bool, typer.Option("--shared", help="One instance for all sessions; calls take turns.")
    ] = False,
    token: Annotated[
        list[str] | None,
        typer.Option(metavar="TOKEN", help="Bearer token clients must send (repeatable)."),
    ] = None,
    inline: Annotated[
        bool,
        typer.Option("--inline", help="Run sync services on the event loop (quick, pure ones)."),
    ] = False,
    max_sessions: Annotated[int, typer.Option(help="Open sessions allowed at once.")] = 1000,
    max_sessions_per_client: Annotated[
        int, typer.Option(help="Open sessions one client (token, else address) may hold.")
    ] = 100,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Factory keyword argument KEY=JSON for every session (the operator's "
            "choice; repeatable): --set start=100 --set base_url='\"http://...\"'",
        ),
    ] = None,
    client_args: Annotated[
        bool,
        typer.Option(
            "--client-args",
            help="Let clients choose factory arguments (paths, DSNs, URLs too): only for "
            "a server nobody else can reach.",
        ),
    ] = False,
    allow_shared: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-shared",
            help="What one client may do to a --shared service: reset (default), throw, "
            "restart (repeatable).",
        ),
    ] = None,
    idle_timeout: Annotated[float, typer.Option(help="Seconds before an idle session closes.")] = (
        300.0
    ),
    max_body: Annotated[int, typer.Option(help="Largest request body, in bytes.")] = 1 << 20,
    durable: Annotated[
        str | None,
        typer.Option(
            "--durable",
            metavar="PATH_OR_DSN",
            help="Make the sessions durable, journalled in this SQLite file or postgresql:// "
            "DSN: a client opens a session with a key and gets its state back, across "
            "server restarts.",
        ),
    ] = None,
    tracebacks: Annotated[
        bool,
        typer.Option(
            "--tracebacks",
            help="For development: a failure's problem document carries the server's "
            "traceback (absolute paths, source lines). Without it, only where it failed; "
            "the log has the traceback either way.",
        ),
    ] = False,
    durable_mode: Annotated[
        str,
        typer.Option(
            "--durable-mode",
            help="sync: each request on disk before its reply (default); batched: group "
            "commit, a crash may lose the last group.",
        ),
    ] = "sync",
    dashboard: Annotated[
        bool,
        typer.Option(
            "--dashboard",
            help="Serve a read-only live dashboard at /dashboard/ (behind the token; "
            "any token holder sees every session's frames, secrets redacted).",
        ),
    ] = False,
) -> None:
    """Serve services over HTTP: sessions, JSON, streams, problem details."""
    from nanoservices.http import Served
    from nanoservices.http import serve as run_server

    try:
        factories = load_services(target, raw=raw, reset_with=reset_with)
    except TargetError as exc:
        typer.echo(f"nanoservices serve: error: {exc}", err=True)
        raise typer.Exit(2) from None
    if name is not None and len(factories) != 1:
        typer.echo("error: --name needs a single MODULE:FACTORY", err=True)
        raise typer.Exit(2)
    import msgspec

    kwargs: dict[str, object] = {}
    for item in set_ or ():
        key, sep, text = item.partition("=")
        try:
            if not sep or not key.isidentifier():
                raise ValueError("expected KEY=JSON")
            kwargs[key] = msgspec.json.decode(text)
        except (ValueError, msgspec.DecodeError) as exc:
            typer.echo(f"error: --set {item!r}: {exc}", err=True)
            raise typer.Exit(2) from None
    store: object = None
    if durable is not None:
        if durable_mode not in ("sync", "batched"):
            typer.echo(f"error: --durable-mode is sync or batched, not {durable_mode!r}", err=True)
            raise typer.Exit(2)
        from nanoservices.durable import open_store

        try:  # opened here, so a location that cannot open is refused before serving
            store = open_store(durable, "batched" if durable_mode == "batched" else "sync")
        except Exception as exc:  # the store's library says why (sqlite3, psycopg)
            text = f"{type(exc).__name__}: {exc}".strip()
            typer.echo(f"error: --durable: cannot open the journal store: {text}", err=True)
            raise typer.Exit(2) from None
    try:
        services = [
            Served(
                f,
                name=name or "",
                shared=shared,
                offload=not inline,
                kwargs=kwargs,
                client_args=client_args,
                shared_operations=frozenset(allow_shared or ("reset",)),
                durable=store,
                tracebacks=tracebacks,
            )
            for f in factories.values()
        ]
    except (TypeError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        _close(store)
        raise typer.Exit(2) from None
    if dashboard:
        try:  # the dashboard's templates need the dashboard extra (Jinja2)
            import nanoservices.http.dashboard  # noqa: F401
        except ModuleNotFoundError:
            typer.echo(f"error: --dashboard needs Jinja2: {install_hint('dashboard')}", err=True)
            _close(store)
            raise typer.Exit(2) from None
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        typer.echo(f"warning: serving on {host} without --token: anyone can reach it", err=True)
    served_names = ", ".join(name or s.factory.spec.name for s in services)
    typer.echo(f"serving {served_names} (sessions at /services/{{name}}/sessions)", err=True)
    if dashboard:
        typer.echo(f"dashboard at http://{host}:{port}/dashboard/", err=True)
    try:
        run_server(
            services,
            host=host,
            port=port,
            tokens=token or (),
            max_sessions=max_sessions,
            max_sessions_per_client=max_sessions_per_client,
            idle_timeout=idle_timeout,
            max_body=max_body,
            dashboard=dashboard,
        )
    finally:
        _close(store)


def _close(store: object) -> None:
    """Close a store this command opened (a batched one); a location the server owns."""
    close = getattr(store, "close", None)
    if close is not None:
        close()
