"""``nanoservices run`` at a terminal: type requests, see replies, walk through streams.

A request is JSON or a Python literal (``'hello'``, ``44``, ``{'last_name':
'Lerner'}``); a line starting with ``:`` is a command (``:help`` lists them).
Streamed replies are shown one item at a time: Enter for the next, ``a`` for
all the rest, ``q`` to stop early (the service goes back to waiting). Errors
are printed with the service's name and never end the session; ``:explain``
says where the last one happened, ``:traceback`` shows it in full.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.pretty import Pretty, pretty_repr
from rich.table import Table

from nanoservices import State

from ._commands import COMMANDS, Command, CommandError, parse_command
from ._history import forget_last
from ._literal import LiteralError, parse_literal
from ._session import ErrorInfo, Items, Session, describe_error

__all__ = ["Repl"]

_MORE_PROMPT = "  more? [Enter] next, a all, q stop, :command: "


class Repl:
    """The interactive loop over one [`Session`][]."""

    def __init__(self, session: Session, console: Console, *, stream_all: bool = False) -> None:
        self.session = session
        self.console = console
        self.stream_all = stream_all  # every request through handle.stream (--stream)

    # -- the loop ------------------------------------------------------------

    def run(self) -> int:
        """Read and serve lines until ``:quit`` or end of input; the exit status (0)."""
        self.banner()
        while True:
            try:
                line = input(self.prompt())
            except EOFError:
                self.console.print()
                return 0
            except KeyboardInterrupt:
                self.console.print("\n[dim](Ctrl-D or :quit to leave)[/]")
                continue
            try:
                if not self.line(line):
                    return 0
            except KeyboardInterrupt:
                self.console.print("\n[yellow]interrupted[/]")

    def prompt(self) -> str:
        state = self.session.state
        suffix = "" if state is State.READY else f" [{state.value}]"
        return f"{self.session.name}{suffix}> "

    def line(self, text: str) -> bool:
        """Serve one line; False when the user asked to leave."""
        text = text.strip()
        if not text:
            return True
        try:
            if text.startswith(":"):
                return self.command(parse_command(text))
            request = parse_literal(text)
            if self.stream_all:
                return self.page(self.session.stream(request))
            return self.show(self.session.send(request))
        except (LiteralError, CommandError) as exc:
            name = self.session.name
            self.error(ErrorInfo(type(exc).__name__, name, f"service {name!r}: {exc}"))
        except Exception as exc:  # any failure is shown; the session goes on
            self.session.last_error = exc
            self.error(describe_error(exc, self.session.name))
        return True

    # -- output --------------------------------------------------------------

    def banner(self) -> None:
        session = self.session
        spec = getattr(session.handle, "spec", None)
        protocol = spec.protocol.name if spec is not None else "?"
        lines = [
            f"[bold]{escape(session.name)}[/] from {escape(session.target.spec)} ({protocol})",
            "Type a request as JSON or a Python literal; [bold]:help[/] lists commands.",
        ]
        if session.greeting is not None:
            lines.append(f"The service says: {escape(repr(session.greeting))}")
        self.console.print(Panel("\n".join(lines), title="nanoservices run", expand=False))

    def show(self, reply: Any) -> bool:
        """Print a reply (page through a streamed one); False when the user asked to leave."""
        if isinstance(reply, Items):
            self.console.print("[dim]a streamed reply:[/]")
            return self.page(reply)
        self.console.print(Pretty(reply))
        self.ended()
        return True

    def ended(self) -> None:
        if self.session.closed:
            self.console.print(f"[yellow]{escape(self.session.name)} has ended (it is closed)[/]")

    def error(self, info: ErrorInfo) -> None:
        self.console.print(
            f"[bold red]error[/] [red]{escape(info.type)}[/]: {escape(info.message)}"
        )
        if info.cause is not None and info.cause not in info.message:
            self.console.print(f"  [dim]caused by {escape(info.cause)}[/]")

    def item(self, items: Items, item: object) -> None:
        self.console.print(f"[cyan]{items.count:>4}[/]", escape(pretty_repr(item)))

    # -- streams -------------------------------------------------------------

    def page(self, items: Items) -> bool:
        """Items one at a time, asking before each next one.

        A ``:command`` typed at the "more?" prompt is not taken for "next": the
        stream stops there (the service waits again) and the command runs.
        False when that command asked to leave.
        """
        try:
            for item in items:
                self.item(items, item)
                answer = input(_MORE_PROMPT).strip()
                if answer.startswith(":"):
                    items.stop()
                    self.console.print(
                        f"[yellow]stopped after {items.count} item(s)[/] for {escape(answer)}"
                    )
                    return self.line(answer)
                forget_last(answer)
                answer = answer.lower()
                if answer in ("q", "quit", "stop"):
                    items.stop()
                    self.console.print(f"[yellow]stopped after {items.count} item(s)[/]")
                    return True
                if answer in ("a", "all"):
                    self.rest(items)
                    return True
        except (KeyboardInterrupt, EOFError):
            items.stop()
            self.console.print(f"\n[yellow]stopped after {items.count} item(s)[/]")
            return True
        self.console.print(f"[dim]end of stream ({items.count} item(s))[/]")
        self.ended()
        return True

    def rest(self, items: Items) -> None:
        """All remaining items; Ctrl-C stops early."""
        try:
            for item in items:
                self.item(items, item)
        except KeyboardInterrupt:
            items.stop()
            self.console.print(f"\n[yellow]stopped after {items.count} item(s)[/]")
            return
        self.console.print(f"[dim]end of stream ({items.count} item(s))[/]")
        self.ended()

    # -- commands ------------------------------------------------------------

    def command(self, command: Command) -> bool:
        session = self.session
        name = command.name
        if name == "stream":
            return self.page(session.stream(parse_literal(command.argument)))
        elif name == "all":
            self.rest(session.stream(parse_literal(command.argument)))
        elif name == "reset":
            session.reset()
            self.console.print(f"[green]reset[/]: {session.name} is {session.state.value}")
        elif name == "close":
            session.close()
            self.console.print(f"[green]closed[/] {session.name}")
        elif name == "restart":
            session.restart()
            self.console.print(f"[green]restarted[/] {session.name} from its factory")
        elif name == "throw":
            reply = session.throw(command.argument)
            self.console.print(f"[green]threw[/] {escape(command.argument)}; the service replied:")
            self.console.print(Pretty(reply))
        elif name == "state":
            self.console.print(f"{session.name} is [bold]{session.state.value}[/]")
        elif name == "stats":
            self.stats()
        elif name == "inspect":
            tree = session.observer.inspection_tree(session.handle)
            body = tree if tree is not None else Pretty(session.inspect())
            self.console.print(Panel(body, title=f"inspect {session.name}", expand=False))
            if session.state is State.FAILED and session.last_error is not None:
                self.console.print("[dim]it failed: :explain says where, :traceback shows it[/]")
        elif name == "explain":
            self.explain()
        elif name == "traceback":
            text = session.traceback()
            self.console.print(escape(text) if text is not None else "nothing has failed yet")
        elif name == "help":
            self.help()
        elif name == "quit":
            return False
        return True

    def explain(self) -> None:
        """What ``explain()`` says about the last error, as a panel."""
        session = self.session
        if session.last_error is None:
            self.console.print("nothing has failed yet")
            return
        explained = session.explain()
        if explained is None:  # no explain in this build: the traceback says it all
            self.console.print(escape(session.traceback() or ""))
            return
        self.console.print(explained.rich())

    def stats(self) -> None:
        session = self.session
        table = session.observer.table([session.handle], title=f"statistics of {session.name}")
        if table is not None:
            self.console.print(table)
            return
        snapshot = session.statistics()
        if snapshot is not None:
            self.console.print(Pretty(snapshot))
        else:
            self.console.print(f"[yellow]{escape(session.observer.missing_statistics)}[/]")

    def help(self) -> None:
        table = Table(title="commands", show_header=False, box=None)
        for name, (argument, what) in COMMANDS.items():
            table.add_row(f"[bold]:{name}[/] {argument}".rstrip(), what)
        self.console.print(table)
        self.console.print(
            'Anything else is a request: JSON ("hello", 44, {"last_name": "Lerner"}) '
            "or a Python literal ('hello', (1, 2), b'raw'). Nothing is ever eval'd."
        )
