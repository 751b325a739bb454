"""``nanoservices run`` without a terminal: JSON lines in, JSON lines out.

Each input line is one request (JSON or a Python literal; with ``--text`` the
line itself, as a string) or one ``:command``. Blank lines and lines starting
with ``#`` are skipped. On stdout, one JSON object per line, in input order:

* ``{"reply": R}``: a plain reply;
* ``{"item": X}`` per streamed item, then ``{"end": true, "items": N}``
  (``"stopped": true`` when ``--max-items`` cut it short);
* ``"closed": true`` is added to a reply or end marker when the service ended
  there (a talk-style generator returning on a falsy request);
* ``{"error": {"type", "service", "message", "cause"?, "line"}}``: this request
  failed (items already streamed stay printed; no end marker follows);
* commands answer with their own key: ``{"state": "ready"}``, ``{"reset": true}``,
  ``{"closed": true}``, ``{"restarted": true}``, ``{"thrown": NAME, "reply": R}``,
  ``{"stats": {...}}`` (``null`` plus a ``"note"`` when unavailable),
  ``{"inspect": {...}}``, ``{"explain": TEXT}`` and ``{"traceback": TEXT}`` (of the
  last error: ``null`` plus a ``"note"`` when nothing has failed yet),
  ``{"commands": {...}}``.

Errors are also written to stderr, one readable line each, for the person
watching. Exit status: 0 if every line was served, 1 if any failed (with
``--fail-fast`` the first failure stops reading).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TextIO

from ._commands import COMMANDS, Command, CommandError, parse_command
from ._encode import to_json
from ._literal import LiteralError, parse_literal
from ._session import ErrorInfo, Items, Session, describe_error
from ._target import TargetError

__all__ = ["PipeOptions", "run_pipe"]

#: Exit status when at least one line failed.
EXIT_SOME_FAILED = 1


@dataclass(frozen=True, slots=True)
class PipeOptions:
    """How to read lines and hand out replies."""

    stream_all: bool = False  # every request through handle.stream
    text: bool = False  # every line is a str request, unparsed
    max_items: int | None = None  # stop each stream after this many items
    fail_fast: bool = False  # stop reading at the first failed line


class _Pipe:
    def __init__(self, session: Session, out: TextIO, err: TextIO, options: PipeOptions) -> None:
        self.session = session
        self.out = out
        self.err = err
        self.options = options
        self.failed = 0
        self.quit = False

    def emit(self, record: dict[str, Any]) -> None:
        self.out.write(to_json(record) + "\n")
        self.out.flush()

    def error(self, info: ErrorInfo, number: int) -> None:
        self.failed += 1
        self.emit({"error": {**info.as_dict(), "line": number}})
        self.err.write(f"nanoservices run: line {number}: {info}\n")
        self.err.flush()

    def line(self, text: str, number: int) -> None:
        try:
            if not self.options.text and text.lstrip().startswith(":"):
                self.command(parse_command(text))
            elif self.options.text:
                self.request(text, stream=self.options.stream_all)
            else:
                self.request(parse_literal(text), stream=self.options.stream_all)
        except (LiteralError, CommandError) as exc:
            name = self.session.name
            self.error(ErrorInfo(type(exc).__name__, name, f"service {name!r}: {exc}"), number)
        except Exception as exc:  # every failure is reported; Ctrl-C still ends the run
            self.session.last_error = exc
            self.error(describe_error(exc, self.session.name), number)

    def request(self, request: object, *, stream: bool) -> None:
        reply = self.session.stream(request) if stream else self.session.send(request)
        if isinstance(reply, Items):
            self.items(reply)
        elif self.session.closed:  # the talk's falsy request: the generator returned
            self.emit({"reply": reply, "closed": True})
        else:
            self.emit({"reply": reply})

    def items(self, items: Items) -> None:
        limit = self.options.max_items
        try:
            for item in items:
                self.emit({"item": item})
                if limit is not None and items.count >= limit:
                    items.stop()
                    self.emit({"end": True, "items": items.count, "stopped": True})
                    return
        except BaseException:
            items.stop()
            raise
        end: dict[str, Any] = {"end": True, "items": items.count}
        if self.session.closed:  # a talk-style generator returned at the end of the stream
            end["closed"] = True
        self.emit(end)

    def command(self, command: Command) -> None:
        session = self.session
        name = command.name
        if name in ("stream", "all"):
            self.request(_parse(command.argument, self.options.text), stream=True)
        elif name == "reset":
            session.reset()
            self.emit({"reset": True})
        elif name == "close":
            session.close()
            self.emit({"closed": True})
        elif name == "restart":
            session.restart()
            self.emit({"restarted": True})
        elif name == "throw":
            self.emit({"thrown": command.argument, "reply": session.throw(command.argument)})
        elif name == "state":
            self.emit({"state": session.state.value})
        elif name == "stats":
            stats = session.statistics()
            if stats is None:
                self.emit({"stats": None, "note": session.observer.missing_statistics})
            else:
                self.emit({"stats": stats})
        elif name == "inspect":
            self.emit({"inspect": session.inspect()})
        elif name in ("explain", "traceback"):
            self.last_error(name)
        elif name == "help":
            self.emit({"commands": {f":{k}": v[1] for k, v in COMMANDS.items()}})
        elif name == "quit":
            self.quit = True
        else:  # pragma: no cover - parse_command knows only the names above
            raise TargetError(f"unknown command :{name}")

    def last_error(self, name: str) -> None:
        """``{"explain": text}`` or ``{"traceback": text}`` of the last error; null
        and a note when nothing has failed yet."""
        session = self.session
        if session.last_error is None:
            self.emit({name: None, "note": "nothing has failed yet"})
        elif name == "traceback":
            self.emit({"traceback": session.traceback()})
        else:
            explained = session.explain()
            text = str(explained) if explained is not None else session.traceback()
            self.emit({"explain": text})


def _parse(argument: str, text: bool) -> object:
    return argument if text else parse_literal(argument)


def run_pipe(
    session: Session, lines: Iterable[str], out: TextIO, err: TextIO, options: PipeOptions
) -> int:
    """Serve every line of ``lines``; the exit status (0, or 1 if any line failed)."""
    pipe = _Pipe(session, out, err, options)
    for number, raw_line in enumerate(lines, start=1):
        text = raw_line.rstrip("\r\n")
        if not text.strip() or (not options.text and text.lstrip().startswith("#")):
            continue
        pipe.line(text, number)
        if pipe.quit or (options.fail_fast and pipe.failed):
            break
    return EXIT_SOME_FAILED if pipe.failed else 0
