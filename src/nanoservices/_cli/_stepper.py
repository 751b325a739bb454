"""The ``journal step`` session: move through a key's history and look around.

Commands (one per line, from a terminal or a pipe)::

    next [K]        K steps on (default 1)        n
    back [K]        K steps back                  b
    goto N          to just after step N          g
    where           the yield-from chain, a line per frame   w
    locals          every frame's locals          l
    diff N [M]      locals that differ between steps N and M (default: here)
    changes NAME    the steps at which local NAME changed value
    help            this list                     ?
    quit            end the session (so does end of input)   q
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TextIO

from nanoservices.durable import History, JournalError, Moment

__all__ = ["Stepper"]

HELP = __doc__.split("::", 1)[1].strip("\n") if __doc__ else ""
_ALIASES = {"n": "next", "b": "back", "g": "goto", "w": "where", "l": "locals", "?": "help",
            "q": "quit", "exit": "quit", "c": "changes", "d": "diff"}  # fmt: skip


class Stepper:
    """A ``step`` session over ``hist``; ``echo`` prints a line."""

    def __init__(self, hist: History, echo: Callable[[str], object]) -> None:
        self.hist = hist
        self.echo = echo

    def prompt(self) -> str:
        return f"(step {self.hist.position}/{self.hist.last}) "

    def run(self, lines: TextIO, *, start: int | None = None, interactive: bool = False) -> None:
        """Read commands until ``quit`` or the end of ``lines``. A terminal gets a
        prompt (with line editing); from a pipe each command is echoed after the
        prompt, so the output reads as the session did."""
        hist = self.hist
        self.echo(
            f"{hist.name}, key {hist.key!r}: steps {hist.first + 1} to {hist.last} "
            "(help lists the commands)"
        )
        self._show(hist.at(hist.first if start is None else start))
        for line in self._commands(lines, interactive):
            if not self.execute(line):
                break

    def _commands(self, lines: TextIO, interactive: bool) -> Iterable[str]:
        if interactive:
            import readline  # noqa: F401  (line editing and history for input())

            while True:
                try:
                    yield input(self.prompt())
                except EOFError:
                    self.echo("")
                    return
        for line in lines:
            self.echo(self.prompt() + line.rstrip("\n"))
            yield line

    def execute(self, line: str) -> bool:
        """Run one command; False when the session ends."""
        words = line.split()
        if not words:
            return True
        verb, args = _ALIASES.get(words[0], words[0]), words[1:]
        try:
            return self._dispatch(verb, args)
        except (IndexError, JournalError) as exc:
            self.echo(f"error: {exc}")
        except ValueError:
            self.echo(f"error: {verb} takes step numbers, not {' '.join(args)!r}")
        return True

    def _dispatch(self, verb: str, args: list[str]) -> bool:
        hist = self.hist
        if verb == "quit":
            return False
        if verb == "help":
            self.echo(HELP)
        elif verb == "next":
            self._show(hist.at(hist.position + _count(args)))
        elif verb == "back":
            self._show(hist.at(hist.position - _count(args)))
        elif verb == "goto" and len(args) == 1:
            self._show(hist.at(int(args[0])))
        elif verb == "where":
            self.echo(hist.at(hist.position).where())
        elif verb == "locals":
            self._locals(hist.at(hist.position))
        elif verb == "diff" and len(args) in (1, 2):
            here = hist.position
            a, b = int(args[0]), int(args[1]) if len(args) == 2 else here
            try:
                changes = hist.diff(a, b)
            finally:
                hist.at(here)  # stay where the session was, also when a step is refused
            for change in changes:
                self.echo(f"  {change.function}.{change.name}: {change.before} -> {change.after}")
            if not changes:
                self.echo(f"  no local differs between steps {a} and {b}")
        elif verb == "changes" and len(args) == 1:
            here = hist.position
            try:
                found = hist.changes(args[0])
            finally:
                hist.at(here)
            for change in found:
                self.echo(f"  {change}")
            if not found:
                self.echo(f"  no frame has a local {args[0]!r}")
        else:
            self.echo(f"unknown command {' '.join([verb, *args])!r} (help lists the commands)")
        return True

    def _show(self, moment: Moment) -> None:
        step = moment.step
        self.echo(f"step {moment.seq}: {step}" if step is not None else f"step {moment.seq}: start")
        self.echo(moment.where())

    def _locals(self, moment: Moment) -> None:
        for depth, view in enumerate(moment.chain):
            self.echo(f"{'  ' * depth}{view.function}:")
            for name, value in view.locals.items():
                self.echo(f"{'  ' * depth}  {name} = {value}")


def _count(args: list[str]) -> int:
    return int(args[0]) if args else 1
